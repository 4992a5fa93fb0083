// Tensors on a CUDA device, their memory from autograd/cuda's allocator, run on the
// emulated device: host <-> device round trips, zeros, clones, the differentiable
// to(device) copy (its gradient flows back to the host), memory statistics, and the error
// for a CUDA tensor when no backend is registered; 16-bit tensors (casts, fills, refusals).
#include <doctest/doctest.h>

#include <vector>

#include "autograd/backend.h"
#include "autograd/cuda/cuda_backend.h"
#include "autograd/cuda/device_allocator.h"
#include "autograd/error.h"
#include "autograd/generator.h"
#include "autograd/ops/reduce.h"
#include "autograd/tensor.h"

using pn::Device;
using pn::Tensor;

TEST_CASE("CUDA tensors need a registered backend") {
  pn::set_cuda_allocator(nullptr);
  pn::register_backend(Device::cuda(), nullptr);
  CHECK_THROWS_AS(Tensor::zeros({2, 3}, pn::DType::Float32, Device::cuda()), pn::Error);
}

TEST_CASE("device tensors: round trips, zeros, clone, statistics") {
  REQUIRE(pn::cuda::install_cuda_backend());
  const auto before = pn::cuda::device_memory_stats();
  pn::Generator gen(5);
  const Tensor x = Tensor::randn({3, 37}, gen, pn::DType::Float64);
  {
    const Tensor d = x.to(Device::cuda());
    CHECK(d.device() == Device::cuda());
    CHECK(d.to_vector() == x.to_vector());
    const Tensor c = d.clone();
    CHECK(c.device() == Device::cuda());
    CHECK(c.to(Device::cpu()).to_vector() == x.to_vector());
    const Tensor z = Tensor::zeros({5, 7}, pn::DType::Float32, Device::cuda());
    for (double v : z.to_vector()) CHECK(v == 0.0);
    const auto during = pn::cuda::device_memory_stats();
    CHECK(during.bytes_in_use >= before.bytes_in_use + 2 * 3 * 37 * 8 + 5 * 7 * 4);
  }
  const auto after = pn::cuda::device_memory_stats();
  CHECK(after.bytes_in_use == before.bytes_in_use);  // freed into the cache
  CHECK(after.bytes_cached > 0);
  // A second round reuses the cached blocks instead of new device allocations.
  const Tensor again = x.to(Device::cuda());
  CHECK(pn::cuda::device_memory_stats().device_mallocs == after.device_mallocs);
  CHECK(again.to_vector() == x.to_vector());
}

TEST_CASE("the gradient of to(device) flows back to the host tensor") {
  REQUIRE(pn::cuda::install_cuda_backend());
  pn::Generator gen(6);
  Tensor x = Tensor::randn({4, 9}, gen, pn::DType::Float64).requires_grad_();
  Tensor back = x.to(Device::cuda()).to(Device::cpu());
  pn::sum(back).backward();
  REQUIRE(x.grad().defined());
  CHECK(x.grad().device() == Device::cpu());
  for (double g : x.grad().to_vector()) CHECK(g == 1.0);
}

TEST_CASE("device tensors: 16-bit dtypes cast to and from float32 and fill; other casts and ops are refused, named") {
  REQUIRE(pn::cuda::install_cuda_backend());
  const Tensor d = Tensor::full({4}, 1.25, pn::DType::Float32, Device::cuda());
  const Tensor h = d.to(pn::DType::BFloat16);
  CHECK(h.dtype() == pn::DType::BFloat16);
  CHECK(h.to(pn::DType::Float32).to_vector() == std::vector<double>(4, 1.25));
  CHECK(Tensor::zeros({4}, pn::DType::Float16, Device::cuda()).to(pn::DType::Float32).to_vector() ==
        std::vector<double>(4, 0.0));
  CHECK_THROWS_WITH_AS((void)h.to(pn::DType::Float64), doctest::Contains("cast: autograd's CUDA backend casts 16-bit"),
                       pn::Error);
  pn::Generator gen(5);
  CHECK_THROWS_WITH_AS((void)Tensor::randn({4}, gen, pn::DType::BFloat16, Device::cuda()),
                       doctest::Contains("fill_normal: no bfloat16 kernel"), pn::Error);
}
