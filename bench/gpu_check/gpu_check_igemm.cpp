// gpu_check igemm: our implicit-GEMM convolution (kernels/cuda/conv_igemm.h, run.conv =
// "implicit_gemm") against cuDNN (run.conv = "cudnn", TF32 off: both FP32) on the U-Net's
// first-level 3x3x3 convolution (down0.3: base filters -> base filters on the whole grid) and
// the second level's (down1.3, one smaller), forward, backward data and backward weight, through
// the production entry points (kernels/cuda/dnn.h, switched by LibraryOptions::conv), in float32
// (ours on CUDA cores) and in bf16 (ours on tensor cores, cuDNN's tensor-op math). Per pass:
// the median time of each (CUDA events, after a warm-up), TFLOP/s, cuDNN's time over ours,
// max |ours - cuDNN| / max |cuDNN|, and whether ours gave the same bits twice. Fails (1) when
// the difference exceeds 1e-3 (float32) / 1e-2 (bf16) or ours is not deterministic.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

#include "bench/gpu_check/gpu_check.h"
#include "bench/gpu_check/gpu_check_util.h"
#include "kernels/op_geometry.h"

#include "kernels/cuda/dnn.h"
#include "kernels/cuda/library_options.h"
#include "kernels/cuda/storage_types.h"

namespace pn::gpu_check {

namespace {

using cuda::ConvImpl;
using kernels::ConvGeom;

const char* kDirections[] = {"fwd", "bwd_data", "bwd_filter"};

double relative_difference(const std::vector<float>& a, const std::vector<float>& ref) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, std::fabs(static_cast<double>(a[i]) - ref[i]));
    scale = std::max(scale, std::fabs(static_cast<double>(ref[i])));
  }
  return std::isfinite(diff) ? diff / (scale > 0 ? scale : 1) : INFINITY;
}

// The operands in storage type T: float, or bf16 casts of the float values (nearest even).
template <class T>
struct Operands {
  const T *x, *w, *dy;
};

// Runs direction d of g into `out` with `impl`: the production call under that run.conv.
template <class T>
void run_pass(const ConvGeom& g, int d, const Operands<T>& o, T* out, ConvImpl impl) {
  cuda::LibraryOptions lib = cuda::library_options();
  lib.conv = impl;
  lib.allow_tf32 = false;
  const cuda::ScopedLibraryOptions scope(lib);
  if (d == 0) cuda::conv_forward<T>(g, o.x, o.w, out, stream());
  else if (d == 1) cuda::conv_backward_input<T>(g, o.dy, o.w, out, stream());
  else cuda::conv_backward_weight<T>(g, o.x, o.dy, out, stream());
}

// An output buffer of n T and its values as floats on the host.
template <class T>
struct Output {
  explicit Output(int64_t n) : data(n), as_float(n) {}
  std::conditional_t<std::is_same_v<T, float>, DeviceFloats, Device16<T>> data;
  DeviceFloats as_float;
  std::vector<float> to_host() {
    if constexpr (std::is_same_v<T, float>) return data.to_host();
    cuda::cast(data.get(), as_float.get(), as_float.size(), stream());
    return as_float.to_host();
  }
};

// One direction of one case in T: both implementations timed and compared; false on a failure.
// Tolerances: float 1e-3 (sums in other orders); bf16 1e-2 (each side rounds its outputs to
// 8 bits: half an ulp is 2^-9 = 2e-3 of the value, and the two may round apart).
template <class T>
bool compare_direction(const ConvCase& c, size_t index, int d, const Operands<T>& o, DeviceTimer& timer, int reps) {
  const ConvGeom& g = c.geom;
  const int64_t n = d == 0 ? g.N * g.C_out * g.out_volume() : d == 1 ? g.N * g.C_in * g.in_volume()
                                                                      : g.C_out * g.col_rows();
  Output<T> out_cudnn(n), out_ours(n);
  auto time = [&](ConvImpl impl, Output<T>& out) {
    return timer.median_ms([&] { run_pass<T>(g, d, o, out.data.get(), impl); }, reps, 1);
  };
  const double cudnn_ms = time(ConvImpl::cudnn, out_cudnn);
  const double ours_ms = time(ConvImpl::implicit_gemm, out_ours);
  const std::vector<float> ref = out_cudnn.to_host(), ours = out_ours.to_host();
  run_pass<T>(g, d, o, out_ours.data.get(), ConvImpl::implicit_gemm);
  const std::vector<float> again = out_ours.to_host();
  const bool same = std::memcmp(ours.data(), again.data(), ours.size() * sizeof(float)) == 0;
  const double diff = relative_difference(ours, ref), flops = 2.0 * g.macs();
  Line("igemm")
      .add("case", static_cast<int64_t>(index))
      .add("layers", c.layers)
      .add("dir", kDirections[d])
      .add("dtype", cuda::StorageType<T>::name)
      .add("N", g.N).add("Cin", g.C_in).add("Cout", g.C_out)
      .add("D", g.in[0]).add("H", g.in[1]).add("W", g.in[2])
      .add("cudnn_ms", cudnn_ms)
      .add("cudnn_tflops", flops / (cudnn_ms * 1e-3) / 1e12)
      .add("ours_ms", ours_ms)
      .add("ours_tflops", flops / (ours_ms * 1e-3) / 1e12)
      .add("cudnn_over_ours", cudnn_ms / ours_ms)
      .add("diff", diff)
      .add("deterministic", same)
      .print();
  return diff <= (std::is_same_v<T, float> ? 1e-3 : 1e-2) && same;
}

// The three directions of one case in float, then in bf16 (tensor cores on both sides).
bool compare_case(const ConvCase& c, size_t i, DeviceTimer& timer, int reps) {
  const ConvGeom& g = c.geom;
  const int64_t xs = g.N * g.C_in * g.in_volume(), ys = g.N * g.C_out * g.out_volume(), ws = g.C_out * g.col_rows();
  const uint32_t seed = static_cast<uint32_t>(100 * i);
  const DeviceFloats x(hash_values(seed + 1, xs)), w(hash_values(seed + 2, ws)), dy(hash_values(seed + 3, ys));
  const Device16<__nv_bfloat16> xb(x), wb(w), dyb(dy);
  bool ok = true;
  for (int d = 0; d < 3; ++d) ok = compare_direction<float>(c, i, d, {x.get(), w.get(), dy.get()}, timer, reps) && ok;
  for (int d = 0; d < 3; ++d)
    ok = compare_direction<__nv_bfloat16>(c, i, d, {xb.get(), wb.get(), dyb.get()}, timer, reps) && ok;
  return ok;
}

}  // namespace

int run_igemm(const UNetSize& size, int reps) {
  const std::vector<ConvCase> all = unet_conv_cases(size);
  DeviceTimer timer;
  bool ok = true;
  int compared = 0;
  for (size_t i = 0; i < all.size(); ++i) {
    const std::string& layers = all[i].layers;
    if (layers.rfind("down0.3", 0) != 0 && layers.rfind("down1.3", 0) != 0) continue;
    ok = compare_case(all[i], i, timer, reps) && ok;
    compared += 6;
  }
  if (compared == 0) std::fprintf(stderr, "gpu_check igemm: the U-Net has no down0.3 / down1.3 convolution\n");
  return ok && compared > 0 ? 0 : 1;
}

}  // namespace pn::gpu_check
