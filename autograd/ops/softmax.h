// Softmax and log-softmax along one axis (by default the channel axis of NC[D]HW).
// The forward is one fused, numerically stable kernel; the backward is written with
// differentiable ops, so second derivatives work:
//   softmax:     dx = y * (g - sum(g * y, axis))
//   log_softmax: dx = g - exp(y) * sum(g, axis)
#pragma once
#include "autograd/tensor.h"

namespace pn {

Tensor softmax(const Tensor& x, int axis = 1);
Tensor log_softmax(const Tensor& x, int axis = 1);

}  // namespace pn
