// Parity of the CUDA elementwise kernels (kernels/cuda/elementwise.cu, fill_cast.cu) with
// the CPU reference, run under the emulator on sizes that are not multiples of the block
// (256) and larger than the capped grid (so grid-stride loops wrap). Tolerance: exact
// (bit for bit) under the emulator, where both sides evaluate the same kernels/math
// function with the same libm; 8 ulp on a GPU (tests/gpu builds these sources too).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "emu_util.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cuda/elementwise.h"

using pn::test::DeviceArray;
namespace math = pn::math;

namespace {

constexpr int64_t kN = 9000 + 37;  // > 4 SMs x 8 blocks x 256 threads: the grid-stride loop wraps

template <class T>
void check_unary_all() {
  const math::Unary ops[] = {math::Unary::Neg,        math::Unary::Exp,         math::Unary::Log,
                             math::Unary::Sqrt,       math::Unary::Abs,         math::Unary::Sign,
                             math::Unary::Tanh,       math::Unary::Sigmoid,     math::Unary::Relu,
                             math::Unary::LeakyRelu,  math::Unary::LeakyMask,   math::Unary::Clamp,
                             math::Unary::ClampMask,  math::Unary::PowScalar,   math::Unary::AddScalar,
                             math::Unary::MulScalar,  math::Unary::RsubScalar,  math::Unary::Square,
                             math::Unary::Reciprocal, math::Unary::Log1pExpNeg, math::Unary::GreaterScalar};
  // Signed inputs; Log, Sqrt and PowScalar get positive ones (their domain).
  const auto signed_x = pn::test::random_vector<T>(kN, 1, -4.0, 4.0);
  const auto positive_x = pn::test::random_vector<T>(kN, 2, 0.01, 4.0);
  for (math::Unary op : ops) {
    const bool positive = op == math::Unary::Log || op == math::Unary::Sqrt || op == math::Unary::PowScalar;
    const auto& x = positive ? positive_x : signed_x;
    const T p0 = op == math::Unary::Clamp || op == math::Unary::ClampMask ? T(-0.5) : T(0.3);
    const T p1 = T(1.25);
    std::vector<T> want(kN);
    pn::cpu::unary(op, x.data(), want.data(), kN, p0, p1);
    DeviceArray<T> d_x(x), d_y(kN);
    pn::cuda::unary(op, d_x.get(), d_y.get(), kN, p0, p1, nullptr);
    pn::test::check_same_math(d_y.to_host(), want, std::string("unary ") + math::unary_name(op));
  }
}

pn::kernels::BroadcastGeom geom(std::vector<int64_t> shape, std::vector<int64_t> sa, std::vector<int64_t> sb) {
  pn::kernels::BroadcastGeom g;
  g.ndim = static_cast<int>(shape.size());
  for (int d = 0; d < g.ndim; ++d) {
    g.shape[d] = shape[d];
    g.stride_a[d] = sa[d];
    g.stride_b[d] = sb[d];
  }
  return g;
}

template <class T>
void check_binary_all() {
  // [17,1,13] op [1,29,13]; [37,41] op [41] (row broadcast); same-shape [3,7,11,5]; per-channel
  // [2,8,64] op [1,8,1] and outer product [9,1] op [1,300] (float: rows of a multiple of 4 take
  // the 16-byte path).
  const pn::kernels::BroadcastGeom geoms[] = {geom({17, 29, 13}, {13, 0, 1}, {0, 13, 1}),
                                              geom({37, 41}, {41, 1}, {0, 1}),
                                              geom({3 * 7 * 11 * 5}, {1}, {1}),
                                              geom({2, 8, 64}, {512, 64, 1}, {0, 1, 0}),
                                              geom({9, 300}, {1, 0}, {0, 1})};
  const math::Binary ops[] = {math::Binary::Add, math::Binary::Sub, math::Binary::Mul, math::Binary::Div,
                              math::Binary::Max, math::Binary::Min, math::Binary::Pow};
  for (const auto& g : geoms) {
    int64_t na = 1, nb = 1;  // operand sizes: the extent reached through each stride set
    for (int d = 0; d < g.ndim; ++d) {
      na += (g.shape[d] - 1) * g.stride_a[d];
      nb += (g.shape[d] - 1) * g.stride_b[d];
    }
    const int64_t n = g.numel();
    for (math::Binary op : ops) {
      const bool positive = op == math::Binary::Pow;  // real powers need a positive base
      const auto a = pn::test::random_vector<T>(na, 3, positive ? 0.1 : -3.0, 3.0);
      const auto b = pn::test::random_vector<T>(nb, 4, positive ? -2.0 : 0.2, 3.0);
      std::vector<T> want(n);
      pn::cpu::binary(op, a.data(), b.data(), want.data(), g);
      DeviceArray<T> d_a(a), d_b(b), d_out(n);
      pn::cuda::binary(op, d_a.get(), d_b.get(), d_out.get(), g, nullptr);
      pn::test::check_same_math(d_out.to_host(), want,
                            std::string("binary ") + math::binary_name(op) + " over " + std::to_string(n));
    }
  }
}

}  // namespace

TEST_CASE("unary kernels match the CPU reference exactly (float, double)") {
  check_unary_all<float>();
  check_unary_all<double>();
}

TEST_CASE("broadcasting binary kernels match the CPU reference exactly (float, double)") {
  check_binary_all<float>();
  check_binary_all<double>();
}

TEST_CASE("where, fill and cast match the CPU reference exactly") {
  const int64_t n = 1000 + 37;
  auto cond = pn::test::random_vector<double>(n, 5, -1.0, 1.0);
  for (auto& c : cond) c = c > 0 ? 1.0 : 0.0;
  const auto a = pn::test::random_vector<double>(n, 6), b = pn::test::random_vector<double>(n, 7);
  std::vector<double> want(n);
  pn::cpu::where(cond.data(), a.data(), b.data(), want.data(), n);
  DeviceArray<double> d_c(cond), d_a(a), d_b(b), d_y(n);
  pn::cuda::where(d_c.get(), d_a.get(), d_b.get(), d_y.get(), n, nullptr);
  pn::test::check_same_math(d_y.to_host(), want, "where");

  std::vector<float> want_fill(n);
  pn::cpu::fill(want_fill.data(), n, 2.5f);
  DeviceArray<float> d_f(n);
  pn::cuda::fill(d_f.get(), n, 2.5f, nullptr);
  pn::test::check_same_math(d_f.to_host(), want_fill, "fill");

  std::vector<float> want_cast(n);
  pn::cpu::cast(a.data(), want_cast.data(), n);
  pn::cuda::cast(d_a.get(), d_f.get(), n, nullptr);
  pn::test::check_same_math(d_f.to_host(), want_cast, "cast double->float");
  std::vector<double> want_back(n);
  pn::cpu::cast(want_cast.data(), want_back.data(), n);
  pn::cuda::cast(d_f.get(), d_y.get(), n, nullptr);
  pn::test::check_same_math(d_y.to_host(), want_back, "cast float->double");
}
