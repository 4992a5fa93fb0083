// Test helpers for the convolution suites: seeded normal test values, and a fast path's
// error relative to the float64 reference.
#pragma once
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace pn::test {

inline std::vector<double> random_vector(size_t n, std::mt19937& rng) {
  std::normal_distribution<double> d;
  std::vector<double> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// max |fast - ref| relative to the largest |ref| (float32 sums of up to C_in k^3 terms).
inline double rel_error(const std::vector<float>& fast, const std::vector<double>& ref) {
  REQUIRE(fast.size() == ref.size());
  double m = 0, scale = 1e-30;
  for (size_t i = 0; i < ref.size(); ++i) {
    m = std::max(m, std::abs(static_cast<double>(fast[i]) - ref[i]));
    scale = std::max(scale, std::abs(ref[i]));
  }
  return m / scale;
}

}  // namespace pn::test
