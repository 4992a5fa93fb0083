// Reductions: sum and mean over all elements or over given axes (keepdim optional). Sums
// accumulate in double and round once to the input's dtype (kernels/cpu/reduce.h). A mean of a
// bfloat16 / float16 tensor scales the double sum before that one rounding (as PyTorch does); a
// float32 / float64 mean rounds the sum, then scales it (within an ulp; the study's values).
#pragma once
#include <vector>

#include "autograd/tensor.h"

namespace pn {

Tensor sum(const Tensor& x);
Tensor sum(const Tensor& x, const std::vector<int>& axes, bool keepdim = false);
Tensor mean(const Tensor& x);
Tensor mean(const Tensor& x, const std::vector<int>& axes, bool keepdim = false);

}  // namespace pn
