// Dynamic loss scaling for float16 training (PyTorch's GradScaler): float16's smallest
// numbers are ~6e-8, so small gradients vanish unless the loss is multiplied by a large
// scale before backward; the gradients are divided by it again before the optimiser
// step. When any gradient is inf or NaN (the scale was too large) the step is skipped and
// the scale halves; after growth_interval clean steps in a row it doubles. bfloat16 and
// float32 need none: a disabled scaler passes the loss through and always steps.
//
//   nn::GradScaler scaler({.enabled = precision == Precision::FP16});
//   opt.zero_grad();
//   scaler.scale(loss).backward();
//   dp.average_gradients();          // every rank then sees the same inf/NaN
//   scaler.step(opt);                // unscale, check, step or skip, update the scale
//
// Its state (scale, clean steps since the last change, steps skipped) is checkpointed
// (CheckpointParts::scalers) so that a resumed run continues exactly. A gradient taken
// inside the forward pass (the WGAN-GP penalty's grad with create_graph) needs the same
// care: models::gradient_penalty's inner_scale takes scale() (models/gan_losses.h).
#pragma once
#include <cstdint>
#include <string>

#include "autograd/tensor.h"
#include "nn/optim.h"

namespace pn::nn {

struct GradScalerOptions {
  bool enabled = true;
  double init_scale = 65536.0;  // 2^16, as PyTorch
  double growth_factor = 2.0;
  double backoff_factor = 0.5;
  int64_t growth_interval = 2000;
};

class GradScaler {
 public:
  explicit GradScaler(GradScalerOptions opt = {});
  bool enabled() const { return opt_.enabled; }
  double scale() const { return scale_; }
  // loss * scale (loss itself when disabled).
  Tensor scale(const Tensor& loss) const;
  // Divides opt's gradients by the scale; if any is inf or NaN, skips opt's step (its
  // gradients are left as they are) and backs the scale off, else steps and counts a clean
  // step towards growth. Returns whether opt stepped. Disabled: opt.step(), true.
  bool step(Optimizer& opt);
  int64_t skipped() const { return skipped_; }        // steps skipped so far
  int64_t clean_steps() const { return clean_; }      // clean steps since the scale last changed

  // The state as text ("<scale> <clean steps> <skipped>", the scale exact in %a) and back;
  // set_state throws pn::Error naming `where` for a malformed text.
  std::string state() const;
  void set_state(const std::string& text, const std::string& where);

 private:
  GradScalerOptions opt_;
  double scale_;
  int64_t clean_ = 0, skipped_ = 0;
};

}  // namespace pn::nn
