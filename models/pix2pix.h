// The pix2pix U-Net generator of the study (PAPER.md, "pix2pix"): one-hot label map in,
// DWI out. Encoder: depth x [conv4 stride 2 ("same"), instance norm (not on the first
// level), LeakyReLU 0.02], filters base, 2 base, ... capped at 8 base. Decoder: per level
// [nearest up x2, conv4 stride 1 ("same"), instance norm, LeakyReLU 0.02, dropout 0.3],
// then concatenation with the encoder output of the same size; last: up x2, conv4 to the
// output channels, tanh. No transposed convolutions (they leave checkerboard artefacts).
// Convolutions followed by an instance norm have no bias (the norm cancels it exactly).
// 2-D (128x128, depth 6) and 3-D (128x128x32, depth 4) variants; every size a setting.
#pragma once
#include <memory>
#include <vector>

#include "nn/layers.h"

namespace pn::models {

struct Pix2PixConfig {
  int dims = 2;
  int64_t label_channels = 29;  // one-hot classes of the input label map
  int64_t out_channels = 1;
  int64_t base_filters = 64;
  int64_t max_filters = 512;  // filters stop doubling here
  int depth = 6;              // stride-2 levels; the input size must be a multiple of 2^depth
  int kernel = 4;
  double slope = 0.02;    // LeakyReLU
  double dropout = 0.3;   // decoder dropout (training only)
  // Each decoder step's "up x2, conv" computed as one convolution on the small grid and a pixel
  // shuffle (autograd/ops/upsample_conv.h: the same function up to float rounding, 2-2.4x fewer
  // multiplications) where nn::Conv::takes_upsampled says it pays; false: upsample, then convolve.
  bool polyphase_upsampling = true;
  static Pix2PixConfig paper_2d() { return {}; }
  static Pix2PixConfig paper_3d() {
    Pix2PixConfig c;
    c.dims = 3;
    c.depth = 4;
    return c;
  }
};

class Pix2PixGenerator : public nn::UnaryModule {
 public:
  // gen initialises the weights (N(0, 0.02)); dropout_gen draws the dropout masks.
  Pix2PixGenerator(const Pix2PixConfig& cfg, Generator& gen, Generator& dropout_gen);
  // labels [N, label_channels, spatial...] -> image [N, out_channels, spatial...] in [-1, 1].
  Tensor forward(const Tensor& labels) override;
  std::string describe() const override;
  const Pix2PixConfig& config() const { return cfg_; }

 private:
  Pix2PixConfig cfg_;
  std::vector<std::shared_ptr<nn::Sequential>> down_, up_;
  std::shared_ptr<nn::Sequential> out_;
};

}  // namespace pn::models
