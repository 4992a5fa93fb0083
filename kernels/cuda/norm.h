// CUDA batch and instance normalisation; mirrors kernels/cpu/norm.h argument for argument
// (plus the stream), with the geometry and per-element math of kernels/math/norm_math.h.
// Statistics are reduced in parallel (blocks per chunk of a group, moments merged pairwise), so
// they agree with the sequential CPU reference up to double rounding, not bit for bit.
// T is the storage type of x, y, gy and dx: float, double, or (mixed precision) __nv_bfloat16 /
// __half, whose statistics, gamma, beta, dgamma, dbeta (and norm_act's scale and shift) are
// float (NormParam<T> = math::norm_param_t<T>); arithmetic as in the CPU reference.
#pragma once
#include <cstdint>

#include "kernels/cuda/runtime.h"
#include "kernels/math/norm_math.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {

template <class T>
using NormParam = math::norm_param_t<T>;

template <class T>
void norm_stats(const T* x, const math::NormGeom& g, NormParam<T>* mean, NormParam<T>* var, cudaStream_t stream);

template <class T>
void norm_forward(const T* x, const math::NormGeom& g, const NormParam<T>* mean, const NormParam<T>* var, double eps,
                  const NormParam<T>* gamma, const NormParam<T>* beta, T* y, cudaStream_t stream);

// T: the statistics' type (float or double).
template <class T>
void norm_running_update(T* running_mean, T* running_var, const T* mean, const T* var, int64_t c, double momentum,
                         int64_t count, cudaStream_t stream);

// dx, dgamma, dbeta may each be nullptr. Uses a stream-ordered scratch of 2 doubles per group.
template <class T>
void norm_backward(const T* x, const T* gy, const math::NormGeom& g, const NormParam<T>* mean,
                   const NormParam<T>* var, double eps, const NormParam<T>* gamma, bool batch_stats, T* dx,
                   NormParam<T>* dgamma, NormParam<T>* dbeta, cudaStream_t stream);

// The first stage of norm_act_forward on its own, for a fused apply elsewhere (dnn_graph.h
// scale_shift_act): for each group (channel, or sample-channel for instance norm)
// scale = gamma * invstd and shift = beta - mean * scale (math::norm_affine in double, rounded
// once to T). gamma, beta may be nullptr (1, 0). Requires scale and shift to hold
// math::norm_groups(g) elements of device memory. T: the parameters' type (float or double).
template <class T>
void norm_scale_shift(const math::NormGeom& g, const T* mean, const T* var, double eps, const T* gamma, const T* beta,
                      T* scale, T* shift, cudaStream_t stream);

// The fused norm + activation and its backward (kernels/cpu/norm.h). norm_act_forward uses a
// stream-ordered scratch of 2 NormParam<T> per group (scale and shift).
template <class T>
void norm_act_forward(const T* x, const math::NormGeom& g, const NormParam<T>* mean, const NormParam<T>* var,
                      double eps, const NormParam<T>* gamma, const NormParam<T>* beta, double slope, T* y,
                      cudaStream_t stream);

template <class T>
void norm_act_backward(const T* x, const T* y, const T* gy, const math::NormGeom& g, const NormParam<T>* mean,
                       const NormParam<T>* var, double eps, const NormParam<T>* gamma, double slope, bool batch_stats,
                       T* dx, NormParam<T>* dgamma, NormParam<T>* dbeta, cudaStream_t stream);

}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda
