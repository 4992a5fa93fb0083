// Optimisers over a module's named parameters: Adam (PyTorch semantics, optional
// decoupled weight decay) and SGD with momentum, both thin wrappers over the update
// kernels (autograd/ops/optim_update.h), plus learning-rate schedules. Adam steps all its
// parameters of one device and dtype in one multi-tensor call (one CUDA launch per step). State tensors are
// named "<param>.<slot>" so that checkpoints can save and restore them.
#pragma once
#include <string>
#include <vector>

#include "autograd/ops/optim_update.h"
#include "nn/module.h"

namespace pn::nn {

// lr(step): constant, or constant until decay_start then linear to zero at total_steps.
struct LrSchedule {
  enum class Kind { Constant, LinearDecay } kind = Kind::Constant;
  int64_t decay_start = 0;
  int64_t total_steps = 0;
  double factor(int64_t step) const;
};

class Optimizer {
 public:
  Optimizer(const NamedTensors& params, double lr, LrSchedule schedule);
  virtual ~Optimizer() = default;
  // One update from the accumulated .grad of each parameter (parameters without a
  // gradient are left alone).
  void step();
  void zero_grad();
  int64_t steps() const { return steps_; }
  void set_steps(int64_t s) { steps_ = s; }
  double lr() const { return base_lr_ * schedule_.factor(steps_); }
  double base_lr() const { return base_lr_; }
  void set_base_lr(double lr) { base_lr_ = lr; }
  // State tensors (moments, momentum buffers), named "<param>.<slot>".
  virtual NamedTensors named_state() const = 0;
  // The parameters it updates (a loss scaler unscales their gradients: grad_scaler.h).
  const NamedTensors& params() const { return params_; }

 protected:
  virtual void update(size_t i, Tensor& param, const Tensor& grad) = 0;
  // Updates the parameters with these indices (each has a gradient); by default one
  // update() each, in order.
  virtual void update_all(const std::vector<size_t>& indices);
  NamedTensors params_;

 private:
  double base_lr_;
  LrSchedule schedule_;
  int64_t steps_ = 0;
};

struct AdamOptions {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.0;
  bool decoupled_weight_decay = false;  // AdamW
  LrSchedule schedule{};
};

class Adam : public Optimizer {
 public:
  Adam(const NamedTensors& params, AdamOptions opt);
  NamedTensors named_state() const override;

 protected:
  void update(size_t i, Tensor& param, const Tensor& grad) override;
  void update_all(const std::vector<size_t>& indices) override;  // one adam_update_multi_

 private:
  AdamHyper hyper() const;
  AdamOptions opt_;
  std::vector<Tensor> m_, v_;
};

struct SgdOptions {
  double lr = 1e-2, momentum = 0.0, dampening = 0.0, weight_decay = 0.0;
  bool nesterov = false;
  LrSchedule schedule{};
};

class Sgd : public Optimizer {
 public:
  Sgd(const NamedTensors& params, SgdOptions opt);
  NamedTensors named_state() const override;

 protected:
  void update(size_t i, Tensor& param, const Tensor& grad) override;

 private:
  SgdOptions opt_;
  std::vector<Tensor> buf_;
};

}  // namespace pn::nn
