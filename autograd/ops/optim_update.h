// In-place optimiser updates of one parameter tensor and its state, with PyTorch's
// semantics (torch.optim.Adam / AdamW / SGD). Never recorded on the tape: they write the
// tensors' storage directly, whatever the grad mode. The per-element math is in
// kernels/math/optim_math.h; nn/optim.h builds the optimisers on these.
#pragma once
#include <cstdint>
#include <vector>

#include "autograd/tensor.h"

namespace pn {

struct AdamHyper {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.0;
  bool decoupled = false;  // AdamW: weight decay applied to the parameter, not the gradient
};

struct SgdHyper {
  double lr = 1e-2, momentum = 0.0, dampening = 0.0, weight_decay = 0.0;
  bool nesterov = false;
};

// Adam step number `step` (1 for the first update: it sets the bias corrections).
// param, grad, m (first moment) and v (second moment) share shape, dtype and device.
void adam_update_(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, int64_t step, const AdamHyper& h);

// One Adam step over many parameters (an optimiser's whole list): the same checks and the same
// per-element result as one adam_update_ per entry, bit for bit, but one backend call per
// (device, dtype) group (on CUDA: one kernel launch for the group). Entries point at tensors
// that outlive the call; undefined gradients are not allowed here (leave such entries out).
struct AdamTensors {
  Tensor* param;
  const Tensor* grad;
  Tensor* m;
  Tensor* v;
};
void adam_update_multi_(const std::vector<AdamTensors>& list, int64_t step, const AdamHyper& h);

// SGD step number `step` (the momentum buffer starts as the gradient at step 1).
// momentum_buf is only read and written when h.momentum != 0 (it may be undefined otherwise).
void sgd_update_(Tensor& param, const Tensor& grad, Tensor& momentum_buf, int64_t step, const SgdHyper& h);

}  // namespace pn
