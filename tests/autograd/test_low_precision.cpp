// The 16-bit storage types (kernels/math/low_precision.h) and the tensors that hold them:
// conversions against known bit patterns and an independent oracle (the two float
// neighbours, chosen by distance in double; GCC's _Float16 for float16), casts with
// gradients, the ops that take them (conv, gemm; the elementwise, pooling and concatenation
// table of tests/ops16_cases.h) against float32, and the errors of the ops that do not and of
// mixed dtypes.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "autograd/ops/conv.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/linalg.h"
#include "autograd/ops/reduce.h"
#include "kernels/math/low_precision.h"
#include "norm16_cases.h"
#include "ops16_cases.h"
#include "test_util.h"

using namespace pn;
using math::bfloat16;
using math::float16;

namespace {

uint16_t bf(float f) { return math::float_to_bf16_bits(f); }
uint16_t hf(float f) { return math::float_to_fp16_bits(f); }
float from_bits(uint32_t u) { return math::bits_float(u); }

// The representable neighbours lo <= f <= hi of f in a 16-bit format (decoded by `dec`),
// and whether `got` is the nearest one, ties to the even pattern.
template <class Decode>
bool is_nearest_even(float f, uint16_t got, Decode dec) {
  const double v = f, g = dec(got);
  // Neighbour patterns one step either way (same sign).
  const double a = dec(static_cast<uint16_t>(got + 1)), b = dec(static_cast<uint16_t>(got - 1));
  const double dg = std::abs(v - g);
  for (double n : {a, b}) {
    if (std::isnan(n) || std::isinf(n)) continue;
    if (std::abs(v - n) < dg) return false;
    if (std::abs(v - n) == dg && (got & 1)) return false;  // a tie must land on the even pattern
  }
  return true;
}

}  // namespace

TEST_CASE("bfloat16 conversion: known bit patterns, ties to even, inf and NaN") {
  CHECK(bf(1.0f) == 0x3F80);
  CHECK(bf(-2.0f) == 0xC000);
  CHECK(bf(0.0f) == 0x0000);
  CHECK(bf(-0.0f) == 0x8000);
  CHECK(bf(3.140625f) == 0x4049);
  // 1 + 2^-8 is halfway between 0x3F80 and 0x3F81: ties to the even 0x3F80; 1 + 3*2^-8
  // is halfway between 0x3F81 and 0x3F82: to 0x3F82. Just above a tie rounds up.
  CHECK(bf(from_bits(0x3F808000)) == 0x3F80);
  CHECK(bf(from_bits(0x3F818000)) == 0x3F82);
  CHECK(bf(from_bits(0x3F808001)) == 0x3F81);
  CHECK(bf(from_bits(0x3F807FFF)) == 0x3F80);
  CHECK(bf(std::numeric_limits<float>::infinity()) == 0x7F80);
  CHECK(bf(-std::numeric_limits<float>::infinity()) == 0xFF80);
  CHECK(bf(from_bits(0x7F7FFFFF)) == 0x7F80);  // FLT_MAX rounds to inf
  const uint16_t nan = bf(std::numeric_limits<float>::quiet_NaN());
  CHECK(((nan & 0x7F80) == 0x7F80 && (nan & 0x7F) != 0));
  CHECK(bf(from_bits(0x7F800001)) != 0x7F80);  // a NaN whose payload is in the low bits stays NaN
  CHECK(std::isnan(math::bf16_bits_to_float(bf(from_bits(0xFF800001)))));
  CHECK(math::bf16_bits_to_float(0x3F80) == 1.0f);
  CHECK(math::bf16_bits_to_float(0x0001) == from_bits(0x00010000));  // subnormals pass through
}

TEST_CASE("bfloat16 conversion: nearest-even against an independent oracle over the float range") {
  int bad = 0;
  for (uint32_t hi = 0; hi < 0x7F80; ++hi)  // every finite positive bf16 interval
    for (uint32_t lo : {0x0000u, 0x0001u, 0x7FFFu, 0x8000u, 0x8001u, 0xFFFFu, 0x4321u}) {
      const float f = from_bits((hi << 16) | lo);
      const uint16_t got = bf(f);
      if (std::isinf(math::bf16_bits_to_float(got))) continue;  // overflow: checked above
      if (!is_nearest_even(f, got, math::bf16_bits_to_float)) ++bad;
      if (bf(-f) != (got | 0x8000)) ++bad;
    }
  CHECK(bad == 0);
}

TEST_CASE("float16 conversion: known bit patterns, subnormals, overflow to inf") {
  CHECK(hf(1.0f) == 0x3C00);
  CHECK(hf(-2.0f) == 0xC000);
  CHECK(hf(65504.0f) == 0x7BFF);
  CHECK(hf(65519.0f) == 0x7BFF);  // below the midpoint to the next power
  CHECK(hf(65520.0f) == 0x7C00);  // the tie rounds to even, which is inf
  CHECK(hf(1e6f) == 0x7C00);
  CHECK(hf(-1e6f) == 0xFC00);
  CHECK(hf(std::ldexp(1.0f, -14)) == 0x0400);  // smallest normal
  CHECK(hf(std::ldexp(1.0f, -24)) == 0x0001);  // smallest subnormal
  CHECK(hf(std::ldexp(1.0f, -25)) == 0x0000);  // a tie between 0 and 2^-24: even is 0
  CHECK(hf(std::ldexp(1.5f, -25)) == 0x0001);
  CHECK(hf(std::ldexp(3.0f, -25)) == 0x0002);  // 1.5 units: tie between 1 and 2, even 2
  CHECK(hf(std::ldexp(1023.5f, -24)) == 0x0400);  // rounds up out of the subnormals
  CHECK(hf(1.0f + std::ldexp(1.0f, -11)) == 0x3C00);  // tie to even
  CHECK(hf(1.0f + 3 * std::ldexp(1.0f, -11)) == 0x3C02);
  CHECK(math::fp16_bits_to_float(0x0001) == std::ldexp(1.0f, -24));
  CHECK(math::fp16_bits_to_float(0x8400) == -std::ldexp(1.0f, -14));
  CHECK(std::isinf(math::fp16_bits_to_float(0x7C00)));
  CHECK(std::isnan(math::fp16_bits_to_float(hf(std::numeric_limits<float>::quiet_NaN()))));
  CHECK(std::isnan(math::fp16_bits_to_float(hf(from_bits(0x7F800001)))));
}

#if defined(__FLT16_MAX__)
TEST_CASE("float16 conversion agrees with the compiler's _Float16, both ways") {
  int bad = 0;
  for (uint32_t h = 0; h < 0x10000; ++h) {  // every pattern to float
    _Float16 c;
    const uint16_t b = static_cast<uint16_t>(h);
    std::memcpy(&c, &b, 2);
    const float want = static_cast<float>(c), got = math::fp16_bits_to_float(b);
    if (!(std::isnan(want) ? std::isnan(got) : std::memcmp(&want, &got, 4) == 0)) ++bad;
  }
  for (uint32_t hi = 0; hi < 0x80000; ++hi)  // floats: every top-19-bit prefix, several tails
    for (uint32_t lo : {0x0FFFu, 0x1000u, 0x1001u, 0x0ABCu}) {  // around the rounding midpoint, and inside
      const float f = from_bits((hi << 13) | lo);
      if (std::isnan(f)) continue;
      const _Float16 c = static_cast<_Float16>(f);
      uint16_t want;
      std::memcpy(&want, &c, 2);
      if (hf(f) != want) ++bad;
    }
  CHECK(bad == 0);
}
#endif

TEST_CASE("low-precision tensors: dtype facts, casts with gradients, fills") {
  CHECK(dtype_size(DType::BFloat16) == 2);
  CHECK(dtype_size(DType::Float16) == 2);
  CHECK(std::string(dtype_name(DType::BFloat16)) == "bfloat16");
  CHECK(std::string(dtype_name(DType::Float16)) == "float16");
  Tensor x = Tensor::from_vector(std::vector<double>{1.0, 1.00390625, 65520.0, -3.0}, {4}).requires_grad_();
  Tensor h = x.to(DType::Float16);
  CHECK(h.dtype() == DType::Float16);
  CHECK(h.to_vector() == std::vector<double>{1.0, 1.00390625, INFINITY, -3.0});
  Tensor b = x.to(DType::BFloat16);
  CHECK(b.to_vector() == std::vector<double>{1.0, 1.0, 65536.0, -3.0});  // 1 + 2^-8 is a tie to even
  CHECK(b.to(DType::Float16).to_vector() == std::vector<double>{1.0, 1.0, INFINITY, -3.0});
  // d/dx sum(w * x.to(bf16).to(f32)) = w rounded to bf16 (the gradient is cast too).
  Tensor w = Tensor::from_vector(std::vector<double>{1.00390625, 2.0, 3.0, 0.5}, {4});
  sum(mul(b.to(DType::Float32), w)).backward();
  CHECK(x.grad().dtype() == DType::Float32);
  CHECK(x.grad().to_vector() == std::vector<double>{1.0, 2.0, 3.0, 0.5});
  CHECK(Tensor::full({3}, 0.1, DType::BFloat16).to_vector() == std::vector<double>(3, double(bfloat16(0.1f))));
  CHECK(Tensor::zeros({2}, DType::Float16).to_vector() == std::vector<double>{0.0, 0.0});
}

TEST_CASE("low-precision tensors: conv and gemm accumulate in float32 and round once") {
  Generator gen(7);
  Tensor x = Tensor::randn({2, 3, 4, 5, 6}, gen), w = Tensor::randn({4, 3, 3, 3, 3}, gen);
  for (DType t : {DType::BFloat16, DType::Float16}) {
    CAPTURE(dtype_name(t));
    // Reference: the same rounded operands in float32, the result rounded once.
    Tensor xr = x.to(t).to(DType::Float32), wr = w.to(t).to(DType::Float32);
    Tensor want = conv(xr, wr, {}, {1}, {1}).to(t).to(DType::Float32);
    Tensor got = conv(x.to(t), w.to(t), {}, {1}, {1});
    CHECK(got.dtype() == t);
    // One rounding of a float32 sum: at most one unit in the last place of the format apart.
    const double ulp = t == DType::BFloat16 ? 1.0 / 128 : 1.0 / 1024;
    auto g = got.to_vector(), wv = want.to_vector();
    double worst = 0;
    for (size_t i = 0; i < g.size(); ++i) worst = std::max(worst, std::abs(g[i] - wv[i]) / std::max(1.0, std::abs(wv[i])));
    CHECK(worst <= 2 * ulp);
    Tensor a = Tensor::randn({5, 7}, gen), m = Tensor::randn({7, 3}, gen);
    Tensor mm = matmul(a.to(t), m.to(t), false, false);
    Tensor mm_want = matmul(a.to(t).to(DType::Float32), m.to(t).to(DType::Float32)).to(t);
    auto mg = mm.to_vector(), mw = mm_want.to_vector();
    for (size_t i = 0; i < mg.size(); ++i) CHECK(std::abs(mg[i] - mw[i]) <= 2 * ulp * std::max(1.0, std::abs(mw[i])));
  }
}

TEST_CASE("low-precision tensors: ops without a kernel name the op, the dtype and the fix") {
  Generator gen(3);
  try {
    (void)Tensor::randn({3}, gen, DType::BFloat16);
    FAIL("a normal fill in bfloat16 did not throw");
  } catch (const Error& e) {
    const std::string m = e.what();
    CHECK(m.find("fill_normal") != std::string::npos);
    CHECK(m.find("bfloat16") != std::string::npos);
    CHECK(m.find("Tensor::to(DType::Float32)") != std::string::npos);
    CHECK(m.find("autocast") != std::string::npos);
  }
  CHECK_THROWS_WITH_AS((void)Tensor::rand({3}, gen, DType::Float16), doctest::Contains("fill_uniform: no float16"), Error);
}

TEST_CASE("low-precision tensors: a 16-bit operand never meets a float32 one silently") {
  const Tensor h = Tensor::ones({2, 3}, DType::BFloat16), f = Tensor::ones({2, 3});
  CHECK_THROWS_WITH_AS((void)add(h, f), doctest::Contains("add: dtype mismatch between bfloat16[2, 3]"), Error);
  CHECK_THROWS_WITH_AS((void)mul(f, h), doctest::Contains("cast one operand to the other's dtype (Tensor::to)"), Error);
  CHECK_THROWS_WITH_AS((void)concat({h, f}, 1), doctest::Contains("concat: dtype mismatch"), Error);
}

TEST_CASE("16-bit ops on the CPU (the ops16 table): the float32 op on the rounded inputs, rounded once") {
  Generator gen(1801);
  for (DType t : {DType::BFloat16, DType::Float16}) {
    for (const test::Op16Case& c : test::op16_cases()) {
      INFO((std::string(dtype_name(t)) + " " + c.name));
      std::vector<Tensor> x16, xr;
      for (const Tensor& x : test::op16_inputs(c, gen)) x16.push_back(x.to(t)), xr.push_back(x16.back().to(DType::Float32));
      const auto gy = [t](DType as) {
        return [t, as](const Shape& s) {
          Generator g(77);
          return Tensor::randn(s, g).to(t).to(as);
        };
      };
      const test::Op16Result h = test::run_op16_case(c, x16, gy(t));
      const test::Op16Result f = test::run_op16_case(c, xr, gy(DType::Float32));
      REQUIRE(h.y.dtype() == t);
      // Forward: the same float math on the same values, one rounding: bit for bit.
      CHECK(h.y.to_vector() == f.y.to(t).to_vector());
      for (size_t i = 0; i < h.dx.size(); ++i) {
        INFO("input " << i);
        REQUIRE(h.dx[i].dtype() == t);
        if (c.backward_ulps == 0) CHECK(h.dx[i].to_vector() == f.dx[i].to(t).to_vector());
        else CHECK(test::scaled_diff(h.dx[i], f.dx[i]) <= c.backward_ulps * test::ulp16(t));
      }
    }
  }
}
