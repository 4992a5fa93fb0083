// Softmax math shared by the CPU reference and the CUDA kernels. Along the axis, with
// mx = max x and s = sum exp(x - mx), both in the accumulation type A:
//   softmax(x)     = exp(x - mx) / s
//   log_softmax(x) = x - lse,   lse = mx + log(s)   (log-sum-exp)
// The CPU reference accumulates in double (A = double); the CUDA kernel runs float tensors in
// float (A = float: expf, no double arithmetic on the GPU), within a few float ulp of it.
#pragma once
#include <cmath>
#include "kernels/math/hd.h"

namespace pn::math {

using std::exp;
using std::log;

template <class A>
PN_HD A log_sum_exp(A mx, A s) { return mx + log(s); }

// One output element: norm is s for softmax, lse for log_softmax.
template <class T, class A>
PN_HD T softmax_value(T x, A mx, A norm, bool log_softmax) {
  const A xa = static_cast<A>(x);
  return static_cast<T>(log_softmax ? xa - norm : exp(xa - mx) / norm);
}

}  // namespace pn::math
