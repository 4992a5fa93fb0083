// Our implicit-GEMM convolution as production runs it (kernels/cuda/conv_igemm.h, chosen in
// dnn.cpp by LibraryOptions::conv = implicit_gemm, i.e. run.conv): the three passes through the
// dnn.h entry points match the CPU reference on awkward geometries without a single cuDNN
// launch; backward weight's split reduction gives the same bits twice; 16-bit forward passes
// run on tensor cores (conv_igemm_mma.cu) within their rounding of the CPU reference, their
// backward passes and channels-last convolutions stay on cuDNN; a bad run.conv value is refused
// naming the key and the values.
// Also built into tests/gpu's test_gpu_kernels (the real kernels against the CPU); the cuDNN
// launch counts are the emulator's, so those checks run under the emulator only.
#include <doctest/doctest.h>

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "emu_util.h"
#include "kernels/cpu/conv_reference.h"
#include "kernels/cuda/conv_igemm.h"
#include "kernels/cuda/dnn.h"
#include "kernels/cuda/library_options.h"

using pn::cuda::ConvImpl;
using pn::kernels::ConvGeom;
using pn::test::DeviceArray;

namespace {

ConvGeom conv_geom(int64_t n, int64_t cin, int64_t cout, std::vector<int64_t> in, std::vector<int64_t> k,
                   std::vector<int64_t> stride, std::vector<int64_t> pad) {
  ConvGeom g;
  g.N = n, g.C_in = cin, g.C_out = cout;
  for (int d = 0; d < 3; ++d) {
    g.in[d] = in[d], g.k[d] = k[d], g.stride[d] = stride[d], g.pad[d] = pad[d];
    g.out[d] = ConvGeom::out_size(in[d], k[d], stride[d], pad[d]);
  }
  return g;
}

#if defined(PN_CUDA_EMU)
constexpr bool kCountsLaunches = true;
// Every cuDNN convolution launch so far, all directions and algorithms (the emulator's counters).
int64_t cudnn_launches() {
  using pn::cuda::emu::ConvDirection;
  int64_t n = 0;
  for (ConvDirection d : {ConvDirection::Forward, ConvDirection::BackwardData, ConvDirection::BackwardFilter})
    for (int algo = 0; algo < 8; ++algo) n += pn::cuda::emu::cudnn_launches(d, algo);
  return n;
}
#else
constexpr bool kCountsLaunches = false;  // the real cuDNN counts nothing for us
int64_t cudnn_launches() { return 0; }
#endif

pn::cuda::LibraryOptions with_conv(ConvImpl impl) {
  pn::cuda::LibraryOptions o;
  o.conv = impl;
  return o;
}

struct Results {
  std::vector<float> y, dx, dw;
};

// The three passes through dnn.h (as the CUDA backend calls them) on seeded inputs.
Results run_passes(const ConvGeom& g, uint64_t seed, Results* want) {
  const int64_t xs = g.N * g.C_in * g.in_volume(), ys = g.N * g.C_out * g.out_volume(), ws = g.C_out * g.col_rows();
  const auto x = pn::test::random_vector<float>(xs, seed), w = pn::test::random_vector<float>(ws, seed + 1);
  const auto dy = pn::test::random_vector<float>(ys, seed + 2);
  if (want) {
    want->y.resize(ys), want->dx.resize(xs), want->dw.resize(ws);
    pn::cpu::reference::conv_forward(g, x.data(), w.data(), want->y.data());
    pn::cpu::reference::conv_backward_input(g, dy.data(), w.data(), want->dx.data());
    pn::cpu::reference::conv_backward_weight(g, x.data(), dy.data(), want->dw.data());
  }
  DeviceArray<float> d_x(x), d_w(w), d_dy(dy), d_y(ys), d_dx(xs), d_dw(ws);
  pn::cuda::conv_forward(g, d_x.get(), d_w.get(), d_y.get(), nullptr);
  pn::cuda::conv_backward_input(g, d_dy.get(), d_w.get(), d_dx.get(), nullptr);
  pn::cuda::conv_backward_weight(g, d_x.get(), d_dy.get(), d_dw.get(), nullptr);
  return {d_y.to_host(), d_dx.to_host(), d_dw.to_host()};
}

}  // namespace

TEST_CASE("run.conv = implicit_gemm: our three passes match the CPU reference, with no cuDNN launch") {
  const ConvGeom geoms[] = {
      conv_geom(2, 3, 5, {5, 7, 6}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}),     // 3-D padded, split dw
      conv_geom(1, 4, 33, {7, 5, 11}, {3, 3, 3}, {2, 2, 2}, {0, 1, 1}),   // stride 2, ragged tiles of C_out
      conv_geom(3, 2, 4, {1, 13, 10}, {1, 3, 3}, {1, 2, 1}, {0, 1, 1}),   // 2-D, mixed stride
      conv_geom(1, 35, 3, {4, 5, 6}, {2, 1, 3}, {3, 1, 2}, {1, 0, 2}),    // stride > k, C_in over a tile
  };
  const pn::cuda::ScopedLibraryOptions opts(with_conv(ConvImpl::implicit_gemm));
  uint64_t seed = 700;
  for (const ConvGeom& g : geoms) {
    CAPTURE(seed);
    const int64_t before = cudnn_launches();
    Results want;
    const Results got = run_passes(g, seed, &want);
    seed += 10;
    if (kCountsLaunches) CHECK(cudnn_launches() == before);
    // Terms of magnitude <= 4 (inputs in [-2, 2]): float sums in another order than the CPU's.
    const double fwd = double(g.col_rows()), bwd = double(g.C_out * g.k_volume()), wgt = double(g.N * g.out_volume());
    pn::test::check_close(got.y, want.y, 0, 1e-5 * fwd, "implicit GEMM forward");
    pn::test::check_close(got.dx, want.dx, 0, 1e-5 * bwd, "implicit GEMM backward data");
    pn::test::check_close(got.dw, want.dw, 0, 1e-5 * wgt, "implicit GEMM backward weight");
  }
  CHECK(pn::cuda::conv_igemm_weight_splits(geoms[0]) > 1);  // the split path ran
}

TEST_CASE("run.conv = implicit_gemm sums in a fixed order; cudnn (the default) goes to cuDNN") {
  const ConvGeom g = conv_geom(2, 3, 4, {4, 6, 5}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1});
  REQUIRE(pn::cuda::conv_igemm_weight_splits(g) > 1);
  Results first, second;
  {
    const pn::cuda::ScopedLibraryOptions opts(with_conv(ConvImpl::implicit_gemm));
    first = run_passes(g, 11, nullptr);
    second = run_passes(g, 11, nullptr);
  }
  CHECK(first.y == second.y);
  CHECK(first.dx == second.dx);
  CHECK(first.dw == second.dw);
  CHECK(pn::cuda::library_options().conv == ConvImpl::cudnn);
  const int64_t before = cudnn_launches();
  (void)run_passes(g, 11, nullptr);
  if (kCountsLaunches) CHECK(cudnn_launches() == before + 3);
}

// A 16-bit forward pass on tensor cores (conv_igemm_mma.cu) against the CPU reference on the
// same rounded inputs: the products are exact in float, so the two differ by the float sums'
// order (within 2 R^2 2^-24 for R = C_in k^3 terms of |w x| <= 1) plus y's one rounding.
template <class T>
void check_forward_16bit(const ConvGeom& g, uint64_t seed, double half_ulp) {
  auto round = [](std::vector<float> v, std::vector<T>& dev) {
    for (float& f : v) dev.push_back(T(f)), f = float(dev.back());
    return v;
  };
  std::vector<T> xb, wb;
  const auto xf = round(pn::test::random_vector<float>(g.N * g.C_in * g.in_volume(), seed), xb);
  const auto wf = round(pn::test::random_vector<float>(g.C_out * g.col_rows(), seed + 1), wb);
  std::vector<float> want(size_t(g.N * g.C_out * g.out_volume()));
  pn::cpu::reference::conv_forward(g, xf.data(), wf.data(), want.data());
  DeviceArray<T> d_x(xb), d_w(wb), d_y(static_cast<int64_t>(want.size()));
  const int64_t before = cudnn_launches();
  pn::cuda::conv_forward(g, d_x.get(), d_w.get(), d_y.get(), nullptr);
  if (kCountsLaunches) CHECK(cudnn_launches() == before);  // no cuDNN: ours, on tensor cores
  const auto got = d_y.to_host();
  const double r = static_cast<double>(g.col_rows()), sums = 2 * r * r * std::ldexp(1.0, -24);
  for (size_t i = 0; i < want.size(); ++i)
    REQUIRE(std::fabs(float(got[i]) - want[i]) <= sums + half_ulp * std::fabs(want[i]) + 1e-30);
}

TEST_CASE("run.conv = implicit_gemm: bf16 / fp16 forward passes on tensor cores; their backward and channels-last "
          "stay on cuDNN") {
  const pn::cuda::ScopedLibraryOptions opts(with_conv(ConvImpl::implicit_gemm));
  for (const ConvGeom& g : {conv_geom(2, 3, 5, {5, 7, 9}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}),
                            conv_geom(1, 17, 35, {2, 3, 7}, {1, 1, 1}, {1, 1, 1}, {0, 0, 0}),
                            conv_geom(1, 4, 33, {6, 5, 11}, {3, 3, 3}, {2, 2, 2}, {0, 1, 1})}) {
    check_forward_16bit<__nv_bfloat16>(g, 21, std::ldexp(1.0, -8));  // bf16: 8 bits, half an ulp
    check_forward_16bit<__half>(g, 23, std::ldexp(1.0, -11));
  }
  const ConvGeom g = conv_geom(1, 2, 3, {3, 4, 5}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1});
  const std::vector<__nv_bfloat16> xb(size_t(g.N * g.C_in * g.in_volume()), __float2bfloat16(0.5f));
  const std::vector<__nv_bfloat16> yb(size_t(g.N * g.C_out * g.out_volume()), __float2bfloat16(0.25f));
  DeviceArray<__nv_bfloat16> b_x(xb), b_dy(yb), b_dw(g.C_out * g.col_rows());
  int64_t before = cudnn_launches();
  pn::cuda::conv_backward_weight(g, b_x.get(), b_dy.get(), b_dw.get(), nullptr);
  if (kCountsLaunches) CHECK(cudnn_launches() == before + 1);
  DeviceArray<float> f_x(pn::test::random_vector<float>(g.N * g.C_in * g.in_volume(), 3));
  DeviceArray<float> f_w(pn::test::random_vector<float>(g.C_out * g.col_rows(), 4)), f_y(b_dy.size());
  before = cudnn_launches();
  pn::cuda::conv_forward(g, f_x.get(), f_w.get(), f_y.get(), nullptr, pn::cuda::ConvLayout::channels_last);
  if (kCountsLaunches) CHECK(cudnn_launches() == before + 1);
}

TEST_CASE("run.conv: a bad value is refused naming the key and the accepted values") {
  CHECK(pn::cuda::parse_conv_impl("implicit_gemm", "run.conv") == ConvImpl::implicit_gemm);
  CHECK(pn::cuda::parse_conv_impl("cudnn", "run.conv") == ConvImpl::cudnn);
  try {
    (void)pn::cuda::parse_conv_impl("winograd", "run.conv");
    FAIL("accepted");
  } catch (const std::invalid_argument& e) {
    const std::string m = e.what();
    CHECK(m.find("run.conv = \"winograd\"") != std::string::npos);
    CHECK(m.find("\"cudnn\"") != std::string::npos);
    CHECK(m.find("\"implicit_gemm\"") != std::string::npos);
  }
}
