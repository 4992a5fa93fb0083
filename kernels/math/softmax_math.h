// Softmax math shared by the CPU reference and the CUDA kernels. Along the axis, with
// mx = max x and s = sum exp(x - mx) (accumulated in double):
//   softmax(x)     = exp(x - mx) / s
//   log_softmax(x) = x - lse,   lse = mx + log(s)   (log-sum-exp)
#pragma once
#include <cmath>
#include "kernels/math/hd.h"

namespace pn::math {

using std::exp;
using std::log;

PN_HD double log_sum_exp(double mx, double s) { return mx + log(s); }

// One output element: norm is s for softmax, lse for log_softmax.
template <class T>
PN_HD T softmax_value(T x, double mx, double norm, bool log_softmax) {
  const double xd = static_cast<double>(x);
  return static_cast<T>(log_softmax ? xd - norm : exp(xd - mx) / norm);
}

}  // namespace pn::math
