// Softmax and log-softmax along one axis (by default the channel axis of NC[D]HW).
// The forward is one fused, numerically stable kernel; the backward is written with
// differentiable ops, so second derivatives work:
//   softmax:     dx = y * (g - sum(g * y, axis))
//   log_softmax: dx = g - exp(y) * sum(g, axis)
// A bfloat16 / float16 x gives y in its dtype (float math, each output rounded once); the
// backward widens y and g to float32 and rounds dx back to x's dtype.
#pragma once
#include "autograd/tensor.h"

namespace pn {

Tensor softmax(const Tensor& x, int axis = 1);
Tensor log_softmax(const Tensor& x, int axis = 1);

}  // namespace pn
