// softmax / log_softmax on bfloat16 / float16 tensors on the CPU: the forward is the float32
// op on the same (16-bit-representable) values with each output rounded once (both compute in
// float: kernels/math/softmax_math.h), and the backward (float32 math on the widened output
// and gradient, dx rounded to 16 bits) is within a stated tolerance of the float32 backward.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "autograd/engine.h"
#include "autograd/generator.h"
#include "autograd/ops/softmax.h"

using namespace pn;

namespace {

double max_abs(const std::vector<double>& v) {
  double m = 0;
  for (double e : v) m = std::max(m, std::abs(e));
  return m;
}

}  // namespace

TEST_CASE("16-bit softmax and log_softmax on the CPU: float32 rounded once forward, float32 math backward") {
  Generator gen(1605);
  for (DType t : {DType::BFloat16, DType::Float16}) {
    const double ulp = t == DType::BFloat16 ? 1.0 / 128 : 1.0 / 1024;
    for (bool log : {false, true}) {
      // Channel axis with inner positions, and a long axis (20 > the CUDA kernel's 16 held values).
      for (Shape s : {Shape{3, 5, 7}, Shape{4, 20}}) {
        INFO((std::string(dtype_name(t)) + (log ? " log_softmax " : " softmax ") + shape_str(s)));
        const Tensor x16 = (Tensor::randn(s, gen) * 3.0).to(t).detach().requires_grad_();
        const Tensor xr = x16.detach().to(DType::Float32).requires_grad_();
        const Tensor gy = Tensor::randn(s, gen).to(t);
        const Tensor y16 = log ? log_softmax(x16, 1) : softmax(x16, 1);
        const Tensor yr = log ? log_softmax(xr, 1) : softmax(xr, 1);
        REQUIRE(y16.dtype() == t);
        CHECK(y16.to_vector() == yr.detach().to(t).to_vector());  // tolerance 0: same float math, one rounding
        const Tensor dx16 = grad({y16}, {x16}, {gy})[0], dxr = grad({yr}, {xr}, {gy.to(DType::Float32)})[0];
        REQUIRE(dx16.dtype() == t);
        // dx16 differs from the float32 dx by its own rounding, <= ulp/2 |dx| <= ulp max|g|
        // (|dx| <= 2 max|g|: the softmax weights sum to 1), and by y's rounding (<= ulp/2 relative
        // in each probability, entering sums weighted by g): <= ulp max|g|. Bound 2 ulp max|g|;
        // measured 0.03-0.09 (softmax) and 0.25-0.40 (log_softmax) ulp max|g|.
        const auto a = dx16.to_vector(), b = dxr.to_vector();
        double worst = 0;
        for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
        CHECK(worst <= 2 * ulp * max_abs(gy.to_vector()));
      }
    }
  }
}
