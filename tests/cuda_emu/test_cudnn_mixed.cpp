// cuDNN convolutions with bf16 / fp16 storage and fp32 compute, channels-first and
// channels-last, through the wrapper (kernels/cuda/dnn.h) on the emulated cuDNN, and the
// emulated cuDNN's data-type rules (PSEUDO_HALF_CONFIG / PSEUDO_BFLOAT16_CONFIG).
// Parity: the CPU reference (kernels/cpu/conv_reference.h) in float64 on the same 16-bit
// inputs widened exactly. Tolerance per element: |got - want| <= t * 2^-24 * S + u * |want|,
// S the same convolution of the absolute values (the sum of |products| of that element),
// t its number of terms (C_in k-volume forward, C_out k-volume backward input, N out-volume
// backward weight): fp32 accumulation in any order (the emulator's or a GPU's) is within
// t ulps of S, then one rounding to the 16-bit output (u = 2^-8 bf16, 2^-11 fp16).
// Also built into tests/gpu (test_gpu_kernels) against real cuDNN: there the summation term
// is widened 8x (tensor-core accumulation, Winograd / FFT transforms), the float
// channels-last comparison allows 1e-5 (another algorithm may run), and the test of the
// emulator's own type rules is left out.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "cudnn_test_util.h"
#include "emu_util.h"
#include "kernels/cpu/conv_reference.h"
#include "kernels/cuda/dnn.h"

using pn::cuda::ConvLayout;
using pn::kernels::ConvGeom;
using pn::test::DeviceArray;

namespace {

// The summation part of the tolerance: exactly the bound under the emulator, 8x on a GPU.
constexpr double kSumSlack = pn::test::kEmulated ? 1.0 : 8.0;

ConvGeom conv_geom(int64_t n, int64_t cin, int64_t cout, std::array<int64_t, 3> in, std::array<int64_t, 3> k,
                   std::array<int64_t, 3> stride, std::array<int64_t, 3> pad) {
  ConvGeom g;
  g.spatial_dims = in[0] == 1 && k[0] == 1 ? 2 : 3;
  g.N = n, g.C_in = cin, g.C_out = cout;
  for (int d = 0; d < 3; ++d) {
    g.in[d] = in[d], g.k[d] = k[d], g.stride[d] = stride[d], g.pad[d] = pad[d];
    g.out[d] = ConvGeom::out_size(in[d], k[d], stride[d], pad[d]);
  }
  return g;
}

// NC(spatial) <-> N(spatial)C for `outer` x `channels` x `volume` elements (weights: outer =
// C_out, channels = C_in, volume = k-volume).
template <class T>
std::vector<T> to_channels_last(const std::vector<T>& v, int64_t outer, int64_t channels, int64_t volume) {
  std::vector<T> r(v.size());
  for (int64_t n = 0; n < outer; ++n)
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t s = 0; s < volume; ++s) r[(n * volume + s) * channels + c] = v[(n * channels + c) * volume + s];
  return r;
}
template <class T>
std::vector<T> from_channels_last(const std::vector<T>& v, int64_t outer, int64_t channels, int64_t volume) {
  std::vector<T> r(v.size());
  for (int64_t n = 0; n < outer; ++n)
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t s = 0; s < volume; ++s) r[(n * channels + c) * volume + s] = v[(n * volume + s) * channels + c];
  return r;
}

template <class H>
std::vector<H> random_16bit(int64_t n, uint64_t seed) {
  std::vector<H> v;
  for (float x : pn::test::random_vector<float>(n, seed)) v.push_back(H(x));
  return v;
}
template <class H>
std::vector<double> widen(const std::vector<H>& v, bool absolute = false) {
  std::vector<double> d;
  for (H x : v) d.push_back(absolute ? std::fabs(double(float(x))) : double(float(x)));
  return d;
}

template <class H>
double unit() {
  return std::is_same_v<H, __nv_bfloat16> ? std::ldexp(1.0, -8) : std::ldexp(1.0, -11);
}

// Counts elements outside the tolerance (and reports the first few).
template <class H>
int out_of_tolerance(const std::vector<H>& got, const std::vector<double>& want, const std::vector<double>& mag,
                     double terms, const std::string& what) {
  int bad = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double tol = kSumSlack * terms * std::ldexp(1.0, -24) * mag[i] + unit<H>() * std::fabs(want[i]);
    const double g = float(got[i]);
    if (!(std::fabs(g - want[i]) <= tol) && bad++ < 3)
      MESSAGE(what << "[" << i << "] = " << g << ", want " << want[i] << " +- " << tol);
  }
  return bad;
}

template <class H>
void check_mixed_parity(const ConvGeom& g, ConvLayout layout, uint64_t seed, const std::string& label) {
  namespace ref = pn::cpu::reference;
  const int64_t xs = g.N * g.C_in * g.in_volume(), ys = g.N * g.C_out * g.out_volume(),
                ws = g.C_out * g.C_in * g.k_volume();
  const auto x = random_16bit<H>(xs, seed), w = random_16bit<H>(ws, seed + 1), dy = random_16bit<H>(ys, seed + 2);
  // float64 references and magnitudes (the same convolutions of |values|).
  std::vector<double> y(ys), dx(xs), dw(ws), my(ys), mdx(xs), mdw(ws);
  ref::conv_forward(g, widen(x).data(), widen(w).data(), y.data());
  ref::conv_backward_input(g, widen(dy).data(), widen(w).data(), dx.data());
  ref::conv_backward_weight(g, widen(x).data(), widen(dy).data(), dw.data());
  ref::conv_forward(g, widen(x, true).data(), widen(w, true).data(), my.data());
  ref::conv_backward_input(g, widen(dy, true).data(), widen(w, true).data(), mdx.data());
  ref::conv_backward_weight(g, widen(x, true).data(), widen(dy, true).data(), mdw.data());
  const bool last = layout == ConvLayout::channels_last;
  auto store = [&](const std::vector<H>& v, int64_t outer, int64_t ch, int64_t vol) {
    return last ? to_channels_last(v, outer, ch, vol) : v;
  };
  auto load = [&](const std::vector<H>& v, int64_t outer, int64_t ch, int64_t vol) {
    return last ? from_channels_last(v, outer, ch, vol) : v;
  };
  DeviceArray<H> d_x(store(x, g.N, g.C_in, g.in_volume())), d_w(store(w, g.C_out, g.C_in, g.k_volume()));
  DeviceArray<H> d_dy(store(dy, g.N, g.C_out, g.out_volume())), d_y(ys), d_dx(xs), d_dw(ws);
  pn::cuda::conv_forward(g, d_x.get(), d_w.get(), d_y.get(), nullptr, layout);
  pn::cuda::conv_backward_input(g, d_dy.get(), d_w.get(), d_dx.get(), nullptr, layout);
  pn::cuda::conv_backward_weight(g, d_x.get(), d_dy.get(), d_dw.get(), nullptr, layout);
  const std::string what = label + (last ? " channels-last" : " channels-first");
  CHECK(out_of_tolerance(load(d_y.to_host(), g.N, g.C_out, g.out_volume()), y, my, double(g.col_rows()),
                         what + " forward") == 0);
  CHECK(out_of_tolerance(load(d_dx.to_host(), g.N, g.C_in, g.in_volume()), dx, mdx,
                         double(g.C_out * g.k_volume()), what + " backward input") == 0);
  CHECK(out_of_tolerance(load(d_dw.to_host(), g.C_out, g.C_in, g.k_volume()), dw, mdw,
                         double(g.N * g.out_volume()), what + " backward weight") == 0);
}

const ConvGeom g3 = conv_geom(2, 3, 5, {5, 7, 6}, {3, 3, 3}, {1, 2, 1}, {1, 1, 0});  // 3-D, padded, mixed stride
const ConvGeom g2 = conv_geom(3, 5, 4, {1, 11, 9}, {1, 3, 3}, {1, 2, 2}, {0, 1, 1});  // 2-D, stride 2, padded

}  // namespace

TEST_CASE("dnn: bf16 / fp16 convolutions, channels-first and channels-last, against float64") {
  for (ConvLayout layout : {ConvLayout::channels_first, ConvLayout::channels_last}) {
    check_mixed_parity<__nv_bfloat16>(g3, layout, 21, "bf16 3-D");
    check_mixed_parity<__nv_bfloat16>(g2, layout, 31, "bf16 2-D");
    check_mixed_parity<__half>(g3, layout, 41, "fp16 3-D");
    check_mixed_parity<__half>(g2, layout, 51, "fp16 2-D");
  }
}

TEST_CASE("dnn: channels-last float convolution agrees with channels-first") {
  // The layout only moves elements: under the emulator the same algorithm sums the same terms
  // in the same order, so the results are bit for bit the same.
  const auto x = pn::test::random_vector<float>(g3.N * g3.C_in * g3.in_volume(), 5);
  const auto w = pn::test::random_vector<float>(g3.C_out * g3.C_in * g3.k_volume(), 6);
  DeviceArray<float> d_x(x), d_w(w), d_y(g3.N * g3.C_out * g3.out_volume());
  DeviceArray<float> l_x(to_channels_last(x, g3.N, g3.C_in, g3.in_volume()));
  DeviceArray<float> l_w(to_channels_last(w, g3.C_out, g3.C_in, g3.k_volume())), l_y(d_y.size());
  pn::cuda::conv_forward(g3, d_x.get(), d_w.get(), d_y.get(), nullptr);
  pn::cuda::conv_forward(g3, l_x.get(), l_w.get(), l_y.get(), nullptr, ConvLayout::channels_last);
  const double tol = pn::test::kEmulated ? 0.0 : 1e-5;
  pn::test::check_close(from_channels_last(l_y.to_host(), g3.N, g3.C_out, g3.out_volume()), d_y.to_host(), tol,
                        tol * double(g3.col_rows()), "channels-last float forward");
  const auto algo = pn::cuda::conv_algorithm<float>(pn::cuda::ConvDirection::forward, g3, ConvLayout::channels_last);
  CHECK(algo.has_value());
}

TEST_CASE("dnn: ConvGeom::channels_last keeps the weight [C_out, C_in, k...] and refuses a second layout") {
  // The autograd ops' form: N[D]HWC activations, the weight as for channels-first; the same
  // results as the explicit layout with the weight already [C_out, k..., C_in].
  ConvGeom gl = g3;
  gl.channels_last = true;
  const auto x = to_channels_last(pn::test::random_vector<float>(g3.N * g3.C_in * g3.in_volume(), 7), g3.N, g3.C_in,
                                  g3.in_volume());
  const auto w = pn::test::random_vector<float>(g3.C_out * g3.C_in * g3.k_volume(), 8);
  const auto dy = pn::test::random_vector<float>(g3.N * g3.C_out * g3.out_volume(), 9);
  DeviceArray<float> d_x(x), d_w(w), d_wl(to_channels_last(w, g3.C_out, g3.C_in, g3.k_volume())), d_dy(dy);
  DeviceArray<float> y_geom(dy.size()), y_explicit(dy.size()), dw_geom(w.size()), dw_explicit(w.size());
  pn::cuda::conv_forward(gl, d_x.get(), d_w.get(), y_geom.get(), nullptr);
  pn::cuda::conv_forward(g3, d_x.get(), d_wl.get(), y_explicit.get(), nullptr, ConvLayout::channels_last);
  CHECK(y_geom.to_host() == y_explicit.to_host());
  pn::cuda::conv_backward_weight(gl, d_x.get(), d_dy.get(), dw_geom.get(), nullptr);
  pn::cuda::conv_backward_weight(g3, d_x.get(), d_dy.get(), dw_explicit.get(), nullptr, ConvLayout::channels_last);
  // Backward-weight's algorithms may sum in another order from call to call (non-deterministic ones).
  pn::test::check_close(dw_geom.to_host(), from_channels_last(dw_explicit.to_host(), g3.C_out, g3.C_in, g3.k_volume()),
                        1e-5, 1e-5 * double(g3.N * g3.out_volume()), "channels-last weight gradient");
  CHECK_THROWS_WITH_AS(
      pn::cuda::conv_forward(gl, d_x.get(), d_w.get(), y_geom.get(), nullptr, ConvLayout::channels_last),
      doctest::Contains("the geometry is channels-last"), pn::cuda::CudaError);
}

#if defined(PN_CUDA_EMU)  // the emulator's own type rules
namespace {

bool mentions(const std::string& s, const std::string& what) { return s.find(what) != std::string::npos; }

// The forward workspace query's status for x, w, y of data type `data`, filter format `fmt`
// and convolution compute type `compute` (a 2-D 1x1 case).
cudnnStatus_t query(cudnnDataType_t data, cudnnDataType_t w_data, cudnnDataType_t compute,
                    cudnnTensorFormat_t fmt = CUDNN_TENSOR_NCHW) {
  pn::test::Handle h;
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t c = nullptr;
  PN_REQUIRE_CUDNN(cudnnCreateTensorDescriptor(&x));
  PN_REQUIRE_CUDNN(cudnnCreateTensorDescriptor(&y));
  PN_REQUIRE_CUDNN(cudnnCreateFilterDescriptor(&w));
  PN_REQUIRE_CUDNN(cudnnCreateConvolutionDescriptor(&c));
  const int dims[4] = {1, 2, 3, 3}, strides[4] = {18, 9, 3, 1}, wdims[4] = {2, 2, 1, 1};
  const int pad[2] = {0, 0}, stride[2] = {1, 1}, dil[2] = {1, 1};
  PN_REQUIRE_CUDNN(cudnnSetTensorNdDescriptor(x, data, 4, dims, strides));
  PN_REQUIRE_CUDNN(cudnnSetTensorNdDescriptor(y, data, 4, dims, strides));
  PN_REQUIRE_CUDNN(cudnnSetFilterNdDescriptor(w, w_data, fmt, 4, wdims));
  PN_REQUIRE_CUDNN(cudnnSetConvolutionNdDescriptor(c, 2, pad, stride, dil, CUDNN_CROSS_CORRELATION, compute));
  size_t bytes = 0;
  const cudnnStatus_t s = cudnnGetConvolutionForwardWorkspaceSize(h.h, x, w, c, y,
                                                                  CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, &bytes);
  (void)cudnnDestroyConvolutionDescriptor(c);
  (void)cudnnDestroyFilterDescriptor(w);
  (void)cudnnDestroyTensorDescriptor(y);
  (void)cudnnDestroyTensorDescriptor(x);
  return s;
}

}  // namespace

TEST_CASE("emulated cuDNN: the 16-bit data-type configurations, with reasons") {
  const std::function<std::string()> detail = [] { return pn::cuda::emu::last_error_detail(); };
  CHECK(query(CUDNN_DATA_BFLOAT16, CUDNN_DATA_BFLOAT16, CUDNN_DATA_FLOAT) == CUDNN_STATUS_SUCCESS);
  CHECK(query(CUDNN_DATA_HALF, CUDNN_DATA_HALF, CUDNN_DATA_FLOAT) == CUDNN_STATUS_SUCCESS);
  CHECK(query(CUDNN_DATA_HALF, CUDNN_DATA_HALF, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NHWC) == CUDNN_STATUS_SUCCESS);
  CHECK(query(CUDNN_DATA_BFLOAT16, CUDNN_DATA_BFLOAT16, CUDNN_DATA_BFLOAT16) == CUDNN_STATUS_NOT_SUPPORTED);
  CHECK(mentions(detail(), "is no supported configuration"));
  CHECK(query(CUDNN_DATA_FLOAT, CUDNN_DATA_FLOAT, CUDNN_DATA_HALF) == CUDNN_STATUS_NOT_SUPPORTED);
  CHECK(query(CUDNN_DATA_HALF, CUDNN_DATA_HALF, CUDNN_DATA_HALF) == CUDNN_STATUS_NOT_SUPPORTED);
  CHECK(mentions(detail(), "HALF_CONFIG) is legal in cuDNN but not emulated"));
  CHECK(query(CUDNN_DATA_HALF, CUDNN_DATA_BFLOAT16, CUDNN_DATA_FLOAT) == CUDNN_STATUS_BAD_PARAM);
  CHECK(mentions(detail(), "differ in data type"));
  CHECK(query(CUDNN_DATA_HALF, CUDNN_DATA_HALF, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW_VECT_C) ==
        CUDNN_STATUS_NOT_SUPPORTED);
  CHECK(mentions(detail(), "NCHW and NHWC filters only"));
}
#endif  // PN_CUDA_EMU
