// The fused cuDNN graphs of kernels/cuda/dnn_graph.h against the legacy path: conv + bias +
// activation against the legacy convolution (dnn.h conv_forward, float, on the same values
// widened exactly) followed by the bias and activation on the host; scale/shift + activation
// against the same per-element formula on the host. float, bf16 and fp16 storage, channels-first
// and channels-last, 2-D and 3-D with awkward sizes (channel counts across the emulator's 8-lane
// blocks, padding, mixed strides).
// Under the emulator the fused result must equal the reference bit for bit: both sum the
// convolution in float in the same order, add the bias in float, activate, and round once to
// the storage type. Also built into tests/gpu (test_gpu_kernels) against real cuDNN: there a
// runtime-fusion engine may sum in another order and run float convolutions in TF32, so the
// tolerance per element is 2^-9 * S (S: the convolution of |x| and |w| plus |bias|) plus one
// unit of the 16-bit type in the last place of |want|.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "emu_util.h"
#include "kernels/cuda/dnn_graph.h"
#include "kernels/cuda/library_options.h"
#include "kernels/cuda/norm.h"

using pn::cuda::ChannelGeom;
using pn::cuda::ConvLayout;
using pn::cuda::FusedActivation;
using pn::kernels::ConvGeom;
using pn::test::DeviceArray;

namespace {

// A geometry (kernels/op_geometry.h ConvGeom::make), 2-D when the depth and its kernel are 1.
ConvGeom geom(int64_t n, int64_t cin, int64_t cout, const int64_t (&in)[3], const int64_t (&k)[3],
              const int64_t (&stride)[3], const int64_t (&pad)[3]) {
  ConvGeom g = ConvGeom::make(n, cin, cout, in, k, stride, pad);
  g.spatial_dims = in[0] == 1 && k[0] == 1 ? 2 : 3;
  return g;
}

template <class T>
std::vector<T> random_values(int64_t n, uint64_t seed) {
  std::vector<T> v;
  for (float x : pn::test::random_vector<float>(n, seed)) v.push_back(T(x));
  return v;
}

template <class T>
std::vector<float> widen(const std::vector<T>& v, bool absolute = false) {
  std::vector<float> f;
  for (T x : v) f.push_back(absolute ? std::fabs(float(x)) : float(x));
  return f;
}

template <class T>
double unit() {
  if constexpr (std::is_same_v<T, __nv_bfloat16>) return std::ldexp(1.0, -8);
  if constexpr (std::is_same_v<T, __half>) return std::ldexp(1.0, -11);
  return 0.0;
}

// cuDNN's RELU_FWD with lower clip 0: v < 0 ? 0 + slope * (v - 0) : v.
float activate(FusedActivation act, float v) {
  if (act.kind == FusedActivation::none || !(v < 0.0f)) return v;
  return act.kind == FusedActivation::leaky_relu ? act.slope * v : 0.0f;
}

// The channel of element i of an [N, C, volume] tensor stored in `layout`.
int64_t channel(int64_t i, int64_t c, int64_t volume, ConvLayout layout) {
  return layout == ConvLayout::channels_last ? i % c : i / volume % c;
}

// Legacy float convolution (dnn.h) of x and w as stored in `layout`.
std::vector<float> legacy_conv(const ConvGeom& g, const std::vector<float>& x, const std::vector<float>& w,
                               ConvLayout layout) {
  DeviceArray<float> d_x(x), d_w(w), d_y(g.N * g.C_out * g.out_volume());
  pn::cuda::conv_forward(g, d_x.get(), d_w.get(), d_y.get(), nullptr, layout);
  return d_y.to_host();
}

// Elements of got outside the tolerance (the first few reported).
template <class T>
int mismatches(const std::vector<T>& got, const std::vector<T>& want, const std::vector<float>& magnitude,
               const std::string& what) {
  int bad = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double g = float(got[i]), w = float(want[i]);
    const double tol = pn::test::kEmulated ? 0.0 : std::ldexp(1.0, -9) * magnitude[i] + unit<T>() * std::fabs(w);
    if (!(std::fabs(g - w) <= tol) && bad++ < 3) MESSAGE(what << "[" << i << "] = " << g << ", want " << w << " +- " << tol);
  }
  return bad;
}

template <class T>
void check_conv_bias_act(const ConvGeom& g, ConvLayout layout, FusedActivation act, uint64_t seed, const std::string& label) {
  const int64_t xs = g.N * g.C_in * g.in_volume(), ws = g.C_out * g.C_in * g.k_volume(), ys = g.N * g.C_out * g.out_volume();
  const auto x = random_values<T>(xs, seed), w = random_values<T>(ws, seed + 1), bias = random_values<T>(g.C_out, seed + 2);
  DeviceArray<T> d_x(x), d_w(w), d_b(bias), d_y(ys);
  pn::cuda::conv_bias_act_forward(g, d_x.get(), d_w.get(), d_b.get(), d_y.get(), act, nullptr, layout);
  const std::vector<float> sums = legacy_conv(g, widen(x), widen(w), layout);
  std::vector<float> magnitude(static_cast<size_t>(ys), 0.0f);
  if (!pn::test::kEmulated) magnitude = legacy_conv(g, widen(x, true), widen(w, true), layout);
  std::vector<T> want;
  for (int64_t i = 0; i < ys; ++i) {
    const int64_t c = channel(i, g.C_out, g.out_volume(), layout);
    want.push_back(T(activate(act, sums[i] + float(bias[c]))));
    magnitude[i] += std::fabs(float(bias[c]));
  }
  const std::string what = label + (layout == ConvLayout::channels_last ? " channels-last" : " channels-first") +
                           " activation " + std::to_string(act.kind);
  CHECK(mismatches(d_y.to_host(), want, magnitude, what) == 0);
}

const ConvGeom g3 = geom(2, 3, 11, {3, 5, 6}, {2, 3, 3}, {1, 2, 1}, {1, 1, 0});  // 3-D, K across two lane blocks
const ConvGeom g2 = geom(3, 5, 4, {1, 7, 9}, {1, 3, 3}, {1, 1, 2}, {0, 1, 1});   // 2-D, stride 2, padded

template <class T>
void check_scale_shift_act(const ChannelGeom& g, ConvLayout layout, FusedActivation act, bool in_place, uint64_t seed) {
  const int64_t volume = g.spatial[0] * g.spatial[1] * g.spatial[2], n = g.N * g.C * volume;
  const auto x = random_values<T>(n, seed);
  const int64_t groups = g.per_sample ? g.N * g.C : g.C;
  const auto scale = pn::test::random_vector<float>(groups, seed + 1), shift = pn::test::random_vector<float>(groups, seed + 2);
  DeviceArray<T> d_x(x), d_y(n);
  DeviceArray<float> d_scale(scale), d_shift(shift);
  T* out = in_place ? d_x.get() : d_y.get();
  pn::cuda::scale_shift_act(g, d_x.get(), d_scale.get(), d_shift.get(), out, act, nullptr, layout);
  std::vector<T> want;
  std::vector<float> magnitude;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = channel(i, g.C, volume, layout) + (g.per_sample ? i / (g.C * volume) * g.C : 0);
    const float scaled = float(x[i]) * scale[c];
    want.push_back(T(activate(act, scaled + shift[c])));
    magnitude.push_back(std::fabs(scaled) + std::fabs(shift[c]));
  }
  CHECK(mismatches(in_place ? d_x.to_host() : d_y.to_host(), want, magnitude, "scale_shift_act") == 0);
}

const FusedActivation kActs[] = {{FusedActivation::none, 0.0f}, {FusedActivation::relu, 0.0f},
                                 {FusedActivation::leaky_relu, 0.2f}};

}  // namespace

TEST_CASE("dnn_graph: conv + bias + activation matches the legacy convolution then bias and activation") {
  for (ConvLayout layout : {ConvLayout::channels_first, ConvLayout::channels_last})
    for (const FusedActivation& act : kActs) {
      check_conv_bias_act<float>(g3, layout, act, 11, "float 3-D");
      check_conv_bias_act<float>(g2, layout, act, 12, "float 2-D");
    }
  for (ConvLayout layout : {ConvLayout::channels_first, ConvLayout::channels_last}) {
    check_conv_bias_act<__nv_bfloat16>(g3, layout, kActs[1], 13, "bf16 3-D");
    check_conv_bias_act<__half>(g2, layout, kActs[2], 14, "fp16 2-D");
  }
}

TEST_CASE("dnn_graph: scale/shift + activation (batch-norm apply) matches the per-element formula") {
  const ChannelGeom g5{2, 11, {3, 4, 5}}, g4{3, 5, {1, 6, 7}};
  for (ConvLayout layout : {ConvLayout::channels_first, ConvLayout::channels_last})
    for (const FusedActivation& act : kActs) {
      check_scale_shift_act<float>(g5, layout, act, false, 21);
      check_scale_shift_act<__nv_bfloat16>(g4, layout, act, false, 22);
    }
  check_scale_shift_act<__half>(g5, ConvLayout::channels_last, kActs[1], true, 23);  // in place
  check_scale_shift_act<float>(g4, ConvLayout::channels_first, kActs[2], true, 24);
  // Per sample and channel (instance norm's groups).
  const ChannelGeom per_sample{3, 5, {2, 3, 4}, true};
  for (ConvLayout layout : {ConvLayout::channels_first, ConvLayout::channels_last})
    check_scale_shift_act<__nv_bfloat16>(per_sample, layout, kActs[2], false, 25);
}

TEST_CASE("dnn_graph: a plan is built once per geometry and reused") {
  const ConvGeom g = geom(1, 2, 3, {1, 5, 4}, {1, 3, 3}, {1, 1, 1}, {0, 1, 1});
  const auto x = random_values<float>(g.N * g.C_in * g.in_volume(), 31), w = random_values<float>(g.C_out * g.C_in * 9, 32);
  const auto b = random_values<float>(g.C_out, 33);
  DeviceArray<float> d_x(x), d_w(w), d_b(b), d_y(g.N * g.C_out * g.out_volume());
  const FusedActivation relu{FusedActivation::relu, 0.0f};
  const int64_t before = pn::cuda::fused_graph_plans_built();
  pn::cuda::conv_bias_act_forward(g, d_x.get(), d_w.get(), d_b.get(), d_y.get(), relu, nullptr);
  pn::cuda::conv_bias_act_forward(g, d_x.get(), d_w.get(), d_b.get(), d_y.get(), relu, nullptr);
  CHECK(pn::cuda::fused_graph_plans_built() == before + 1);
  pn::cuda::conv_bias_act_forward(g, d_x.get(), d_w.get(), d_b.get(), d_y.get(), FusedActivation{}, nullptr);
  CHECK(pn::cuda::fused_graph_plans_built() == before + 2);  // another activation: another graph
#if defined(PN_CUDA_EMU)
  const int64_t runs = pn::cuda::emu::cudnn_graph_executions();
  pn::cuda::conv_bias_act_forward(g, d_x.get(), d_w.get(), d_b.get(), d_y.get(), relu, nullptr);
  CHECK(pn::cuda::emu::cudnn_graph_executions() == runs + 1);
#endif
}

TEST_CASE("dnn_graph: float convolutions follow library_options().allow_tf32, as the legacy path does") {
  // The reference's legacy convolution runs under the same options: TF32 on both sides here,
  // FP32 on both in the first test case (where a tensor-core engine would fail the comparison).
  pn::cuda::LibraryOptions tf32;
  tf32.allow_tf32 = true;
  pn::cuda::ScopedLibraryOptions scope(tf32);
  for (ConvLayout layout : {ConvLayout::channels_first, ConvLayout::channels_last})
    check_conv_bias_act<float>(g3, layout, kActs[2], 41, "float TF32 3-D");
}

#if defined(PN_CUDA_EMU)
// run.cudnn_graphs (library_options().cudnn_graphs): the fused norm + activation forward
// (norm.h norm_act_forward) hands its apply stage to scale_shift_act; results equal our
// kernel's bit for bit under the emulator (the same float formula), and the graph did run.
TEST_CASE("norm_act_forward with cudnn_graphs: the fused graph applies the norm, as our kernel does") {
  for (const bool per_instance : {false, true})
    for (const double slope : {0.0, 0.2}) {
      CAPTURE(per_instance);
      CAPTURE(slope);
      const pn::kernels::NormGeom g{2, 3, 37, per_instance};
      const int64_t groups = per_instance ? g.n * g.c : g.c;
      const auto x = random_values<float>(g.n * g.c * g.s, 41);
      auto var = random_values<float>(groups, 42);
      for (float& v : var) v = std::fabs(v) + 0.5f;
      DeviceArray<float> d_x(x), d_mean(random_values<float>(groups, 43)), d_var(var);
      DeviceArray<float> d_gamma(random_values<float>(g.c, 44)), d_beta(random_values<float>(g.c, 45));
      DeviceArray<float> ours(x.size()), graph(x.size());
      auto run = [&](DeviceArray<float>& y) {
        pn::cuda::norm_act_forward(d_x.get(), g, d_mean.get(), d_var.get(), 1e-5, d_gamma.get(), d_beta.get(), slope,
                                   y.get(), nullptr);
      };
      const int64_t runs = pn::cuda::emu::cudnn_graph_executions();
      run(ours);
      CHECK(pn::cuda::emu::cudnn_graph_executions() == runs);  // off by default
      pn::cuda::LibraryOptions o = pn::cuda::library_options();
      o.cudnn_graphs = true;
      {
        const pn::cuda::ScopedLibraryOptions scope(o);
        run(graph);
      }
      CHECK(pn::cuda::emu::cudnn_graph_executions() == runs + 1);
      CHECK(graph.to_host() == ours.to_host());
    }
}
#endif
