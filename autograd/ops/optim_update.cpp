#include "autograd/ops/optim_update.h"

#include <cmath>
#include <algorithm>
#include <vector>

#include "autograd/ops/elementwise.h"
#include "autograd/backend.h"

namespace pn {

namespace {

// Every state tensor must match the parameter exactly: the kernels walk them in lockstep.
void check_like(const char* op, const char* what, const Tensor& param, const Tensor& t) {
  PN_CHECK(t.defined(), "{}: {} is undefined (parameter {})", op, what, param.desc());
  detail::check_same(param, t, op);
  PN_CHECK(t.shape() == param.shape(), "{}: {} {} does not match parameter {}", op, what, t.desc(), param.desc());
}

void check_adam_tensors(const char* op, const Tensor& param, const Tensor& grad, const Tensor& m, const Tensor& v) {
  PN_CHECK(param.defined(), "{}: undefined parameter", op);
  check_like(op, "gradient", param, grad);
  check_like(op, "first moment", param, m);
  check_like(op, "second moment", param, v);
}

// The step's arguments (bias corrections from the step number), after checking them.
AdamArgs adam_args(const char* op, int64_t step, const AdamHyper& h) {
  PN_CHECK(step >= 1, "{}: step must count from 1, got {}", op, step);
  PN_CHECK(h.lr >= 0 && h.beta1 >= 0 && h.beta1 < 1 && h.beta2 >= 0 && h.beta2 < 1 && h.eps >= 0 && h.weight_decay >= 0,
           "{}: invalid hyperparameters lr {}, betas ({}, {}), eps {}, weight decay {}", op, h.lr, h.beta1, h.beta2,
           h.eps, h.weight_decay);
  const double bc1 = 1.0 - std::pow(h.beta1, static_cast<double>(step));
  const double bc2 = 1.0 - std::pow(h.beta2, static_cast<double>(step));
  return AdamArgs{h.lr, h.beta1, h.beta2, h.eps, h.weight_decay, bc1, bc2, h.decoupled};
}

}  // namespace

void adam_update_(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, int64_t step, const AdamHyper& h) {
  const char* op = "adam_update_";
  check_adam_tensors(op, param, grad, m, v);
  const AdamArgs a = adam_args(op, step, h);
  backend_for(param.device(), op).adam_update(param.dtype(), param.raw(), grad.raw(), m.raw(), v.raw(), param.numel(),
                                              a);
}

void adam_update_multi_(const std::vector<AdamTensors>& list, int64_t step, const AdamHyper& h) {
  const char* op = "adam_update_multi_";
  const AdamArgs a = adam_args(op, step, h);
  // The chunks of each (device, dtype), in list order.
  struct Group {
    Device device;
    DType dtype;
    std::vector<kernels::AdamChunk> chunks;
  };
  std::vector<Group> groups;
  for (const AdamTensors& t : list) {
    PN_CHECK(t.param && t.grad && t.m && t.v, "{}: an entry has a null tensor pointer", op);
    check_adam_tensors(op, *t.param, *t.grad, *t.m, *t.v);
    auto g = std::find_if(groups.begin(), groups.end(), [&](const Group& x) {
      return x.device == t.param->device() && x.dtype == t.param->dtype();
    });
    if (g == groups.end()) g = groups.insert(groups.end(), Group{t.param->device(), t.param->dtype(), {}});
    g->chunks.push_back(kernels::AdamChunk{t.param->raw(), t.grad->raw(), t.m->raw(), t.v->raw(), t.param->numel()});
  }
  for (const Group& g : groups)
    backend_for(g.device, op).adam_update_multi(g.dtype, g.chunks.data(), static_cast<int64_t>(g.chunks.size()), a);
}

void sgd_update_(Tensor& param, const Tensor& grad, Tensor& momentum_buf, int64_t step, const SgdHyper& h) {
  const char* op = "sgd_update_";
  PN_CHECK(param.defined(), "{}: undefined parameter", op);
  check_like(op, "gradient", param, grad);
  const bool use_buf = h.momentum != 0.0;
  if (use_buf) check_like(op, "momentum buffer", param, momentum_buf);
  PN_CHECK(step >= 1, "{}: step must count from 1, got {}", op, step);
  PN_CHECK(h.lr >= 0 && h.momentum >= 0 && h.weight_decay >= 0, "{}: invalid lr {}, momentum {} or weight decay {}",
           op, h.lr, h.momentum, h.weight_decay);
  PN_CHECK(!h.nesterov || (h.momentum > 0 && h.dampening == 0),
           "{}: Nesterov momentum needs momentum > 0 and zero dampening (got {} and {})", op, h.momentum, h.dampening);
  Backend& be = backend_for(param.device(), op);
  be.sgd_update(param.dtype(), param.raw(), grad.raw(), use_buf ? momentum_buf.raw() : nullptr, param.numel(),
                SgdArgs{h.lr, h.momentum, h.dampening, h.weight_decay, h.nesterov, step == 1});
}

}  // namespace pn
