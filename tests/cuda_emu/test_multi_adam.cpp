// The multi-tensor Adam step (adam_update_multi_, nn::Adam) on emulated device tensors: bit for
// bit the per-tensor path and the CPU, and one kernel launch per step where the per-tensor path
// makes one per parameter (counted by the emulator's profile).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "autograd/cuda/cuda_backend.h"
#include "autograd/generator.h"
#include "autograd/ops/optim_update.h"
#include "autograd/tensor.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/emu/profile.h"
#include "kernels/cuda/runtime.h"
#include "nn/optim.h"

using namespace pn;
using nn::NamedTensors;

namespace {

// Sizes around the kernel's 2048-element tiles, a 256-thread block and an empty tensor.
const std::vector<int64_t> kSizes = {1, 37, 2048, 2049, 4500, 0, 256, 3};

NamedTensors params_on(Device d, DType last_dtype) {
  Generator gen(11);
  NamedTensors ps;
  for (size_t k = 0; k < kSizes.size(); ++k) {
    const DType t = k + 1 == kSizes.size() ? last_dtype : DType::Float32;
    ps.emplace_back(std::to_string(k), Tensor::randn({kSizes[k]}, gen, t).to(d).requires_grad_());
  }
  return ps;
}

// The same gradients for every copy: step s, parameter k.
Tensor grad_for(const Tensor& p, int step, size_t k) {
  Generator gen(100 * step + static_cast<uint64_t>(k));
  return Tensor::randn(p.shape(), gen, p.dtype()).to(p.device());
}

// Launches seen by the emulator's profile while f runs (synchronised after).
template <class F>
std::vector<cuda::emu::LaunchProfile> launches_of(F&& f) {
  const bool was = cuda::emu::profiling();
  cuda::emu::set_profiling(true);
  std::vector<cuda::emu::LaunchProfile> out;
  {
    cuda::emu::ProfileCapture cap;
    f();
    PN_CUDA_CHECK(cudaDeviceSynchronize());
    out = cap.launches();
  }
  cuda::emu::set_profiling(was);
  return out;
}

}  // namespace

TEST_CASE("multi-tensor Adam on the device: bit for bit the per-tensor path and the CPU, one launch per step") {
  REQUIRE(cuda::install_cuda_backend());
  for (bool decoupled : {false, true}) {
    const nn::AdamOptions o{2e-2, 0.9, 0.99, 1e-8, 0.01, decoupled};
    const AdamHyper h{o.lr, o.beta1, o.beta2, o.eps, o.weight_decay, decoupled};
    NamedTensors cpu = params_on(Device::cpu(), DType::Float32), dev = params_on(Device::cuda(), DType::Float32);
    NamedTensors single = params_on(Device::cuda(), DType::Float32);
    nn::Adam opt_cpu(cpu, o), opt_dev(dev, o);
    std::vector<Tensor> m, v;
    for (const auto& [n, p] : single) {
      m.push_back(Tensor::zeros(p.shape(), p.dtype(), p.device()));
      v.push_back(Tensor::zeros(p.shape(), p.dtype(), p.device()));
    }
    for (int step = 1; step <= 3; ++step) {
      for (size_t k = 0; k < kSizes.size(); ++k) {
        cpu[k].second.set_grad(grad_for(cpu[k].second, step, k));
        dev[k].second.set_grad(grad_for(dev[k].second, step, k));
      }
      opt_cpu.step();
      const auto multi_launches = launches_of([&] { opt_dev.step(); });
      const auto single_launches = launches_of([&] {
        for (size_t k = 0; k < kSizes.size(); ++k)
          adam_update_(single[k].second, grad_for(single[k].second, step, k), m[k], v[k], step, h);
      });
      INFO(cuda::emu::format_profiles(multi_launches));
      REQUIRE(multi_launches.size() == 1);
      CHECK(multi_launches[0].site.find("optim.cu") != std::string::npos);
      CHECK(single_launches.size() == kSizes.size() - 1);  // the empty tensor launches nothing
    }
    for (size_t k = 0; k < kSizes.size(); ++k) {
      INFO("parameter ", k, " (", kSizes[k], " elements)", decoupled ? ", AdamW" : ", Adam");
      CHECK(dev[k].second.to_vector() == cpu[k].second.to_vector());
      CHECK(dev[k].second.to_vector() == single[k].second.to_vector());
    }
    const NamedTensors s_cpu = opt_cpu.named_state(), s_dev = opt_dev.named_state();
    for (size_t i = 0; i < s_cpu.size(); ++i) CHECK(s_dev[i].second.to_vector() == s_cpu[i].second.to_vector());
  }
}

TEST_CASE("multi-tensor Adam: one launch per dtype on the device, exact against the CPU") {
  REQUIRE(cuda::install_cuda_backend());
  NamedTensors cpu = params_on(Device::cpu(), DType::Float64), dev = params_on(Device::cuda(), DType::Float64);
  nn::Adam opt_cpu(cpu, {}), opt_dev(dev, {});
  for (size_t k = 0; k < kSizes.size(); ++k) {
    cpu[k].second.set_grad(grad_for(cpu[k].second, 1, k));
    dev[k].second.set_grad(grad_for(dev[k].second, 1, k));
  }
  opt_cpu.step();
  CHECK(launches_of([&] { opt_dev.step(); }).size() == 2);  // float32 and float64
  for (size_t k = 0; k < kSizes.size(); ++k) CHECK(dev[k].second.to_vector() == cpu[k].second.to_vector());
}
