// The CUDA backend on two emulated devices (PN_CUDA_EMU_DEVICES=2): every op runs on the
// device of its tensors whatever device the calling thread has current, on that device's
// one stream, and leaves the thread's current device alone. Two planted bugs show what the
// emulator catches: an op without its device guard (it would launch on the wrong device),
// and work queued on the legacy default stream next to the backend's stream (unordered).
#include <doctest/doctest.h>

#include <functional>
#include <string>
#include <thread>

#include "autograd/cuda/cuda_backend.h"
#include "autograd/cuda/device_allocator.h"
#include "autograd/generator.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/reduce.h"
#include "autograd/tensor.h"
#include "kernels/cuda/device.h"
#include "kernels/cuda/device_guard.h"
#include "kernels/cuda/launch.h"

using pn::Device;
using pn::Tensor;

namespace {

__global__ void scale_in_place(float* p, int n, float factor) {
  for (int64_t i = pn::cuda::global_index(); i < n; i += pn::cuda::grid_stride()) p[i] *= factor;
}

int current_device() {
  int d = -1;
  PN_CUDA_CHECK(cudaGetDevice(&d));
  return d;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("ops on cuda:1 run there from a thread whose current device is 0, and leave it 0") {
  REQUIRE(pn::cuda::install_cuda_backend());
  PN_CUDA_CHECK(cudaSetDevice(0));
  pn::Generator gen(3);
  const Tensor a = Tensor::randn({4, 33}, gen), b = Tensor::randn({4, 33}, gen);
  const Tensor want = pn::sum(pn::tanh(a) * b, {1});
  for (int dev : {0, 1}) {
    const Tensor got = pn::sum(pn::tanh(a.to(Device::cuda(dev))) * b.to(Device::cuda(dev)), {1});
    CHECK(got.device() == Device::cuda(dev));
    CHECK(got.to_vector() == want.to_vector());
    CHECK(current_device() == 0);
  }
  CHECK(pn::cuda::device_memory_stats(1).allocations > 0);
  // A second host thread, current device 1 by choice, works on cuda:0 tensors.
  std::thread t([&] {
    PN_CUDA_CHECK(cudaSetDevice(1));
    const Tensor got = pn::sum(pn::tanh(a.to(Device::cuda(0))) * b.to(Device::cuda(0)), {1});
    CHECK(got.to_vector() == want.to_vector());
    CHECK(current_device() == 1);
  });
  t.join();
}

TEST_CASE("planted bug: an op without its device guard is caught on two devices") {
  REQUIRE(pn::cuda::install_cuda_backend());
  PN_CUDA_CHECK(cudaSetDevice(0));
  const Tensor x = Tensor::ones({64}, pn::DType::Float32, Device::cuda(1));
  pn::cuda::testing::set_device_guards_enabled(false);
  const std::string err = error_of([&] { (void)pn::exp(x).to_vector(); });
  pn::cuda::testing::set_device_guards_enabled(true);
  INFO(err);
  CHECK(err.find("cudaErrorInvalidResourceHandle") != std::string::npos);
  CHECK(err.find("stream of device 1 while device 0 is current") != std::string::npos);
  CHECK(pn::exp(x).to_vector()[0] == doctest::Approx(2.718281828).epsilon(1e-6));  // with the guard: fine
}

TEST_CASE("planted bug: work on the legacy default stream is unordered with the backend's stream") {
  REQUIRE(pn::cuda::install_cuda_backend());
  PN_CUDA_CHECK(cudaSetDevice(0));
  const Tensor x = Tensor::ones({256}, pn::DType::Float32, Device::cuda(0));
  const Tensor y = pn::mul_scalar(x, 3.0);  // queued on device 0's stream
  const std::string err = error_of([&] {
    // The bug: a kernel on the legacy default stream (nullptr) reads y without an event.
    pn::cuda::launch(scale_in_place, 1, 128, 0, nullptr, static_cast<float*>(const_cast<void*>(y.raw())), 256, 2.0f);
    PN_CUDA_CHECK(cudaDeviceSynchronize());
  });
  INFO(err);
  CHECK(err.find("hazard") != std::string::npos);
  CHECK(err.find("legacy default stream of device 0") != std::string::npos);
  CHECK(err.find("(non-blocking) of device 0") != std::string::npos);
  // The same kernel on the backend's own stream is ordered after the op that wrote y.
  const Tensor z = pn::mul_scalar(x, 3.0);
  pn::cuda::launch(scale_in_place, 1, 128, 0, pn::cuda::device_stream(0), static_cast<float*>(const_cast<void*>(z.raw())),
                   256, 2.0f);
  CHECK(z.to_vector()[17] == 6.0);
}
