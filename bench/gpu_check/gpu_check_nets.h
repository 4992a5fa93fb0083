// The four training setups gpu_check steps runs, each the same iteration that
// experiments/ trains with and that tools/gpu_check/torch_steps.py mirrors in PyTorch:
//   unet     segmentation U-Net, softmax + soft Dice of the lesion class, Adam
//   pix2pix  pix2pix generator + conditional PatchGAN: least-squares D step, then G step
//            with the least-squares loss + lambda L1 (dropout off: PyTorch draws other masks)
//   spade    SPADE generator + 2-D PatchGAN, the same losses
//   wgan     lesion WGAN-GP: critic step with gradient penalty, then generator step
// Sizes: `paper` from experiments/config/presets/paper.toml, `small` and `tiny` reductions.
// Precision (set_precision): fp32, or bf16 / fp16 mixed precision as the trainers run it
// (run.precision, autograd/autocast.h): forward passes and losses inside an AutocastScope,
// fp16 backward passes through a GradScaler (PyTorch's defaults but an initial scale of
// 2^10, kGradScale: at 2^16 a tiny network's first fp16 gradients overflow, both sides skip
// the step and there is nothing to compare); torch_steps.py mirrors it with torch.autocast
// and torch.amp.GradScaler.
#pragma once
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "autograd/autocast.h"
#include "nn/grad_scaler.h"
#include "nn/module.h"

namespace pn::gpu_check {

// What the first iteration exports: losses ("loss.<name>"), gradients of every parameter
// right after each backward ("grad.<prefix><param>"), and the weights of a discriminator or
// critic after its Adam step ("after.<prefix><param>"), all on the host.
struct StepRecord {
  nn::NamedTensors tensors;
  void loss(const std::string& name, const Tensor& value);
  // unscale: the factor the loss was scaled by, undone (1 / the fp16 loss scale).
  void grads(const std::string& prefix, const nn::Module& m, double unscale = 1.0);
  void weights(const std::string& prefix, const nn::Module& m);
};

class NetCheck {
 public:
  static constexpr double kGradScale = 1024.0;  // fp16's initial loss scale (torch_steps.py: GRAD_SCALE)
  virtual ~NetCheck() = default;
  // Sizes and hyper-parameters for the PyTorch side (safetensors metadata "config").
  virtual nlohmann::json config() const = 0;
  // Parameters and buffers ("<prefix><name>") and inputs ("in.<name>"), on the host.
  virtual nn::NamedTensors initial_state() const = 0;
  // Moves the models and inputs to the device and creates the optimisers there.
  virtual void to(Device device) = 0;
  // One training iteration; with a record, exports what the PyTorch comparison needs.
  virtual void iteration(StepRecord* record) = 0;

  // fp32, bf16 or fp16 (tf32 is the conv step's --tf32); before the first iteration.
  void set_precision(Precision p);
  Precision precision() const { return precision_; }

 protected:
  // The scope the forward passes and losses of an iteration run in.
  AutocastScope autocast() const { return AutocastScope(precision_); }
  // Network `which` (0: the network stepped first, 1: the second): its loss scaler, and
  // what undoes its scale (1 when disabled).
  nn::GradScaler& scaler(int which) { return scalers_[which]; }
  double unscale(int which) const { return scalers_[which].enabled() ? 1.0 / scalers_[which].scale() : 1.0; }

 private:
  Precision precision_ = Precision::FP32;
  nn::GradScaler scalers_[2] = {nn::GradScaler({.enabled = false}), nn::GradScaler({.enabled = false})};
};

// net: unet | pix2pix | spade | wgan; scale: paper | small | tiny. Throws on other names.
std::unique_ptr<NetCheck> make_net_check(const std::string& net, const std::string& scale);

}  // namespace pn::gpu_check
