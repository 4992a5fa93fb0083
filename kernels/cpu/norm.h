// CPU reference of batch and instance normalisation: fused statistics (one pass per
// group, double accumulation), normalise-and-affine, the running-statistics update and
// the fused first-order backward, and the norm fused with a following ReLU / leaky ReLU
// (norm_act: one pass forward, the activation's mask from the saved output backward).
// Geometry and per-element math: kernels/math/norm_math.h.
// Work is split over groups only, so results do not depend on the number of threads.
#pragma once
#include <cstdint>
#include "kernels/math/norm_math.h"

namespace pn::cpu {

// Per-group mean and biased variance of x (arrays of norm_groups(g) elements).
template <class T>
void norm_stats(const T* x, const math::NormGeom& g, T* mean, T* var);

// y = (x - mean) / sqrt(var + eps) * gamma + beta, with mean/var per group and gamma/beta
// per channel (nullptr: no affine).
template <class T>
void norm_forward(const T* x, const math::NormGeom& g, const T* mean, const T* var, double eps,
                  const T* gamma, const T* beta, T* y);

// In-place momentum update of c running statistics from batch mean and biased variance
// over `count` elements per channel (running_var gets the unbiased variance).
template <class T>
void norm_running_update(T* running_mean, T* running_var, const T* mean, const T* var, int64_t c,
                         double momentum, int64_t count);

// Gradients of norm_forward given gy. batch_stats: mean/var were computed from x (so they
// depend on it); otherwise they are constants (batch norm in eval mode). dx, dgamma and
// dbeta may each be nullptr when not wanted.
template <class T>
void norm_backward(const T* x, const T* gy, const math::NormGeom& g, const T* mean, const T* var,
                   double eps, const T* gamma, bool batch_stats, T* dx, T* dgamma, T* dbeta);

// The fused norm + activation: y = leaky_relu(norm_forward(x), slope), slope >= 0 (0: ReLU),
// computed per element as math::norm_act_apply with the group's scale and shift rounded to T
// once (no division per element; vectorised over each row).
template <class T>
void norm_act_forward(const T* x, const math::NormGeom& g, const T* mean, const T* var, double eps,
                      const T* gamma, const T* beta, double slope, T* y);

// Gradients of norm_act_forward from gy and its output y: norm_backward of gy * norm_act_mask(y,
// slope) without materialising that product.
template <class T>
void norm_act_backward(const T* x, const T* y, const T* gy, const math::NormGeom& g, const T* mean, const T* var,
                       double eps, const T* gamma, double slope, bool batch_stats, T* dx, T* dgamma, T* dbeta);

}  // namespace pn::cpu
