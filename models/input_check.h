// Input checks shared by the U-Net-shaped models: rank, channel count, and spatial sizes
// divisible by 2^depth (each level halves them).
#pragma once
#include "autograd/error.h"
#include "autograd/tensor.h"

namespace pn::models {

inline void check_unet_input(const char* model, const Tensor& x, int dims, int64_t channels, int depth) {
  PN_CHECK(x.dim() == dims + 2 && x.size(1) == channels, "{}: expects [N, {}, spatial x{}], got {}", model, channels,
           dims, x.desc());
  const int64_t mult = int64_t{1} << depth;
  for (int d = 2; d < x.dim(); ++d)
    PN_CHECK(x.size(d) % mult == 0, "{}: spatial size {} of input {} is not a multiple of 2^depth = {}", model,
             x.size(d), x.desc(), mult);
}

}  // namespace pn::models
