// Helpers shared by the test suites: seeded random tensors and gradcheck assertions.
#pragma once
#include <doctest/doctest.h>

#include <cmath>
#include <algorithm>
#include <vector>

#include "autograd/generator.h"
#include "autograd/gradcheck.h"
#include "autograd/tensor.h"

namespace pn::test {

// A float64 tensor of N(0, scale^2) values (+ shift) that requires grad.
inline Tensor rand_input(const Shape& s, Generator& g, double scale = 1.0, double shift = 0.0,
                         bool requires_grad = true) {
  Tensor t = Tensor::randn(s, g, DType::Float64);
  double* p = t.data<double>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = p[i] * scale + shift;
  t.requires_grad_(requires_grad);
  return t;
}

// Values bounded away from 0 by at least `gap` (for ops with kinks at 0: relu, abs).
inline Tensor rand_away_from_zero(const Shape& s, Generator& g, double gap = 0.05) {
  Tensor t = rand_input(s, g, 1.0, 0.0, false);
  double* p = t.data<double>();
  for (int64_t i = 0; i < t.numel(); ++i)
    if (std::abs(p[i]) < gap) p[i] = p[i] < 0 ? -gap - 0.1 : gap + 0.1;
  t.requires_grad_(true);
  return t;
}

inline double max_abs_diff(const std::vector<double>& va, const std::vector<double>& vb) {
  REQUIRE(va.size() == vb.size());
  double m = 0;
  for (size_t i = 0; i < va.size(); ++i) m = std::max(m, std::abs(va[i] - vb[i]));
  return m;
}
inline double max_abs_diff(const Tensor& a, const Tensor& b) { return max_abs_diff(a.to_vector(), b.to_vector()); }

// ||a - b|| / ||b|| over all values.
inline double rel_l2(const std::vector<double>& a, const std::vector<double>& b) {
  REQUIRE(a.size() == b.size());
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) num += (a[i] - b[i]) * (a[i] - b[i]), den += b[i] * b[i];
  return std::sqrt(num / std::max(den, 1e-300));
}

}  // namespace pn::test

#define CHECK_GRADCHECK(f, inputs)                                \
  do {                                                            \
    auto _r = ::pn::gradcheck((f), (inputs));                     \
    INFO(_r.message);                                             \
    CHECK(_r.ok);                                                 \
  } while (0)

#define CHECK_GRADGRADCHECK(f, inputs)                            \
  do {                                                            \
    auto _r = ::pn::gradgradcheck((f), (inputs));                 \
    INFO(_r.message);                                             \
    CHECK(_r.ok);                                                 \
  } while (0)
