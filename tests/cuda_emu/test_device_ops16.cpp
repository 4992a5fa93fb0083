// The 16-bit ops of tests/ops16_cases.h (elementwise maps, sums, pooling, concatenation, cropping,
// upsampling) on bfloat16 / float16 tensors on the emulated CUDA device (kernels/cuda
// instantiated for __nv_bfloat16 / __half) against the CPU reference on the same 16-bit inputs,
// forward and backward, through autograd's dispatch: bit for bit (the same kernels/math function
// in float, one rounding, the emulator's libm is the CPU's), except sums whose order the device
// may change (the scatter-add of overlapping pooling windows: atomics), within the table's ulps.
#include <doctest/doctest.h>

#include <string>

#include "autograd/cuda/cuda_backend.h"
#include "norm16_cases.h"
#include "ops16_cases.h"

using namespace pn;

TEST_CASE("16-bit elementwise maps, sums, pooling and concatenation on the emulated device match the CPU bit for bit") {
  REQUIRE(cuda::install_cuda_backend());
  Generator gen(1802);
  for (DType t : {DType::BFloat16, DType::Float16}) {
    for (const test::Op16Case& c : test::op16_cases()) {
      INFO((std::string(dtype_name(t)) + " " + c.name));
      std::vector<Tensor> on_host, on_device;
      for (const Tensor& x : test::op16_inputs(c, gen)) on_host.push_back(x.to(t)), on_device.push_back(on_host.back().to(Device::cuda()));
      const auto gy = [t](Device d) {
        return [t, d](const Shape& s) {
          Generator g(78);
          return Tensor::randn(s, g).to(t).to(d);
        };
      };
      const test::Op16Result h = test::run_op16_case(c, on_host, gy(Device::cpu()));
      const test::Op16Result d = test::run_op16_case(c, on_device, gy(Device::cuda()));
      REQUIRE(d.y.dtype() == t);
      REQUIRE(d.y.device() == Device::cuda());
      CHECK(d.y.to(Device::cpu()).to_vector() == h.y.to_vector());
      for (size_t i = 0; i < d.dx.size(); ++i) {
        INFO("input " << i);
        REQUIRE(d.dx[i].dtype() == t);
        if (c.device_bitwise) CHECK(d.dx[i].to(Device::cpu()).to_vector() == h.dx[i].to_vector());
        else CHECK(test::scaled_diff(d.dx[i], h.dx[i]) <= c.backward_ulps * test::ulp16(t));
      }
    }
  }
}
