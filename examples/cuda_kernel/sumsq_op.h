// Chapter 6: the kernel of row_sumsq.h as a differentiable op that runs on the device of
// its input, the way an op outside the Backend interface gets a CUDA path:
//   per_sample_sumsq(x) = [sum over every element of sample n of x^2] for x [N, ...],
// on the CPU by the reference loop, on a CUDA tensor by the Block kernel on the device's
// stream under a DeviceGuard. Its backward, 2 x g (g broadcast over each sample), is written
// with Tensor ops, so it runs on either device and differentiates again.
// requires: x float32 or float64 with at least one dim; CUDA tensors need the CUDA backend
// installed (pn::cuda::install_cuda_backend()).
#pragma once
#include "autograd/tensor.h"

namespace pn::examples {

Tensor per_sample_sumsq(const Tensor& x);

}  // namespace pn::examples
