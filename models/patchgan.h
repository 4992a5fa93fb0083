// The conditional PatchGAN discriminator of both translation models (PAPER.md): the image
// concatenated with its one-hot label map, then conv4 stride 2 with 32, 64, 128 filters,
// conv4 stride 1 with 128, and conv4 stride 1 to one score per patch (padding 1, as
// pix2pix's PatchGAN; a 70-pixel receptive field), instance norm on all but the first and
// last, LeakyReLU 0.2. Optional instance noise: N(0, sigma^2) added to the image in training.
// Its output is raw scores: the least-squares GAN loss compares them with 1 (real) or 0 (fake).
#pragma once
#include <memory>
#include <vector>

#include "nn/layers.h"

namespace pn::models {

struct PatchGanConfig {
  int dims = 2;
  int64_t image_channels = 1;
  int64_t label_channels = 29;
  std::vector<int64_t> filters{32, 64, 128, 128};  // the stride-2 levels, then the stride-1 one
  int kernel = 4;
  double slope = 0.2;
  double instance_noise = 0.0;  // sigma; the study's option is 0.2
};

class PatchGan : public nn::Module {
 public:
  // gen initialises the weights (N(0, 0.02)); noise_gen draws the instance noise.
  PatchGan(const PatchGanConfig& cfg, Generator& gen, Generator& noise_gen);
  // image [N, image_channels, spatial...], labels [N, label_channels, spatial...] -> scores
  // [N, 1, patches...].
  Tensor forward(const Tensor& image, const Tensor& labels);
  std::string describe() const override;
  const PatchGanConfig& config() const { return cfg_; }

 private:
  PatchGanConfig cfg_;
  Generator& noise_gen_;
  std::vector<std::shared_ptr<nn::Sequential>> layers_;
};

}  // namespace pn::models
