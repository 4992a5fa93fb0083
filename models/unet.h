// The segmentation U-Net of the study (PAPER.md, "segmentation U-Net"): per level two
// [conv3 (no bias), batch norm, ReLU], max-pool down, transposed conv 2 stride 2 + batch
// norm + ReLU up, skip concatenation, a 1x1 convolution to class logits. The paper's
// network is 3-D, depth 4, filters 32-64-128-256 with a 512 bottleneck, 2 classes;
// every size is a setting so that the same code trains small on two CPU cores.
// Mixed precision (autograd/autocast.h, rule 2): under a 16-bit autocast scope the blocks hand
// their 16-bit outputs on, so max-pool, the skips and their concatenation stay 16-bit from the
// first block to the last; the head (a 1x1 conv with a float32 bias) returns float32 logits.
#pragma once
#include <memory>
#include <vector>

#include "nn/layers.h"

namespace pn::models {

struct UNetConfig {
  int dims = 3;
  int64_t in_channels = 1;
  int64_t classes = 2;
  int64_t base_filters = 32;  // doubled at each level: 32, 64, 128, 256
  int depth = 4;              // levels with a pooling step below them; bottleneck = 2x last
  // Activations channels-last (N[D]HWC) from the input's conversion to the head's output, which
  // converts back: the convolutions read them without reordering (autograd/memory_format.h).
  // Input, output, parameters and checkpoints are the same either way; values agree to float
  // rounding.
  bool channels_last = false;
};

// Two [conv3 no bias, BatchNorm, ReLU] in a row.
class DoubleConv : public nn::Sequential {
 public:
  DoubleConv(int dims, int64_t in, int64_t out, Generator& gen);
  std::string describe() const override { return "DoubleConv"; }
};

// Transposed conv 2 stride 2 (no bias: batch norm follows), BatchNorm, ReLU.
class UpConv : public nn::Sequential {
 public:
  UpConv(int dims, int64_t in, int64_t out, Generator& gen);
  std::string describe() const override { return "UpConv"; }
};

class SegmentationUNet : public nn::UnaryModule {
 public:
  SegmentationUNet(const UNetConfig& cfg, Generator& gen);
  // Class logits [N, classes, spatial...]; softmax over dim 1 gives probabilities.
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;
  const UNetConfig& config() const { return cfg_; }

 private:
  UNetConfig cfg_;
  std::vector<std::shared_ptr<DoubleConv>> down_;
  std::shared_ptr<nn::MaxPool> pool_;
  std::shared_ptr<DoubleConv> bottleneck_;
  std::vector<std::shared_ptr<UpConv>> up_;
  std::vector<std::shared_ptr<DoubleConv>> up_conv_;
  std::shared_ptr<nn::Conv> head_;
};

}  // namespace pn::models
