// Synchronised batch normalisation: in training, the per-channel mean and variance are
// taken over the samples of every rank (all-reduced), so N ranks with batch B normalise
// exactly like one process with batch N*B. The element count per channel is a host scalar
// (host communicator); the statistics live on x's device. Built from differentiable ops plus a
// differentiable all-reduce (its backward all-reduces the gradient), so the backward pass
// also exchanges the two per-channel sums it needs. Eval mode uses the running statistics.
#pragma once
#include <memory>

#include "autograd/tensor.h"
#include "nn/communicator.h"

namespace pn::nn {

// y = sum over ranks of x (every rank gets the same y); d/dx: sum over ranks of dy. Through
// the communicator of x's device (a GPU tensor: the device communicator, in stream order).
Tensor allreduce_sum(const Tensor& x, const Collectives& comm);

// batch_norm (autograd/ops/norm.h) with statistics over all ranks. With one rank, or in
// eval mode, it is exactly batch_norm.
Tensor sync_batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& running_mean,
                       const Tensor& running_var, bool training, double momentum, double eps,
                       const Collectives& comm);

}  // namespace pn::nn
