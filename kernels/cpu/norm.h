// CPU reference of batch and instance normalisation: fused statistics (one pass per
// group, double accumulation), normalise-and-affine, the running-statistics update and
// the fused first-order backward, and the norm fused with a following ReLU / leaky ReLU
// (norm_act: one pass forward, the activation's mask from the saved output backward).
// Geometry and per-element math: kernels/math/norm_math.h.
// Work is split over groups only, so results do not depend on the number of threads.
// T is the storage type of x, y, gy and dx: float, double, or (mixed precision) math::bfloat16
// / math::float16, whose statistics, gamma, beta, dgamma and dbeta are float
// (math::norm_param_t, written P below); all arithmetic in double / float as in norm_math.h.
#pragma once
#include <cstdint>
#include "kernels/math/norm_math.h"

namespace pn::cpu {

// The statistics / affine parameter type of storage type T (math::norm_param_t).
template <class T>
using NormParam = math::norm_param_t<T>;

// Per-group mean and biased variance of x (arrays of norm_groups(g) elements).
template <class T>
void norm_stats(const T* x, const math::NormGeom& g, NormParam<T>* mean, NormParam<T>* var);

// y = (x - mean) / sqrt(var + eps) * gamma + beta, with mean/var per group and gamma/beta
// per channel (nullptr: no affine).
template <class T>
void norm_forward(const T* x, const math::NormGeom& g, const NormParam<T>* mean, const NormParam<T>* var, double eps,
                  const NormParam<T>* gamma, const NormParam<T>* beta, T* y);

// In-place momentum update of c running statistics from batch mean and biased variance
// over `count` elements per channel (running_var gets the unbiased variance). T is the
// statistics' type (float for 16-bit tensors), never a 16-bit type.
template <class T>
void norm_running_update(T* running_mean, T* running_var, const T* mean, const T* var, int64_t c,
                         double momentum, int64_t count);

// Gradients of norm_forward given gy. batch_stats: mean/var were computed from x (so they
// depend on it); otherwise they are constants (batch norm in eval mode). dx, dgamma and
// dbeta may each be nullptr when not wanted.
template <class T>
void norm_backward(const T* x, const T* gy, const math::NormGeom& g, const NormParam<T>* mean,
                   const NormParam<T>* var, double eps, const NormParam<T>* gamma, bool batch_stats, T* dx,
                   NormParam<T>* dgamma, NormParam<T>* dbeta);

// The fused norm + activation: y = leaky_relu(norm_forward(x), slope), slope >= 0 (0: ReLU),
// computed per element as math::norm_act_apply with the group's scale and shift rounded to P
// once (no division per element; vectorised over each row), arithmetic in P.
template <class T>
void norm_act_forward(const T* x, const math::NormGeom& g, const NormParam<T>* mean, const NormParam<T>* var,
                      double eps, const NormParam<T>* gamma, const NormParam<T>* beta, double slope, T* y);

// Gradients of norm_act_forward from gy and its output y: norm_backward of gy * norm_act_mask(y,
// slope) (formed in P) without materialising that product.
template <class T>
void norm_act_backward(const T* x, const T* y, const T* gy, const math::NormGeom& g, const NormParam<T>* mean,
                       const NormParam<T>* var, double eps, const NormParam<T>* gamma, double slope, bool batch_stats,
                       T* dx, NormParam<T>* dgamma, NormParam<T>* dbeta);

}  // namespace pn::cpu
