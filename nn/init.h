// Weight initialisers the study uses: N(0, 0.02) for the GANs (pix2pix, SPADE, lesion
// WGAN) and He-normal, N(0, 2 / fan_in), for the segmentation U-Net. All draw from a
// seeded Generator, so a seed fixes every initial weight.
#pragma once
#include "autograd/generator.h"
#include "autograd/tensor.h"

namespace pn::nn {

enum class InitKind { Normal002, HeNormal, Zeros };

struct Init {
  InitKind kind = InitKind::HeNormal;
  static Init normal002() { return {InitKind::Normal002}; }
  static Init he_normal() { return {InitKind::HeNormal}; }
};

// fan_in = weight.numel() / weight.shape[0] for conv and linear weights [out, in, k...];
// pass it explicitly for transposed convolutions ([in, out, k...]).
void init_weight_(Tensor& w, Generator& gen, Init init, int64_t fan_in);
void normal_(Tensor& t, Generator& gen, double mean, double std);

}  // namespace pn::nn
