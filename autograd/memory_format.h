// Where the activations of the spatial ops hold their channels. Tensors are always contiguous
// in their own shape; a channels-last activation simply has the shape [N, spatial..., C]. The
// ops that take a MemoryFormat (conv, conv_transpose: ops/conv.h; max_pool: ops/pool.h) read
// that shape as it is; to_channels_last / to_channels_first (ops/conv.h) convert.
#pragma once

namespace pn {

// channels_first: NC[D]HW, the default everywhere. channels_last: N[D]HWC (PyTorch's
// channels_last / channels_last_3d memory formats), the layout oneDNN's and cuDNN's fastest
// convolution kernels read without reordering.
enum class MemoryFormat { channels_first, channels_last };

}  // namespace pn
