// Reductions: sum and mean over all elements or over given axes (keepdim optional).
#pragma once
#include <vector>

#include "autograd/tensor.h"

namespace pn {

Tensor sum(const Tensor& x);
Tensor sum(const Tensor& x, const std::vector<int>& axes, bool keepdim = false);
Tensor mean(const Tensor& x);
Tensor mean(const Tensor& x, const std::vector<int>& axes, bool keepdim = false);

}  // namespace pn
