// Softmax math shared by the CPU reference (kernels/cpu/softmax.cpp) and the CUDA kernel
// (kernels/cuda/softmax.cu), so that the two run the same operations in the same order. Along
// the axis, with mx = max x and s = sum exp(x - mx) (summed in axis order), both in the
// accumulation type A = SoftmaxAcc<T>:
//   softmax(x)     = exp(x - mx) / s
//   log_softmax(x) = (x - mx) - log(s)   (PyTorch's order: x - (mx + log(s)) would round to
//                                          the ulp of mx, 6e-5 for float logits near 1000)
// A is float for float32 tensors (expf, float sums: no double arithmetic on the GPU) and for the
// 16-bit storage types (bfloat16 / float16: widened exactly, each output rounded once), double
// for float64 ones. The emulated GPU and the CPU therefore agree bit for bit (the same libm); a
// real GPU's expf / logf are within 2 ulp of glibc's.
#pragma once
#include <cmath>
#include "kernels/math/hd.h"

namespace pn::math {

using std::exp;
using std::log;

template <class T>
struct SoftmaxAccumulator {
  using type = float;
};
template <>
struct SoftmaxAccumulator<double> {
  using type = double;
};
// The accumulation type of softmax over T: double for double, float otherwise.
template <class T>
using SoftmaxAcc = typename SoftmaxAccumulator<T>::type;

// The running maximum after seeing x (NaN inputs are skipped, as fmax does; mx starts at -inf).
template <class A>
PN_HD A softmax_max(A mx, A x) { return mx < x ? x : mx; }

// The running sum of exponentials after seeing x.
template <class A>
PN_HD A softmax_sum(A s, A x, A mx) { return s + exp(x - mx); }

// log_softmax's norm from the sum of exponentials.
template <class A>
PN_HD A log_softmax_norm(A s) { return log(s); }

// One output element: norm is s for softmax, log_softmax_norm(s) for log_softmax.
template <class T, class A>
PN_HD T softmax_value(T x, A mx, A norm, bool log_softmax) {
  const A xa = static_cast<A>(x);
  return static_cast<T>(log_softmax ? (xa - mx) - norm : exp(xa - mx) / norm);
}

}  // namespace pn::math
