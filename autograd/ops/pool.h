// Max-pooling and nearest upsampling of 2-D (N, C, H, W) and 3-D (N, C, D, H, W) tensors,
// and block_sum, the adjoint of upsampling. All twice differentiable: max-pooling's
// derivative is a gather / scatter-add pair of recorded ops (each the other's adjoint)
// over the argmax saved by the forward pass; upsample_nearest and block_sum are each
// other's backward, and so are pixel_shuffle and pixel_unshuffle (permutations).
#pragma once
#include "autograd/memory_format.h"
#include "autograd/tensor.h"

namespace pn {

// Max over each kernel^d window, step stride, no padding: out = (in - kernel) / stride + 1.
// The gradient goes to the first maximum of each window. MemoryFormat::channels_last: x is
// [N, spatial..., C] and so is the result (memory_format.h).
Tensor max_pool(const Tensor& x, int kernel = 2, int stride = 2, MemoryFormat format = MemoryFormat::channels_first);

// Each voxel repeated factor times along every spatial dim.
Tensor upsample_nearest(const Tensor& x, int factor = 2);

// The sum over each factor^d block (spatial sizes must be multiples of factor).
Tensor block_sum(const Tensor& x, int factor = 2);

// Depth to space (PyTorch's pixel_shuffle, in 2-D and 3-D): x [N, C * f^d, s...] ->
// y [N, C, s * f...] with y[n, c, o] = x[n, c * f^d + phase(o % f), o / f], the phase
// row-major over the spatial dims (for 2-D: (o_h % f) * f + o_w % f).
Tensor pixel_shuffle(const Tensor& x, int factor = 2);

// Space to depth, the inverse: x [N, C, s * f...] -> [N, C * f^d, s...].
Tensor pixel_unshuffle(const Tensor& x, int factor = 2);

}  // namespace pn
