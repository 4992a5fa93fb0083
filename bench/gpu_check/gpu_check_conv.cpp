// gpu_check conv: every distinct 3x3x3 convolution of the segmentation U-Net (encoder,
// bottleneck and decoder; padding 1, no bias) through our cuDNN wrappers
// (kernels/cuda/dnn.h), forward, backward-data and backward-filter, in float with TF32 off
// and/or on, and in bf16 and/or fp16 storage (the float inputs cast once to 16 bits, nearest
// even; fp32 accumulation; the output cast back to float for the file; the line's tf32 field
// says the mode: off, on, bf16, fp16): median time over --reps runs after a warm-up (CUDA events), TFLOP/s, the algorithm
// and workspace the wrapper chose, whether a later run gave bitwise the same output, and
// the output written to <out>/conv<i>_<direction>_<tf32>.f32 for
// tools/gpu_check/torch_conv.py, which recomputes the same inputs (hash_uniform) with
// PyTorch and compares. Inputs: x seed 100 i + 1, w seed 100 i + 2, dy seed 100 i + 3.
#include <cstring>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "bench/gpu_check/gpu_check.h"
#include "bench/gpu_check/gpu_check_util.h"
#include "kernels/op_geometry.h"

#include "kernels/cuda/dnn.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/library_options.h"
#include "kernels/cuda/storage_types.h"

namespace pn::gpu_check {

std::vector<ConvCase> unet_conv_cases(const UNetSize& s) {
  std::vector<ConvCase> cases;
  std::map<std::vector<int64_t>, size_t> seen;  // geometry -> index in cases
  auto add = [&](const std::string& layer, int64_t c_in, int64_t c_out, int level) {
    kernels::ConvGeom g;
    g.N = s.batch, g.C_in = c_in, g.C_out = c_out;
    for (int d = 0; d < 3; ++d) {
      g.in[d] = s.grid[d] >> level;
      g.k[d] = 3, g.pad[d] = 1, g.stride[d] = 1;
      g.out[d] = kernels::ConvGeom::out_size(g.in[d], 3, 1, 1);
    }
    const std::vector<int64_t> key{c_in, c_out, g.in[0], g.in[1], g.in[2]};
    auto it = seen.find(key);
    if (it != seen.end()) {
      cases[it->second].layers += "," + layer;
      return;
    }
    seen.emplace(key, cases.size());
    cases.push_back({layer, g});
  };
  int64_t in = s.in_channels, f = s.base_filters;
  std::vector<int64_t> filters;
  for (int l = 0; l < s.depth; ++l, f *= 2) {
    filters.push_back(f);
    add("down" + std::to_string(l) + ".0", in, f, l);
    add("down" + std::to_string(l) + ".3", f, f, l);
    in = f;
  }
  add("bottleneck.0", in, 2 * in, s.depth);
  add("bottleneck.3", 2 * in, 2 * in, s.depth);
  for (int l = s.depth - 1; l >= 0; --l) {
    add("upconv" + std::to_string(l) + ".0", 2 * filters[l], filters[l], l);
    add("upconv" + std::to_string(l) + ".3", filters[l], filters[l], l);
  }
  return cases;
}


namespace {

using cuda::ConvDirection;
using cuda::conv_algorithm;
using cuda::conv_backward_input;
using cuda::conv_backward_weight;
using cuda::conv_forward;

const char* algo_name(ConvDirection dir, int algo) {
  static const char* fwd[] = {"IMPLICIT_GEMM", "IMPLICIT_PRECOMP_GEMM", "GEMM", "DIRECT",
                              "FFT", "FFT_TILING", "WINOGRAD", "WINOGRAD_NONFUSED"};
  static const char* bwd_data[] = {"ALGO_0", "ALGO_1", "FFT", "FFT_TILING", "WINOGRAD", "WINOGRAD_NONFUSED"};
  static const char* bwd_filter[] = {"ALGO_0", "ALGO_1", "FFT", "ALGO_3", "WINOGRAD", "WINOGRAD_NONFUSED", "FFT_TILING"};
  const char** names = dir == ConvDirection::forward ? fwd : dir == ConvDirection::backward_input ? bwd_data : bwd_filter;
  const int n = dir == ConvDirection::forward ? 8 : dir == ConvDirection::backward_input ? 6 : 7;
  return algo >= 0 && algo < n ? names[algo] : "unknown";
}

const char* direction_name(ConvDirection dir) {
  return dir == ConvDirection::forward ? "fwd" : dir == ConvDirection::backward_input ? "bwd_data" : "bwd_filter";
}

struct ConvBuffers {
  DeviceFloats x, w, dy, y, dx, dw;
  ConvBuffers(const kernels::ConvGeom& g, uint32_t seed)
      : x(hash_values(seed + 1, g.N * g.C_in * g.in_volume())),
        w(hash_values(seed + 2, g.C_out * g.col_rows())),
        dy(hash_values(seed + 3, g.N * g.C_out * g.out_volume())),
        y(g.N * g.C_out * g.out_volume()),
        dx(g.N * g.C_in * g.in_volume()),
        dw(g.C_out * g.col_rows()) {}
};

// The operands of one direction in storage type T: float uses the buffers themselves,
// 16-bit types casts of them (the output cast back into the float buffer by `publish`).
template <class T>
struct Operands {
  const T *a, *b;
  T* out;
};

// One direction of one case in storage type T under `mode` (off / on: float with TF32 off or
// on; bf16 / fp16): result line and output file.
template <class T>
bool run_direction(const ConvCase& c, size_t index, ConvDirection dir, ConvBuffers& b, const ConvOptions& opt,
                   DeviceTimer& timer, const std::string& mode, Operands<T> o, const std::function<void()>& publish) {
  const kernels::ConvGeom& g = c.geom;
  DeviceFloats& out = dir == ConvDirection::forward ? b.y : dir == ConvDirection::backward_input ? b.dx : b.dw;
  auto run = [&] {
    if (dir == ConvDirection::forward) conv_forward<T>(g, o.a, o.b, o.out, stream());
    else if (dir == ConvDirection::backward_input) conv_backward_input<T>(g, o.a, o.b, o.out, stream());
    else conv_backward_weight<T>(g, o.a, o.b, o.out, stream());
  };
  // Poison the output (NaN bytes) so that an element the library leaves unwritten shows.
  out.poison();
  if (static_cast<void*>(o.out) != static_cast<void*>(out.get()))
    PN_CUDA_CHECK(cudaMemsetAsync(o.out, 0xFF, out.size() * sizeof(T), stream()));
  run();
  publish();
  const std::vector<float> first = out.to_host();
  const auto algo = conv_algorithm<T>(dir, g);
  const double ms = timer.median_ms(run, opt.reps, 1);
  publish();
  const std::vector<float> last = out.to_host();
  const bool same = std::memcmp(first.data(), last.data(), first.size() * sizeof(float)) == 0;
  const std::string file = "conv" + std::to_string(index) + "_" + direction_name(dir) + "_" + mode + ".f32";
  write_raw(opt.out_dir + "/" + file, first);
  Line("conv")
      .add("case", static_cast<int64_t>(index))
      .add("layers", c.layers)
      .add("dir", direction_name(dir))
      .add("tf32", mode)
      .add("N", g.N).add("Cin", g.C_in).add("Cout", g.C_out)
      .add("D", g.in[0]).add("H", g.in[1]).add("W", g.in[2])
      .add("seed", static_cast<int64_t>(100 * index))
      .add("ms", ms)
      .add("tflops", 2.0 * g.macs() / (ms * 1e-3) / 1e12)
      .add("algo", algo ? algo_name(dir, algo->algo) : "not-cached")
      .add("algo_id", static_cast<int64_t>(algo ? algo->algo : -1))
      .add("workspace", static_cast<int64_t>(algo ? algo->workspace_bytes : 0))
      .add("deterministic", same)
      .add("file", file)
      .print();
  return static_cast<bool>(algo);
}

// The three directions of one case in float at the current TF32 setting.
bool run_float(const ConvCase& c, size_t index, ConvBuffers& b, const ConvOptions& opt, DeviceTimer& timer) {
  const std::string mode = cuda::library_options().allow_tf32 ? "on" : "off";
  bool ok = run_direction<float>(c, index, ConvDirection::forward, b, opt, timer, mode, {b.x.get(), b.w.get(), b.y.get()}, [] {});
  ok = run_direction<float>(c, index, ConvDirection::backward_input, b, opt, timer, mode,
                            {b.dy.get(), b.w.get(), b.dx.get()}, [] {}) && ok;
  return run_direction<float>(c, index, ConvDirection::backward_weight, b, opt, timer, mode,
                              {b.x.get(), b.dy.get(), b.dw.get()}, [] {}) && ok;
}

// The three directions of one case in 16-bit storage H (mode "bf16" or "fp16").
template <class H>
bool run_16bit(const ConvCase& c, size_t index, ConvBuffers& b, const ConvOptions& opt, DeviceTimer& timer,
               const std::string& mode) {
  Device16<H> x(b.x), w(b.w), dy(b.dy), y(b.y.size()), dx(b.dx.size()), dw(b.dw.size());
  auto back = [](const Device16<H>& h, DeviceFloats& f) {
    return [&h, &f] { cuda::cast(h.get(), f.get(), f.size(), stream()); };
  };
  bool ok = run_direction<H>(c, index, ConvDirection::forward, b, opt, timer, mode, {x.get(), w.get(), y.get()},
                             back(y, b.y));
  ok = run_direction<H>(c, index, ConvDirection::backward_input, b, opt, timer, mode, {dy.get(), w.get(), dx.get()},
                        back(dx, b.dx)) && ok;
  return run_direction<H>(c, index, ConvDirection::backward_weight, b, opt, timer, mode, {x.get(), dy.get(), dw.get()},
                          back(dw, b.dw)) && ok;
}

}  // namespace

int run_conv(const UNetSize& size, const ConvOptions& opt) {
  const auto cases = unet_conv_cases(size);
  DeviceTimer timer;
  bool ok = true;
  for (size_t i = 0; i < cases.size(); ++i) {
    ConvBuffers b(cases[i].geom, static_cast<uint32_t>(100 * i));
    for (bool tf32 : opt.tf32_modes) {
      cuda::LibraryOptions lib = cuda::library_options();
      lib.allow_tf32 = tf32;
      cuda::ScopedLibraryOptions scope(lib);
      ok = run_float(cases[i], i, b, opt, timer) && ok;
    }
    for (const std::string& mode : opt.half_modes)
      ok = (mode == "bf16" ? run_16bit<__nv_bfloat16>(cases[i], i, b, opt, timer, mode)
                           : run_16bit<__half>(cases[i], i, b, opt, timer, mode)) && ok;
  }
  if (!ok) std::fprintf(stderr, "gpu_check conv: an algorithm choice was not found in the wrapper's cache\n");
  return ok ? 0 : 1;
}

}  // namespace pn::gpu_check
