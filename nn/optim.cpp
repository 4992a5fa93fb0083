#include "nn/optim.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "autograd/ops/optim_update.h"
#include "autograd/profile.h"

namespace pn::nn {

double LrSchedule::factor(int64_t step) const {
  if (kind == Kind::Constant || step < decay_start) return 1.0;
  const int64_t span = total_steps - decay_start;
  if (span <= 0) return 0.0;
  return std::max(0.0, 1.0 - static_cast<double>(step - decay_start) / static_cast<double>(span));
}

Optimizer::Optimizer(const NamedTensors& params, double lr, LrSchedule schedule)
    : params_(params), base_lr_(lr), schedule_(schedule) {
  PN_CHECK(lr >= 0, "optimiser: negative learning rate {}", lr);
  for (const auto& [n, p] : params_)
    PN_CHECK(p.is_leaf() && p.requires_grad(), "optimiser: parameter '{}' ({}) is not a trainable leaf", n, p.desc());
}

void Optimizer::step() {
  NoGrad ng;
  const profile::PassScope profiled_as(profile::Pass::Update);
  ++steps_;
  std::vector<size_t> with_grad;
  for (size_t i = 0; i < params_.size(); ++i)
    if (params_[i].second.grad().defined()) with_grad.push_back(i);
  update_all(with_grad);
}

void Optimizer::update_all(const std::vector<size_t>& indices) {
  for (size_t i : indices) update(i, params_[i].second, params_[i].second.grad());
}

void Optimizer::zero_grad() {
  for (auto& [n, p] : params_) p.zero_grad();
}

Adam::Adam(const NamedTensors& params, AdamOptions opt) : Optimizer(params, opt.lr, opt.schedule), opt_(opt) {
  for (const auto& [n, p] : params_) {
    m_.push_back(Tensor::zeros(p.shape(), p.dtype(), p.device()));
    v_.push_back(Tensor::zeros(p.shape(), p.dtype(), p.device()));
  }
}

AdamHyper Adam::hyper() const {
  AdamHyper h;
  h.lr = lr();
  h.beta1 = opt_.beta1;
  h.beta2 = opt_.beta2;
  h.eps = opt_.eps;
  h.weight_decay = opt_.weight_decay;
  h.decoupled = opt_.decoupled_weight_decay;
  return h;
}

void Adam::update(size_t i, Tensor& param, const Tensor& grad) { adam_update_(param, grad, m_[i], v_[i], steps(), hyper()); }

void Adam::update_all(const std::vector<size_t>& indices) {
  std::vector<AdamTensors> list;
  list.reserve(indices.size());
  for (size_t i : indices) list.push_back({&params_[i].second, &params_[i].second.grad(), &m_[i], &v_[i]});
  if (!list.empty()) adam_update_multi_(list, steps(), hyper());
}

NamedTensors Adam::named_state() const {
  NamedTensors s;
  for (size_t i = 0; i < params_.size(); ++i) {
    s.emplace_back(params_[i].first + ".exp_avg", m_[i]);
    s.emplace_back(params_[i].first + ".exp_avg_sq", v_[i]);
  }
  return s;
}

Sgd::Sgd(const NamedTensors& params, SgdOptions opt) : Optimizer(params, opt.lr, opt.schedule), opt_(opt) {
  for (const auto& [n, p] : params_) buf_.push_back(Tensor::zeros(p.shape(), p.dtype(), p.device()));
}

void Sgd::update(size_t i, Tensor& param, const Tensor& grad) {
  SgdHyper h;
  h.lr = lr();
  h.momentum = opt_.momentum;
  h.dampening = opt_.dampening;
  h.weight_decay = opt_.weight_decay;
  h.nesterov = opt_.nesterov;
  sgd_update_(param, grad, buf_[i], steps(), h);
}

NamedTensors Sgd::named_state() const {
  NamedTensors s;
  for (size_t i = 0; i < params_.size(); ++i) s.emplace_back(params_[i].first + ".momentum_buffer", buf_[i]);
  return s;
}

}  // namespace pn::nn
