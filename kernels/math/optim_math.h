// Per-element optimiser updates shared by the CPU reference and the CUDA kernels, with
// PyTorch's semantics (torch.optim.Adam / AdamW / SGD, no amsgrad, no maximize). Each
// function updates one parameter element and its state in place.
#pragma once
#include <cmath>
#include "kernels/math/hd.h"

namespace pn::math {

using std::sqrt;

// Adam. bias_correction{1,2} = 1 - beta{1,2}^step. weight_decay is L2 (added to the
// gradient) unless decoupled (AdamW: p *= 1 - lr * weight_decay before the step).
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//   p -= lr / bc1 * m / (sqrt(v) / sqrt(bc2) + eps)
template <class T>
PN_HD void adam_step(T& p, T g, T& m, T& v, T lr, T beta1, T beta2, T eps, T weight_decay,
                     T bias_correction1, T bias_correction2, bool decoupled) {
  if (weight_decay != T(0)) {
    if (decoupled) p *= T(1) - lr * weight_decay;
    else g += weight_decay * p;
  }
  m = beta1 * m + (T(1) - beta1) * g;
  v = beta2 * v + (T(1) - beta2) * g * g;
  const T denom = sqrt(v) / sqrt(bias_correction2) + eps;
  p -= lr / bias_correction1 * m / denom;
}

// SGD with momentum. first: the first step, where the buffer starts as the gradient.
//   d = g + wd p;  buf = first ? d : momentum buf + (1 - dampening) d
//   p -= lr * (nesterov ? d + momentum buf : buf)      (momentum = 0: p -= lr d)
template <class T>
PN_HD void sgd_momentum_step(T& p, T g, T& buf, T lr, T momentum, T dampening, T weight_decay,
                             bool nesterov, bool first) {
  T d = g;
  if (weight_decay != T(0)) d += weight_decay * p;
  if (momentum != T(0)) {
    buf = first ? d : momentum * buf + (T(1) - dampening) * d;
    d = nesterov ? d + momentum * buf : buf;
  }
  p -= lr * d;
}

}  // namespace pn::math
