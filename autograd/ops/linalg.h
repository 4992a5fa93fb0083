// Matrix products: matmul of 2-D tensors (with optional transposes) and linear layers.
// Inside an AutocastScope, float32 operands run in bfloat16 / float16 (autograd/autocast.h).
#pragma once
#include "autograd/tensor.h"

namespace pn {

// op(a) @ op(b) with op = transpose when the flag is set; a and b are 2-D.
Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a = false, bool trans_b = false);
// x [N, in] @ w[out, in]^T + bias[out] (bias may be undefined).
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& bias = {});

}  // namespace pn
