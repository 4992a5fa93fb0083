// The elementwise kernels (kernels/cuda/elementwise.h) on bf16 / fp16 storage: every element
// widened to float, the same kernels/math function as float, one rounding back. Checked
// against the CPU reference in float on the widened inputs, rounded: bit for bit under the
// emulator (same libm); on a GPU (tests/gpu builds this file too) within one 16-bit ulp,
// since CUDA's libm may move a float result across a rounding boundary.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "emu_util.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/storage_types.h"

using pn::test::DeviceArray;
namespace math = pn::math;

namespace {

constexpr int64_t kN = 9000 + 37;  // the grid-stride loop wraps (as in test_elementwise)

template <class H>
std::vector<H> random_16bit(int64_t n, uint64_t seed, double lo, double hi) {
  std::vector<H> v;
  for (float x : pn::test::random_vector<float>(n, seed, lo, hi)) v.push_back(H(x));
  return v;
}
template <class H>
std::vector<float> widen(const std::vector<H>& v) {
  return std::vector<float>(v.begin(), v.end());
}

// got (16-bit) against want (float, rounded here): equal, or within one 16-bit ulp on a GPU.
template <class H>
int mismatches(const std::vector<H>& got, const std::vector<float>& want, const std::string& what) {
  const float ulp = std::is_same_v<H, __nv_bfloat16> ? std::ldexp(1.0f, -7) : std::ldexp(1.0f, -10);
  int bad = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const float w = static_cast<float>(H(want[i])), g = static_cast<float>(got[i]);
    const bool ok = std::isnan(w) ? std::isnan(g)
                                  : (pn::test::kEmulated ? g == w : std::fabs(g - w) <= ulp * std::fabs(w) + 1e-30f);
    if (!ok && bad++ < 3) MESSAGE(what << "[" << i << "] = " << g << ", want " << w);
  }
  return bad;
}

template <class H>
void check_unary_all() {
  const math::Unary ops[] = {math::Unary::Neg,     math::Unary::Exp,       math::Unary::Log,
                             math::Unary::Sqrt,    math::Unary::Tanh,      math::Unary::Sigmoid,
                             math::Unary::Relu,    math::Unary::LeakyRelu, math::Unary::Clamp,
                             math::Unary::Square,  math::Unary::PowScalar, math::Unary::MulScalar,
                             math::Unary::Reciprocal};
  const auto signed_x = random_16bit<H>(kN, 1, -4.0, 4.0), positive_x = random_16bit<H>(kN, 2, 0.01, 4.0);
  for (math::Unary op : ops) {
    const bool positive = op == math::Unary::Log || op == math::Unary::Sqrt || op == math::Unary::PowScalar;
    const auto& x = positive ? positive_x : signed_x;
    const float p0 = op == math::Unary::Clamp ? -0.5f : 0.3f, p1 = 1.25f;  // not 16-bit values: kept in float
    const std::vector<float> xf = widen(x);
    std::vector<float> want(kN);
    pn::cpu::unary(op, xf.data(), want.data(), kN, p0, p1);
    DeviceArray<H> d_x(x), d_y(kN);
    pn::cuda::unary(op, d_x.get(), d_y.get(), kN, p0, p1, nullptr);
    CHECK(mismatches(d_y.to_host(), want, std::string("unary ") + math::unary_name(op)) == 0);
  }
}

template <class H>
void check_binary_and_where() {
  pn::kernels::BroadcastGeom g;  // [37, 41] op [41]: row broadcast
  g.ndim = 2;
  g.shape[0] = 37, g.shape[1] = 41;
  g.stride_a[0] = 41, g.stride_a[1] = 1;
  g.stride_b[0] = 0, g.stride_b[1] = 1;
  const int64_t n = 37 * 41;
  for (math::Binary op : {math::Binary::Add, math::Binary::Mul, math::Binary::Div, math::Binary::Max}) {
    const auto a = random_16bit<H>(n, 3, -3.0, 3.0), b = random_16bit<H>(41, 4, 0.2, 3.0);
    const std::vector<float> af = widen(a), bf = widen(b);
    std::vector<float> want(n);
    pn::cpu::binary(op, af.data(), bf.data(), want.data(), g);
    DeviceArray<H> d_a(a), d_b(b), d_out(n);
    pn::cuda::binary(op, d_a.get(), d_b.get(), d_out.get(), g, nullptr);
    CHECK(mismatches(d_out.to_host(), want, std::string("binary ") + math::binary_name(op)) == 0);
  }
  auto cond = random_16bit<H>(kN, 5, -1.0, 1.0);
  for (int64_t i = 0; i < kN; i += 3) cond[i] = H(0.0f);
  cond[1] = H(-0.0f);  // negative zero is false too
  const auto a = random_16bit<H>(kN, 6, -2.0, 2.0), b = random_16bit<H>(kN, 7, -2.0, 2.0);
  DeviceArray<H> d_c(cond), d_a(a), d_b(b), d_y(kN);
  pn::cuda::where(d_c.get(), d_a.get(), d_b.get(), d_y.get(), kN, nullptr);
  const auto y = d_y.to_host();
  int wrong = 0;
  for (int64_t i = 0; i < kN; ++i)
    wrong += static_cast<float>(y[i]) != static_cast<float>(static_cast<float>(cond[i]) != 0.0f ? a[i] : b[i]);
  CHECK(wrong == 0);
}

}  // namespace

TEST_CASE("elementwise kernels on bf16 / fp16: float math, one rounding, against the CPU reference") {
  SUBCASE("bf16") {
    check_unary_all<__nv_bfloat16>();
    check_binary_and_where<__nv_bfloat16>();
  }
  SUBCASE("fp16") {
    check_unary_all<__half>();
    check_binary_and_where<__half>();
  }
}
