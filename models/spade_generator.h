// The SPADE generator of the study (PAPER.md, "SPADE"): a latent z and a one-hot label map
// in, an image out. z -> linear -> [filters[0], start...] -> per filter level a SPADE
// residual block then nearest up x2 -> LeakyReLU 0.2 -> conv7 -> tanh. The start size is
// the output size / 2^levels (4x4 for 128x128 and five levels). A residual block (Park et
// al.): x + conv3(act(SPADE(conv3(act(SPADE(x)))))), with a learned 1x1 shortcut (after
// its own SPADE) when the channel count changes; the middle width is min(in, out).
#pragma once
#include <memory>
#include <vector>

#include "nn/layers.h"
#include "nn/spade_norm.h"

namespace pn::models {

struct SpadeConfig {
  int dims = 2;
  Shape out_size{128, 128};  // spatial size of the image
  int64_t z_dim = 128;
  int64_t label_channels = 29;
  int64_t out_channels = 1;
  std::vector<int64_t> filters{128, 64, 32, 16, 8};  // one residual block + up x2 each
  int64_t hidden = 128;  // SPADE's shared-convolution width
  int out_kernel = 7;
  double slope = 0.2;
  bool joint_affine = true;  // each SPADE norm's gamma and beta as one convolution (nn/spade_norm.h)
};

class SpadeResBlock : public nn::Module {
 public:
  SpadeResBlock(int64_t in, int64_t out, const SpadeConfig& cfg, Generator& gen);
  Tensor forward(const Tensor& x, const Tensor& labels);
  std::string describe() const override;

 private:
  int64_t in_, out_;
  double slope_;
  std::shared_ptr<nn::SpadeNorm> norm0_, norm1_, norm_s_;
  std::shared_ptr<nn::Conv> conv0_, conv1_, conv_s_;
};

class SpadeGenerator : public nn::Module {
 public:
  SpadeGenerator(const SpadeConfig& cfg, Generator& gen);
  // z [N, z_dim], labels [N, label_channels, out_size...] -> image [N, out_channels, out_size...].
  Tensor forward(const Tensor& z, const Tensor& labels);
  std::string describe() const override;
  const SpadeConfig& config() const { return cfg_; }

 private:
  SpadeConfig cfg_;
  Shape start_;
  std::shared_ptr<nn::Linear> fc_;
  std::vector<std::shared_ptr<SpadeResBlock>> blocks_;
  std::shared_ptr<nn::Conv> out_;
};

}  // namespace pn::models
