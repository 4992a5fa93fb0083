// Convolutions, 2-D (N, C, H, W) and 3-D (N, C, D, H, W), plain and transposed, in
// PyTorch's weight layouts. Twice differentiable: the forward pass and its two backward
// passes (w.r.t. input and weight) are three recorded ops whose derivatives are each
// other, so gradient penalties (WGAN-GP) work through them. Inside an AutocastScope,
// float32 operands run in bfloat16 / float16 (the rules: autograd/autocast.h).
//
// This header also brings in the rest of the spatial family that networks use alongside
// convolutions: pooling and upsampling (pool.h), concatenation and cropping (concat.h).
#pragma once
#include <vector>

#include "autograd/ops/concat.h"
#include "autograd/ops/pool.h"
#include "autograd/tensor.h"

namespace pn {

// y = x (*) w + bias. x [N, C_in, spatial...], w [C_out, C_in, k...], bias [C_out] or
// undefined. stride and padding (zeros) per spatial dim; a single entry applies to all.
// Output size per dim: (in + 2 pad - k) / stride + 1.
Tensor conv(const Tensor& x, const Tensor& w, const Tensor& bias, std::vector<int> stride,
            std::vector<int> padding);

// The transpose (adjoint) of conv w.r.t. its input: x [N, C_in, spatial...],
// w [C_in, C_out, k...], bias [C_out] or undefined. Output size per dim:
// (in - 1) * stride - 2 pad + k.
Tensor conv_transpose(const Tensor& x, const Tensor& w, const Tensor& bias, std::vector<int> stride,
                      std::vector<int> padding);

}  // namespace pn
