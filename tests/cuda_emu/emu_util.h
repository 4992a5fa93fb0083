// Helpers for the emu suites: device arrays (the workbench's DeviceBuffer, buffers.h), seeded
// random host data, and element-wise comparison with a stated tolerance (doctest checks).
// Usable with the real runtime too (tests/gpu includes this header), since only CUDA runtime
// calls are made.
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
#include "kernels/cuda/workbench/buffers.h"

namespace pn::test {

// Device memory for the tests: the workbench's DeviceBuffer (kernels/cuda/workbench/buffers.h:
// RAII over cudaMalloc, uploads a host vector), left as cudaMalloc gives it (the emulator
// poisons fresh allocations itself; a memset on the legacy stream would order against the
// stream tests' non-blocking streams), with to_host().
template <class T>
class DeviceArray : public pn::cuda::workbench::DeviceBuffer<T> {
  using Base = pn::cuda::workbench::DeviceBuffer<T>;

 public:
  explicit DeviceArray(int64_t n) : Base(n, pn::cuda::workbench::Unfilled{}) {}
  explicit DeviceArray(const std::vector<T>& host) : Base(host) {}
  std::vector<T> to_host() const { return this->download(); }
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
