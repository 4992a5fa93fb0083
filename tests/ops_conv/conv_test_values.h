// Test helpers for the convolution suites: seeded normal test values, a fast path's error
// relative to the float64 reference, and the named stride-1 geometries the few-channel
// kernels' case tables are made of.
#pragma once
#include <doctest/doctest.h>

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "kernels/op_geometry.h"

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

inline std::vector<float> to_float(const std::vector<double>& v) { return {v.begin(), v.end()}; }

// Runs `call` with OpenMP limited to one thread, then restores the thread count: the kernels
// whose result must not depend on the thread count are run again this way and compared.
template <class F>
void on_one_thread(F&& call) {
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  call();
  omp_set_num_threads(threads);
}

// A stride-1 3-D geometry: batch n, channels ci -> co, input size, kernel and padding per dim.
inline kernels::ConvGeom stride1_geom(int64_t n, int64_t ci, int64_t co, const int64_t (&in)[3], const int64_t (&k)[3],
                                      const int64_t (&pad)[3]) {
  return kernels::ConvGeom::make(n, ci, co, in, k, {1, 1, 1}, pad);
}

// One row of a kernel's case table: what the case exercises, and its geometry.
struct ConvCase {
  const char* name;
  kernels::ConvGeom g;
};

}  // namespace pn::test
