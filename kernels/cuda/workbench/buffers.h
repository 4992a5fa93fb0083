// Helpers the workbench families share: device buffers that upload and download host vectors,
// random host data, and the comparison of a version's output with the CPU reference that
// names the first element out of tolerance. Host code only (the families' checks and cases).
#pragma once
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "kernels/cuda/check.h"
#include "kernels/cuda/runtime.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {
namespace workbench {

// The tag of DeviceBuffer's constructor that leaves the memory as cudaMalloc gives it (no
// memset on the legacy default stream: for tests that use the buffer on other streams).
struct Unfilled {};

// n elements of device memory, NaN-filled (0xff bytes) so that an element never written shows.
template <class T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(int64_t n) : DeviceBuffer(n, Unfilled{}) {
    if (bytes()) PN_CUDA_CHECK(cudaMemset(p_, 0xff, bytes()));
  }
  DeviceBuffer(int64_t n, Unfilled) : n_(n) {
    PN_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&p_), bytes() ? bytes() : 1));
  }
  explicit DeviceBuffer(const std::vector<T>& host) : DeviceBuffer(static_cast<int64_t>(host.size()), Unfilled{}) {
    upload(host);
  }
  ~DeviceBuffer() { (void)cudaFree(p_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  T* get() const { return p_; }
  int64_t size() const { return n_; }
  void upload(const std::vector<T>& host) {
    PN_CUDA_CHECK(cudaMemcpy(p_, host.data(), bytes(), cudaMemcpyHostToDevice));
  }
  std::vector<T> download() const {
    std::vector<T> host(static_cast<size_t>(n_));
    PN_CUDA_CHECK(cudaMemcpy(host.data(), p_, bytes(), cudaMemcpyDeviceToHost));
    return host;
  }

 private:
  size_t bytes() const { return static_cast<size_t>(n_) * sizeof(T); }
  T* p_ = nullptr;
  int64_t n_;
};

template <class T>
std::vector<T> random_values(int64_t n, unsigned seed, double lo = -1.0, double hi = 1.0) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  std::vector<T> v(static_cast<size_t>(n));
  for (T& x : v) x = static_cast<T>(u(rng));
  return v;
}

// "" when |got - want| <= atol + rtol |want| everywhere (rtol = atol = 0: bit-equal), else
// "<what>: [i] = got, the CPU gives want". NaN never passes.
template <class T>
std::string compare(const std::vector<T>& got, const std::vector<T>& want, double rtol, double atol,
                    const std::string& what) {
  if (got.size() != want.size()) return what + ": " + std::to_string(got.size()) + " values, the CPU has " +
                                        std::to_string(want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    const double g = static_cast<double>(got[i]), w = static_cast<double>(want[i]);
    if (!(std::fabs(g - w) <= atol + rtol * std::fabs(w))) {
      char msg[96];
      std::snprintf(msg, sizeof msg, "[%zu] = %.9g, the CPU gives %.9g", i, g, w);
      return what + ": " + msg;
    }
  }
  return "";
}

}  // namespace workbench
}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda
