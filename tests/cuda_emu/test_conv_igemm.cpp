// Our implicit-GEMM convolution as production runs it (kernels/cuda/conv_igemm.h, chosen in
// dnn.cpp by LibraryOptions::conv = implicit_gemm, i.e. run.conv): the three passes through the
// dnn.h entry points match the CPU reference on awkward geometries without a single cuDNN
// launch; backward weight's split reduction gives the same bits twice; bf16 / fp16 passes run
// on tensor cores within their rounding of the CPU reference, with no cuDNN launch either;
// channels-last convolutions stay on cuDNN; a bad run.conv value is refused naming the key and
// the values.
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
      ConvGeom::make(2, 3, 5, {5, 7, 6}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}),     // 3-D padded, split dw
      ConvGeom::make(1, 4, 33, {7, 5, 11}, {3, 3, 3}, {2, 2, 2}, {0, 1, 1}),   // stride 2, ragged tiles of C_out
      ConvGeom::make(3, 2, 4, {1, 13, 10}, {1, 3, 3}, {1, 2, 1}, {0, 1, 1}),   // 2-D, mixed stride
      ConvGeom::make(1, 35, 3, {4, 5, 6}, {2, 1, 3}, {3, 1, 2}, {1, 0, 2}),    // stride > k, C_in over a tile
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
  const ConvGeom g = ConvGeom::make(2, 3, 4, {4, 6, 5}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1});
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

// The three 16-bit passes on tensor cores against the CPU reference on the same rounded
// inputs: the products are exact in float, so they differ by the float sums' order, within
// R 2^-24 S (R terms, S the same pass on |x|, |w|, |dy|), plus the output's one rounding.
template <class T>
std::vector<float> rounded(std::vector<float> v, std::vector<T>& dev) {
  for (float& f : v) dev.push_back(T(f)), f = float(dev.back());
  return v;
}

template <class T>
void check_within(const std::vector<T>& got, const std::vector<float>& want, const std::vector<float>& sum_abs,
                  double terms, double half_ulp, const char* pass) {
  CAPTURE(pass);
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i)
    REQUIRE(std::fabs(float(got[i]) - want[i]) <= terms * std::ldexp(1.0, -24) * sum_abs[i] + half_ulp * std::fabs(want[i]));
}

template <class T>
void check_passes_16bit(const ConvGeom& g, uint64_t seed, double half_ulp) {
  namespace ref = pn::cpu::reference;
  const int64_t xs = g.N * g.C_in * g.in_volume(), ys = g.N * g.C_out * g.out_volume(), ws = g.C_out * g.col_rows();
  std::vector<T> xb, wb, dyb;
  const auto x = rounded(pn::test::random_vector<float>(xs, seed), xb);
  const auto w = rounded(pn::test::random_vector<float>(ws, seed + 1), wb);
  const auto dy = rounded(pn::test::random_vector<float>(ys, seed + 2), dyb);
  auto abs_of = [](std::vector<float> v) { for (float& f : v) f = std::fabs(f); return v; };
  std::vector<float> y(ys), dx(xs), dw(ws), sy(ys), sdx(xs), sdw(ws);
  ref::conv_forward(g, x.data(), w.data(), y.data());
  ref::conv_backward_input(g, dy.data(), w.data(), dx.data());
  ref::conv_backward_weight(g, x.data(), dy.data(), dw.data());
  ref::conv_forward(g, abs_of(x).data(), abs_of(w).data(), sy.data());
  ref::conv_backward_input(g, abs_of(dy).data(), abs_of(w).data(), sdx.data());
  ref::conv_backward_weight(g, abs_of(x).data(), abs_of(dy).data(), sdw.data());
  DeviceArray<T> d_x(xb), d_w(wb), d_dy(dyb), d_y(ys), d_dx(xs), d_dw(ws);
  const int64_t before = cudnn_launches();
  pn::cuda::conv_forward(g, d_x.get(), d_w.get(), d_y.get(), nullptr);
  pn::cuda::conv_backward_input(g, d_dy.get(), d_w.get(), d_dx.get(), nullptr);
  pn::cuda::conv_backward_weight(g, d_x.get(), d_dy.get(), d_dw.get(), nullptr);
  if (kCountsLaunches) CHECK(cudnn_launches() == before);  // no cuDNN: ours, on tensor cores
  check_within(d_y.to_host(), y, sy, double(g.col_rows()), half_ulp, "forward");
  check_within(d_dx.to_host(), dx, sdx, double(g.C_out * g.k_volume()), half_ulp, "backward input");
  check_within(d_dw.to_host(), dw, sdw, double(g.N * g.out_volume()), half_ulp, "backward weight");
}

TEST_CASE("run.conv = implicit_gemm: bf16 / fp16 convolutions on tensor cores; channels-last stays on cuDNN") {
  const pn::cuda::ScopedLibraryOptions opts(with_conv(ConvImpl::implicit_gemm));
  const ConvGeom geoms[] = {ConvGeom::make(2, 3, 5, {5, 7, 9}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}),
                            ConvGeom::make(1, 17, 35, {2, 3, 7}, {1, 1, 1}, {1, 1, 1}, {0, 0, 0}),
                            ConvGeom::make(1, 4, 33, {6, 5, 11}, {3, 3, 3}, {2, 2, 2}, {0, 1, 1})};
  CHECK(pn::cuda::conv_igemm_weight_splits(geoms[0]) > 1);  // the split path in 16 bits too
  for (const ConvGeom& g : geoms) check_passes_16bit<__nv_bfloat16>(g, 21, std::ldexp(1.0, -8));  // half an ulp
  check_passes_16bit<__half>(geoms[0], 23, std::ldexp(1.0, -11));  // the emulated mma is slow: one geometry
  const ConvGeom g = geoms[0];
  DeviceArray<float> f_x(pn::test::random_vector<float>(g.N * g.C_in * g.in_volume(), 3));
  DeviceArray<float> f_w(pn::test::random_vector<float>(g.C_out * g.col_rows(), 4)), f_y(g.N * g.C_out * g.out_volume());
  const int64_t before = cudnn_launches();
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
