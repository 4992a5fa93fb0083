// gpu_check <bigsum|conv|igemm|steps> [options]: see gpu_check.h and tools/gpu_check.sh.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "autograd/cuda/cuda_backend.h"
#include "bench/gpu_check/gpu_check.h"
#include "bench/gpu_check/gpu_check_util.h"

namespace {

using pn::gpu_check::Options;

constexpr const char* kUsage =
    "gpu_check bigsum [--elements N] [--reps N]\n"
    "       gpu_check conv --out DIR [--size paper|small|tiny] [--tf32 off,on] [--half none|bf16,fp16] [--reps N]\n"
    "       gpu_check igemm [--size paper|small|tiny] [--reps N]\n"
    "       gpu_check steps --net unet|unet_cl|pix2pix|spade|wgan --out DIR [--size paper|small|tiny] [--reps N]\n"
    "                      [--precision fp32|bf16|fp16]";

std::vector<bool> tf32_modes(const Options& o) {
  const std::string& s = o.str("tf32");
  if (s == "off") return {false};
  if (s == "on") return {true};
  if (s == "off,on") return {false, true};
  o.usage("--tf32 must be off, on or off,on");
}

std::vector<std::string> half_modes(const Options& o) {
  const std::string& s = o.str("half");
  if (s == "none") return {};
  if (s == "bf16" || s == "fp16") return {s};
  if (s == "bf16,fp16") return {"bf16", "fp16"};
  o.usage("--half must be none, bf16, fp16 or bf16,fp16");
}

int run(int argc, char** argv) {
  const std::string cmd = argc > 1 ? argv[1] : "";
  if (cmd != "bigsum" && cmd != "conv" && cmd != "igemm" && cmd != "steps") Options(kUsage, {}).usage("no subcommand given");
  if (!pn::cuda::install_cuda_backend()) {
    std::fprintf(stderr, "gpu_check: no CUDA device found (driver missing, or no GPU visible)\n");
    return 3;
  }
  if (cmd == "bigsum") {
    Options o(kUsage, {{"elements", std::to_string((int64_t{1} << 31) + 7)}, {"reps", "3"}});
    o.parse(argc, argv, 2);
    return pn::gpu_check::run_bigsum({o.integer("elements", 8), static_cast<int>(o.integer("reps", 1)), false});
  }
  if (cmd == "conv") {
    Options o(kUsage, {{"out", ""}, {"size", "paper"}, {"tf32", "off,on"}, {"half", "none"}, {"reps", "5"}});
    o.parse(argc, argv, 2);
    if (o.str("out").empty()) o.usage("--out DIR is required");
    return pn::gpu_check::run_conv(pn::gpu_check::unet_size(o.str("size")),
                                   {o.str("out"), tf32_modes(o), half_modes(o), static_cast<int>(o.integer("reps", 1))});
  }
  if (cmd == "igemm") {
    Options o(kUsage, {{"size", "paper"}, {"reps", "5"}});
    o.parse(argc, argv, 2);
    return pn::gpu_check::run_igemm(pn::gpu_check::unet_size(o.str("size")), static_cast<int>(o.integer("reps", 1)));
  }
  Options o(kUsage, {{"out", ""}, {"size", "paper"}, {"net", ""}, {"reps", "5"}, {"precision", "fp32"}});
  o.parse(argc, argv, 2);
  if (o.str("out").empty() || o.str("net").empty()) o.usage("--net NAME and --out DIR are required");
  const std::string p = o.str("precision");
  if (p != "fp32" && p != "bf16" && p != "fp16") o.usage("--precision must be fp32, bf16 or fp16");
  return pn::gpu_check::run_steps(
      {o.str("net"), o.str("size"), o.str("out"), static_cast<int>(o.integer("reps", 1)), p});
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gpu_check %s: %s\n", argc > 1 ? argv[1] : "", e.what());
    return 1;
  }
}
