// Helpers for the emu suites: device arrays (RAII over cudaMalloc), seeded random host
// data, and element-wise comparison with a stated tolerance. Usable with the real runtime
// too (tests/gpu includes this header), since only CUDA runtime calls are made.
#pragma once
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/cuda/check.h"
#include "kernels/cuda/runtime.h"

namespace pn::test {

template <class T>
class DeviceArray {
 public:
  explicit DeviceArray(int64_t n) : n_(n) { PN_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&p_), bytes())); }
  explicit DeviceArray(const std::vector<T>& host) : DeviceArray(static_cast<int64_t>(host.size())) {
    PN_CUDA_CHECK(cudaMemcpy(p_, host.data(), bytes(), cudaMemcpyHostToDevice));
  }
  ~DeviceArray() { (void)cudaFree(p_); }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  T* get() { return p_; }
  int64_t size() const { return n_; }
  std::vector<T> to_host() const {
    std::vector<T> h(static_cast<size_t>(n_));
    PN_CUDA_CHECK(cudaMemcpy(h.data(), p_, bytes(), cudaMemcpyDeviceToHost));
    return h;
  }

 private:
  size_t bytes() const { return static_cast<size_t>(n_) * sizeof(T); }
  T* p_ = nullptr;
  int64_t n_;
};

// n values uniform in [lo, hi), from the seed.
template <class T>
std::vector<T> random_vector(int64_t n, uint64_t seed, double lo = -2.0, double hi = 2.0) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  std::vector<T> v(static_cast<size_t>(n));
  for (auto& x : v) x = static_cast<T>(u(rng));
  return v;
}

// Largest |a - b| / (atol + rtol |b|) over the arrays (<= 1 means within tolerance); NaNs
// must match position for position. Reports the worst index through doctest's INFO.
template <class T>
void check_close(const std::vector<T>& got, const std::vector<T>& want, double rtol, double atol,
                 const std::string& what) {
  REQUIRE(got.size() == want.size());
  double worst = 0;
  size_t at = 0;
  int64_t nan_mismatch = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double g = static_cast<double>(got[i]), w = static_cast<double>(want[i]);
    if (std::isnan(g) || std::isnan(w)) {
      nan_mismatch += std::isnan(g) != std::isnan(w);
      continue;
    }
    if (g == w) continue;  // also equal infinities
    const double r = std::abs(g - w) / (atol + rtol * std::abs(w));
    if (!(r <= worst)) { worst = r; at = i; }
  }
  INFO(what << ": worst error ratio " << worst << " at index " << at << " (got " << static_cast<double>(got[at])
            << ", want " << static_cast<double>(want[at]) << "; rtol " << rtol << ", atol " << atol << ")");
  CHECK(nan_mismatch == 0);
  CHECK(worst <= 1.0);
}

#if defined(PN_CUDA_EMU)
inline constexpr bool kEmulated = true;
#else
inline constexpr bool kEmulated = false;
#endif

// Results of the same kernels/math formula on both sides. Emulated: bit-for-bit equal
// (same compiler, same libm). On a GPU, CUDA's libm (exp, log, tanh, pow, cos) may differ
// from glibc's by a few ulp, so: rtol = atol = 8 machine epsilons (values are O(1)).
template <class T>
void check_same_math(const std::vector<T>& got, const std::vector<T>& want, const std::string& what) {
  const double eps = 8.0 * static_cast<double>(std::numeric_limits<T>::epsilon());
  check_close(got, want, kEmulated ? 0.0 : eps, kEmulated ? 0.0 : eps, what);
}

}  // namespace pn::test
