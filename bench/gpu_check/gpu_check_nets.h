// The four training setups gpu_check steps runs, each the same iteration that
// experiments/ trains with and that tools/gpu_check/torch_steps.py mirrors in PyTorch:
//   unet     segmentation U-Net, softmax + soft Dice of the lesion class, Adam
//   pix2pix  pix2pix generator + conditional PatchGAN: least-squares D step, then G step
//            with the least-squares loss + lambda L1 (dropout off: PyTorch draws other masks)
//   spade    SPADE generator + 2-D PatchGAN, the same losses
//   wgan     lesion WGAN-GP: critic step with gradient penalty, then generator step
// Sizes: `paper` from experiments/config/presets/paper.toml, `small` and `tiny` reductions.
#pragma once
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "nn/module.h"

namespace pn::gpu_check {

// What the first iteration exports: losses ("loss.<name>"), gradients of every parameter
// right after each backward ("grad.<prefix><param>"), and the weights of a discriminator or
// critic after its Adam step ("after.<prefix><param>"), all on the host.
struct StepRecord {
  nn::NamedTensors tensors;
  void loss(const std::string& name, const Tensor& value);
  void grads(const std::string& prefix, const nn::Module& m);
  void weights(const std::string& prefix, const nn::Module& m);
};

class NetCheck {
 public:
  virtual ~NetCheck() = default;
  // Sizes and hyper-parameters for the PyTorch side (safetensors metadata "config").
  virtual nlohmann::json config() const = 0;
  // Parameters and buffers ("<prefix><name>") and inputs ("in.<name>"), on the host.
  virtual nn::NamedTensors initial_state() const = 0;
  // Moves the models and inputs to the device and creates the optimisers there.
  virtual void to(Device device) = 0;
  // One training iteration; with a record, exports what the PyTorch comparison needs.
  virtual void iteration(StepRecord* record) = 0;
};

// net: unet | pix2pix | spade | wgan; scale: paper | small | tiny. Throws on other names.
std::unique_ptr<NetCheck> make_net_check(const std::string& net, const std::string& scale);

}  // namespace pn::gpu_check
