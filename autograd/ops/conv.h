// Convolutions, 2-D (N, C, H, W) and 3-D (N, C, D, H, W), plain and transposed, in
// PyTorch's weight layouts, on channels-first or channels-last activations. Twice differentiable: the forward pass and its two backward
// passes (w.r.t. input and weight) are three recorded ops whose derivatives are each
// other, so gradient penalties (WGAN-GP) work through them. Inside an AutocastScope,
// float32 operands run in bfloat16 / float16 (the rules: autograd/autocast.h).
//
// This header also brings in the rest of the spatial family that networks use alongside
// convolutions: pooling and upsampling (pool.h), concatenation and cropping (concat.h).
#pragma once
#include <vector>

#include "autograd/ops/concat.h"
#include "autograd/memory_format.h"
#include "autograd/ops/pool.h"
#include "autograd/tensor.h"

namespace pn {

// x [N, C, S...] -> [N, S..., C] (4-D or 5-D), and back; each the other's backward. A
// network converts at its entry and its exit, not around every convolution.
Tensor to_channels_last(const Tensor& x);
Tensor to_channels_first(const Tensor& x);

// Channels-last convolutions (autograd/memory_format.h) run without reordering their
// activations: oneDNN's and cuDNN's N[D]HWC kernels read them as they are (kernels/op_geometry.h,
// ConvGeom::channels_last). The weight's shape does not change.
//
// y = x (*) w + bias. x [N, C_in, spatial...], w [C_out, C_in, k...], bias [C_out] or
// undefined. stride and padding (zeros) per spatial dim; a single entry applies to all.
// Output size per dim: (in + 2 pad - k) / stride + 1. With MemoryFormat::channels_last, x is
// [N, spatial..., C_in] and y [N, spatial..., C_out]; w and bias are as above; the values are
// those of the channels-first convolution of to_channels_first(x), moved channels-last.
Tensor conv(const Tensor& x, const Tensor& w, const Tensor& bias, std::vector<int> stride,
            std::vector<int> padding, MemoryFormat format = MemoryFormat::channels_first);

// The transpose (adjoint) of conv w.r.t. its input: x [N, C_in, spatial...],
// w [C_in, C_out, k...], bias [C_out] or undefined. Output size per dim:
// (in - 1) * stride - 2 pad + k. MemoryFormat::channels_last as for conv.
Tensor conv_transpose(const Tensor& x, const Tensor& w, const Tensor& bias, std::vector<int> stride,
                      std::vector<int> padding, MemoryFormat format = MemoryFormat::channels_first);

}  // namespace pn
