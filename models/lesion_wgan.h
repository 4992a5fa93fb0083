// The lesion-mask WGAN-GP of the study (PAPER.md, "lesion-mask GAN"), 3-D.
// Generator: z -> linear -> [filters[0], start...] -> per filter level [conv3 (no bias),
// instance norm, LeakyReLU 0.02 (fused with the norm), nearest up x2; PyTorch's order up x2
// then LeakyReLU gives the same values] -> conv7 (out_kernel) -> tanh -> centre crop to the mask
// size (128 x 128 x 32 from a 4^3 start: 128^3, then the slab of 32 slices).
// Critic: per filter level [conv5 stride 2 ("same"), LeakyReLU 0.02], no normalisation
// (the gradient penalty needs second derivatives), then linear 512, LeakyReLU, linear 1.
// With minibatch_std (ProGAN, Karras et al. 2018; off in the paper) the dense layer gets one
// more input, the same for every sample: the standard deviation over the batch of each
// feature of the last conv block, averaged over the features. A critic that sees one mask at
// a time cannot tell a generator that makes many empty masks from the data; this one can.
// Built from differentiable elementwise ops and reductions, so it has second derivatives;
// the scores are then no longer per sample, so the gradient penalty's gradient of the
// summed scores holds cross-sample terms of order 1/N (as in ProGAN's implementation).
#pragma once
#include <memory>
#include <vector>

#include "nn/layers.h"

namespace pn::models {

struct LesionGanConfig {
  int64_t z_dim = 128;
  Shape start{4, 4, 4};                          // D, H, W of the first feature map
  std::vector<int64_t> gen_filters{128, 64, 32, 16, 8};
  Shape mask_size{32, 128, 128};                 // D (slices), H, W after the crop
  std::vector<int64_t> critic_filters{8, 16, 32, 64, 128, 256, 512};
  int64_t critic_dense = 512;
  double slope = 0.02;
  int out_kernel = 7;          // the output conv's size (odd); the paper's 7
  bool minibatch_std = false;  // off: the critic's parameters and outputs are the paper's
};

// The minibatch standard-deviation feature of h [N, F] (N >= 2): [N, F + 1], h with a last
// column s = mean_f sqrt(var_n(h[n, f]) + 1e-8) (the biased variance over the batch).
Tensor append_minibatch_std(const Tensor& h);

class LesionGenerator : public nn::UnaryModule {
 public:
  LesionGenerator(const LesionGanConfig& cfg, Generator& gen);
  // z [N, z_dim] -> soft mask [N, 1, mask_size...] in [-1, 1] (threshold at 0 for a mask).
  Tensor forward(const Tensor& z) override;
  std::string describe() const override;
  const LesionGanConfig& config() const { return cfg_; }

 private:
  LesionGanConfig cfg_;
  std::shared_ptr<nn::Linear> fc_;
  std::vector<std::shared_ptr<nn::Sequential>> blocks_;
  std::shared_ptr<nn::Conv> out_;
};

class LesionCritic : public nn::UnaryModule {
 public:
  LesionCritic(const LesionGanConfig& cfg, Generator& gen);
  // mask [N, 1, mask_size...] -> score [N, 1] (higher: more real).
  Tensor forward(const Tensor& mask) override;
  std::string describe() const override;

 private:
  LesionGanConfig cfg_;
  std::vector<std::shared_ptr<nn::Sequential>> blocks_;
  std::shared_ptr<nn::Linear> dense_, score_;
};

}  // namespace pn::models
