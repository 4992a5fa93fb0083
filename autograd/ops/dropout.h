// Inverted dropout: in training each element is kept with probability 1 - p and scaled by
// 1 / (1 - p), so the expected output equals the input and eval mode is the identity.
// The mask is drawn from the Philox stream of a Generator (reproducible from its state)
// and applied with mul, so the op is differentiable through the mask, twice. A bfloat16 /
// float16 x gets the same mask and a 16-bit result (x * mask * scale rounded once; mixed
// precision, autograd/autocast.h rule 2).
#pragma once
#include "autograd/tensor.h"

namespace pn {

class Generator;

// p in [0, 1]; identity (x itself) when !training or p == 0; all zeros when p == 1.
Tensor dropout(const Tensor& x, double p, Generator& gen, bool training);

}  // namespace pn
