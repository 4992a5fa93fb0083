// `penumbra bench kernels [--family F] [--version N]`: the kernel workbench
// (kernels/cuda/WORKBENCH.md). Every version of the chosen families is checked against the CPU
// reference on awkward sizes, then, in a CUDA build on a GPU, timed with CUDA events after an
// L2 flush (ms, GB/s next to the device's peak), or, in penumbra-emu, measured by the
// emulator's memory-traffic profile, with a line saying that times need a GPU. Exit status 1
// when a version fails its check, 2 when nothing could be run.
#include <cstdio>
#include <stdexcept>
#include <string>

#include "experiments/cli/command.h"
#include "experiments/run/gpu_support.h"

namespace pn::cli {
namespace {

int run_bench_kernels(const std::string& family, int version) {
  const experiments::GpuSupport* gpu = experiments::gpu_support();
  if (!gpu || !gpu->bench_kernels) {
    std::fprintf(stderr,
                 "bench kernels: this build has no CUDA backend; build with CUDA to time the kernels on a GPU, or run "
                 "penumbra-emu for the emulator's memory-traffic profile\n");
    return 2;
  }
  if (gpu->device_count() == 0) {
    std::fprintf(stderr, "bench kernels: no %s device (%s)\n", gpu->kind.c_str(), gpu->no_device_reason().c_str());
    return 2;
  }
  gpu->activate(0);
  std::string report;
  try {
    report = gpu->bench_kernels(family, version);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  }
  std::fputs(report.c_str(), stdout);
  return report.find("FAILED") == std::string::npos ? 0 : 1;
}

void add_bench(CLI::App& app) {
  auto* bench = app.add_subcommand("bench", "Benchmarks of this build");
  bench->require_subcommand(1);
  auto* kernels = bench->add_subcommand(
      "kernels", "The kernel workbench: each version of each kernel family checked, then timed (GPU) or profiled (emulator)");
  auto family = std::make_shared<std::string>();
  auto version = std::make_shared<int>(0);
  kernels->add_option("--family", *family, "Only this family (default: all)");
  kernels->add_option("--version", *version, "Only this version number (default: all)")->check(CLI::NonNegativeNumber);
  kernels->callback([family, version] {
    const int rc = run_bench_kernels(*family, *version);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace

PN_REGISTER_COMMANDS("bench", 110, add_bench);

}  // namespace pn::cli
