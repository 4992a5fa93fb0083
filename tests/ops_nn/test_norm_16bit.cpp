// Batch and instance norm (plain and fused with the activation) on bfloat16 / float16 tensors
// on the CPU (mixed precision: x, y, dy, dx in 16 bits; statistics, gamma, beta, running
// statistics and their gradients float32; arithmetic in double / float): bit for bit the
// float32 op on the same (16-bit-representable) values with its results rounded once, within
// a stated tolerance of the float32 op on the unrounded inputs, and the dtypes of every result.
#include <doctest/doctest.h>

#include <string>

#include "autograd/generator.h"
#include "norm16_cases.h"

using namespace pn;

namespace {

Tensor float32_input(const Shape& s, Generator& gen, double scale, double shift) {
  Tensor t = Tensor::randn(s, gen, DType::Float64);
  double* p = t.data<double>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = p[i] * scale + shift;
  return t.to(DType::Float32);
}

// The case on fresh leaves of x (cast to dtype t) and of float32 gamma / beta.
test::Norm16Result run(const test::Norm16Case& c, const Tensor& x, const Tensor& gamma, const Tensor& beta,
                       const Tensor& gy, DType t) {
  return test::run_norm16_case(c, x.to(t).detach().requires_grad_(), gamma.detach().requires_grad_(),
                               beta.detach().requires_grad_(), gy.to(t));
}

}  // namespace

TEST_CASE("16-bit norms on the CPU: the float32 op on the same values, rounded once; float32 statistics") {
  Generator gen(1601);
  for (DType t : {DType::BFloat16, DType::Float16}) {
    for (const test::Norm16Case& c : test::kNorm16Cases) {
      for (Shape s : {Shape{3, 5, 37}, Shape{2, 4, 3, 8, 8}}) {
        INFO((std::string(dtype_name(t)) + " " + c.name + " " + shape_str(s)));
        const Tensor x = float32_input(s, gen, 2.0, 1.5), gy = float32_input(s, gen, 1.0, 0.0);
        const Tensor gamma = float32_input({s[1]}, gen, 0.4, 1.0), beta = float32_input({s[1]}, gen, 0.5, 0.0);
        const test::Norm16Result h = run(c, x, gamma, beta, gy, t);
        REQUIRE(h.y.dtype() == t);
        REQUIRE(h.dx.dtype() == t);
        REQUIRE(h.dgamma.dtype() == DType::Float32);
        REQUIRE(h.dbeta.dtype() == DType::Float32);
        // Reference: float32 on the 16-bit values. Statistics and sums are double in both from
        // the same values, and every 16-bit result is the float32 one rounded once (double ->
        // float -> 16 bits, as the float32 op then a cast): tolerance 0.
        const test::Norm16Result f =
            run(c, x.to(t).to(DType::Float32), gamma, beta, gy.to(t).to(DType::Float32), DType::Float32);
        CHECK(h.y.to_vector() == f.y.to(t).to_vector());
        CHECK(h.dx.to_vector() == f.dx.to(t).to_vector());
        CHECK(h.dgamma.to_vector() == f.dgamma.to_vector());
        CHECK(h.dbeta.to_vector() == f.dbeta.to_vector());
        if (!c.instance) {
          CHECK(h.running_mean.dtype() == DType::Float32);
          CHECK(h.running_mean.to_vector() == f.running_mean.to_vector());
          CHECK(h.running_var.to_vector() == f.running_var.to_vector());
        }
        // Against float32 on the unrounded inputs: x rounds by <= ulp/2 relative, |x| <= ~9 and
        // std ~2 here, so x_hat moves by <= ~2.3 ulp/2 and y by that times |gamma| (~1.4) plus its
        // own rounding (ulp/2 of |y|): within 4 ulp of max(|y|, 1).
        const test::Norm16Result exact = run(c, x, gamma, beta, gy, DType::Float32);
        CHECK(test::scaled_diff(h.y, exact.y) <= 4 * test::ulp16(t));
      }
    }
  }
}

TEST_CASE("16-bit norms on the CPU: float64 statistics or 16-bit ones are refused with the rule") {
  Tensor x = Tensor::ones({2, 3, 4}).to(DType::Float16);
  Tensor g64 = Tensor::ones({3}, DType::Float64);
  CHECK_THROWS_WITH_AS(batch_norm(x, g64, {}, {}, {}, true),
                       doctest::Contains("batch_norm: with a float16 input float16[2, 3, 4] cpu, gamma must be float32"),
                       Error);
}
