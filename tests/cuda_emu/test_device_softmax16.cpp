// softmax / log_softmax on bfloat16 / float16 tensors on the emulated CUDA device
// (kernels/cuda/softmax.cu for __nv_bfloat16 / __half) against the CPU, forward and backward;
// also built into test_gpu_models for a real device.
#include <doctest/doctest.h>

#include <string>

#include "autograd/cuda/cuda_backend.h"
#include "autograd/engine.h"
#include "autograd/generator.h"
#include "autograd/ops/softmax.h"
#include "norm16_cases.h"

using namespace pn;

TEST_CASE("16-bit softmax and log_softmax on the emulated device match the CPU") {
  REQUIRE(cuda::install_cuda_backend());
  Generator gen(1606);
  for (DType t : {DType::BFloat16, DType::Float16}) {
    for (bool log : {false, true}) {
      for (Shape s : {Shape{3, 5, 7}, Shape{4, 20}}) {
        INFO((std::string(dtype_name(t)) + (log ? " log_softmax " : " softmax ") + shape_str(s)));
        const Tensor x = (Tensor::randn(s, gen) * 3.0).to(t), gy = Tensor::randn(s, gen).to(t);
        auto run = [&](Device d) {
          const Tensor xd = x.to(d).detach().requires_grad_();
          const Tensor y = log ? log_softmax(xd, 1) : softmax(xd, 1);
          return std::pair{y.detach(), grad({y}, {xd}, {gy.to(d)})[0]};
        };
        const auto [yd, dxd] = run(Device::cuda());
        const auto [yh, dxh] = run(Device::cpu());
        REQUIRE(yd.dtype() == t);
        REQUIRE(dxd.dtype() == t);
#if defined(PN_CUDA_EMU)
        // The same float math and libm (softmax_math.h), the axis summed in order: bit for bit.
        CHECK(yd.to(Device::cpu()).to_vector() == yh.to_vector());
#else
        // A GPU's expf / logf are within 2 float ulp of glibc's: at most one 16-bit rounding apart.
        CHECK(test::scaled_diff(yd, yh) <= test::ulp16(t));
#endif
        // The backward's float32 sums over the axis may be ordered differently on the device:
        // float-level differences, so at most one 16-bit rounding apart.
        CHECK(test::scaled_diff(dxd, dxh) <= test::ulp16(t));
      }
    }
  }
}
