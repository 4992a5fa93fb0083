// Batch and instance norm (plain and fused with the activation) on bfloat16 / float16 tensors
// on the emulated CUDA device (kernels/cuda/norm.cu instantiated for __nv_bfloat16 / __half)
// against the CPU reference on the same 16-bit inputs, forward and backward, through autograd's
// dispatch (the cases of tests/norm16_cases.h); also built into test_gpu_models for a real device
// (the tolerances hold there too: double math whatever nvcc contracts, one rounding to 16 bits).
#include <doctest/doctest.h>

#include <string>

#include "autograd/cuda/cuda_backend.h"
#include "autograd/generator.h"
#include "norm16_cases.h"

using namespace pn;

namespace {

// The case with copies of the leaves on `device`.
test::Norm16Result run_on(const test::Norm16Case& c, Device device, const Tensor& x, const Tensor& gamma,
                          const Tensor& beta, const Tensor& gy) {
  auto leaf = [&](const Tensor& t) { return t.to(device).detach().requires_grad_(); };
  return test::run_norm16_case(c, leaf(x), leaf(gamma), leaf(beta), gy.to(device));
}

}  // namespace

TEST_CASE("16-bit norms on the emulated device match the CPU, forward and backward") {
  REQUIRE(cuda::install_cuda_backend());
  Generator gen(1602);
  for (DType t : {DType::BFloat16, DType::Float16}) {
    for (const test::Norm16Case& c : test::kNorm16Cases) {
      // Odd sizes (no block size divides them); the second shape's batch-norm groups hold 4608
      // elements, more than one block's chunk (4096): the split statistics and sums are merged.
      for (Shape s : {Shape{3, 5, 37}, Shape{2, 2, 48, 48}}) {
        INFO((std::string(dtype_name(t)) + " " + c.name + " " + shape_str(s)));
        const Tensor x = (Tensor::randn(s, gen) * 2.0 + 1.5).to(t), gy = Tensor::randn(s, gen).to(t);
        const Tensor gamma = Tensor::randn({s[1]}, gen) * 0.4 + 1.0, beta = Tensor::randn({s[1]}, gen) * 0.5;
        const test::Norm16Result d = run_on(c, Device::cuda(), x, gamma, beta, gy);
        const test::Norm16Result h = run_on(c, Device::cpu(), x, gamma, beta, gy);
        REQUIRE(d.y.dtype() == t);
        REQUIRE(d.dx.dtype() == t);
        REQUIRE(d.dgamma.dtype() == DType::Float32);
        // The device's statistics and sums are merged in parallel (double), the CPU's in order:
        // they agree to double rounding, so a float mean / var may differ by one float ulp and a
        // 16-bit result by at most one unit of its format (one rounding landing on either side).
        CHECK(test::scaled_diff(d.y, h.y) <= test::ulp16(t));
        CHECK(test::scaled_diff(d.dx, h.dx) <= test::ulp16(t));
        // Float32 parameter gradients: sums of the same products in double, rounded to float.
        CHECK(test::scaled_diff(d.dgamma, h.dgamma) <= 1e-6);
        CHECK(test::scaled_diff(d.dbeta, h.dbeta) <= 1e-6);
        if (!c.instance) {
          CHECK(test::scaled_diff(d.running_mean, h.running_mean) <= 1e-6);
          CHECK(test::scaled_diff(d.running_var, h.running_var) <= 1e-6);
        }
      }
    }
  }
}
