// Batch and instance normalisation of NC[D]HW tensors (any number of spatial dims; batch
// norm also takes [N, C]), or, with MemoryFormat::channels_last, of N[D]HWC ones
// (autograd/memory_format.h: the same statistics per channel, kernels walking the channels
// innermost). Forward and first-order backward are fused kernels
// (kernels/cpu/norm.h); the backward is itself recorded as an op whose own backward
// throws, so a second derivative through a norm is an error rather than a silent wrong
// answer (the WGAN critic, the one model that needs second derivatives, has no norm).
// batch_norm_act / instance_norm_act fuse the norm with a following ReLU / leaky ReLU.
//
// gamma and beta are per channel [C]; pass undefined tensors for no affine transform.
// SPADE's parameter-free normalisation is instance_norm(x, {}, {}, eps): statistics per
// (sample, channel) over the spatial dims, no affine (SPADE predicts gamma and beta
// itself and applies them with elementwise ops).
//
// Mixed precision: x may be bfloat16 / float16 (storage; autograd/autocast.h). y and dx then
// have x's dtype, while gamma, beta, the running statistics, the saved batch statistics and
// dgamma / dbeta are float32 (an error otherwise), and all arithmetic is float32 or wider, as
// PyTorch's autocast and cuDNN do (kernels/math/norm_math.h: norm_param_t).
#pragma once
#include "autograd/memory_format.h"
#include "autograd/tensor.h"

namespace pn {

// Statistics per channel over N and the spatial dims. Training: normalises with the batch
// mean and biased variance, and, when running_mean/running_var are defined, updates them
// in place (never recorded): r = (1 - momentum) r + momentum * batch, with the unbiased
// variance for running_var (PyTorch's convention). Eval: normalises with the running
// statistics, which must then be defined. Running statistics are [C], never part of the graph.
Tensor batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& running_mean,
                  const Tensor& running_var, bool training, double momentum = 0.1, double eps = 1e-5,
                  MemoryFormat format = MemoryFormat::channels_first);

// Statistics per (sample, channel) over the spatial dims (at least two spatial elements),
// biased variance, in training and eval alike (no running statistics).
Tensor instance_norm(const Tensor& x, const Tensor& gamma = {}, const Tensor& beta = {}, double eps = 1e-5,
                     MemoryFormat format = MemoryFormat::channels_first);

// The norm followed by leaky_relu(., slope) (slope 0: relu; slope >= 0, else an error) as ONE
// op: the same as leaky_relu(batch_norm(...), slope) up to float rounding (the kernel applies
// per-channel scale = gamma inv_std and shift = beta - mean scale in the tensor's precision,
// math::norm_act_apply), one pass over memory forward, and the node keeps the OUTPUT y for the
// activation's mask (y > 0), not the normalised pre-activation. Running statistics, checks,
// dtypes and double backward (an error) are batch_norm's / instance_norm's.
// nn::Sequential uses these when a norm layer is followed by a ReLU / LeakyReLU layer.
Tensor batch_norm_act(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& running_mean,
                      const Tensor& running_var, bool training, double slope, double momentum = 0.1,
                      double eps = 1e-5, MemoryFormat format = MemoryFormat::channels_first);
Tensor instance_norm_act(const Tensor& x, const Tensor& gamma, const Tensor& beta, double slope, double eps = 1e-5,
                         MemoryFormat format = MemoryFormat::channels_first);

}  // namespace pn
