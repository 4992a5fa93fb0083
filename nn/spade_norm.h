// SPADE normalisation (Park et al. 2019; PAPER.md "SPADE"): the parameter-free instance
// normalisation of x, then a per-voxel scale and shift predicted from the label map:
//   y = norm(x) * (1 + gamma(m)) + beta(m),  h = ReLU(conv3(m)), gamma = conv3(h), beta = conv3(h)
// where m is the one-hot label map brought to x's spatial size by max-pooling (a class
// present anywhere in a block stays present), as the study's implementation does. Under a
// 16-bit autocast scope y is 16-bit, computed in 16 bits (autograd/autocast.h, rule 1b).
// gamma and beta read the same h: by default they run as one convolution with both weights
// stacked along the output channels (one pass over h each way, a GEMM twice as wide, the
// input gradient summed inside it): the same values up to float rounding. Parameter names and
// checkpoints are the same either way.
#pragma once
#include <memory>

#include "nn/layers.h"

namespace pn::nn {

struct SpadeNormOptions {
  int dims = 2;
  int64_t hidden = 128;  // channels of the shared convolution (SPADE's nhidden)
  int kernel = 3;
  double eps = 1e-5;
  bool joint_affine = true;  // gamma and beta as one convolution (above); false: two
};

// m: the label map brought to x's spatial size, max-pooled by the factor labels / x (labels
// itself at factor 1). A block of SPADE norms at one size pools once and hands m to each of
// them (factor 1 there), instead of each pooling the full map again.
// requires: labels [N, L, spatial'...] of x's rank and batch, each spatial' an equal integer
//           multiple of x's (else pn::Error naming both).
Tensor spade_label_map(const Tensor& labels, const Tensor& x);

class SpadeNorm : public Module {
 public:
  SpadeNorm(int64_t channels, int64_t label_channels, SpadeNormOptions opt, Generator& gen);
  // x [N, C, spatial...]; labels [N, label_channels, spatial'...] with each spatial' an
  // equal integer multiple of x's.
  Tensor forward(const Tensor& x, const Tensor& labels);
  std::string describe() const override;
  void set_joint_affine(bool on) { opt_.joint_affine = on; }

 private:
  std::pair<Tensor, Tensor> gamma_beta(const Tensor& h);
  int64_t channels_, label_channels_;
  SpadeNormOptions opt_;
  std::shared_ptr<Conv> shared_, gamma_, beta_;
};

// Sets joint_affine in every SpadeNorm under root (tests compare the two forms).
void set_spade_joint_affine(Module& root, bool on);

}  // namespace pn::nn
