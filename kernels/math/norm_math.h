// Per-element and per-group math of batch and instance normalisation, shared by the CPU
// reference and the CUDA kernels. A tensor [N, C, S...] is viewed as [N, C, S] with S the
// product of the spatial sizes; statistics are taken per group: per channel over (N, S)
// for batch norm, per (n, c) over S for instance norm. Gamma and beta are per channel.
//
// Mixed precision: a tensor may be stored in a 16-bit type (bfloat16 / float16: x, y, dy, dx)
// while the statistics (mean, var, running statistics), gamma, beta and their gradients stay
// float32 (norm_param_t), as PyTorch's autocast and cuDNN keep them; the math below runs in
// double (statistics, apply, backward) or float (the fused norm_act_apply), never in 16 bits.
#pragma once
#include <cmath>
#include <cstdint>
#include <type_traits>
#include "kernels/math/hd.h"
#include "kernels/op_geometry.h"

namespace pn::math {

using std::sqrt;

// The geometry of a normalisation (kernels/op_geometry.h): sizes and whether groups are (n, c) or c.
using kernels::NormGeom;

// The type of a norm's statistics and affine parameters (and of their gradients, and of the
// fused norm_act's scale, shift and arithmetic) for tensors stored as T: float for the 16-bit
// storage types (math::bfloat16 / float16 here, __nv_bfloat16 / __half in CUDA kernels), T
// itself for float and double.
template <class T>
using norm_param_t = std::conditional_t<(sizeof(T) < sizeof(float)), float, T>;

PN_HD int64_t norm_groups(const NormGeom& g) { return g.per_instance ? g.n * g.c : g.c; }
// Elements per group, M in the formulas below.
PN_HD int64_t norm_group_size(const NormGeom& g) { return g.per_instance ? g.s : g.n * g.s; }
// Rows of S contiguous elements that make up a group, and the offset of row r of group grp.
PN_HD int64_t norm_group_rows(const NormGeom& g) { return g.per_instance ? 1 : g.n; }
PN_HD int64_t norm_channel(const NormGeom& g, int64_t grp) { return g.per_instance ? grp % g.c : grp; }
PN_HD int64_t norm_row_offset(const NormGeom& g, int64_t grp, int64_t r) {
  return g.per_instance ? grp * g.s : (r * g.c + grp) * g.s;
}
// The offset of element pos of row r of group grp in either layout: channels-first, rows of S
// contiguous elements (norm_row_offset); channels-last ([N, S, C]), voxel pos of sample n at
// (n S + pos) C + c, the row being the sample (batch norm) or the group's one row (instance norm).
PN_HD int64_t norm_element_offset(const NormGeom& g, int64_t grp, int64_t r, int64_t pos) {
  if (!g.channels_last) return norm_row_offset(g, grp, r) + pos;
  const int64_t n = g.per_instance ? grp / g.c : r;
  return (n * g.s + pos) * g.c + norm_channel(g, grp);
}
// The group of the element at `offset` (either layout).
PN_HD int64_t norm_group_of(const NormGeom& g, int64_t offset) {
  const int64_t c = g.channels_last ? offset % g.c : offset / g.s % g.c;
  return g.per_instance ? offset / (g.s * g.c) * g.c + c : c;  // a sample spans S C elements in both
}

// Running moments of one group in a single pass. Values are shifted by the first one so
// that sum and sum of squares do not cancel catastrophically when |mean| >> std.
struct MomentAcc {
  double shift = 0, sum = 0, sumsq = 0;
  int64_t count = 0;
  PN_HD void add(double x) {
    if (count == 0) shift = x;
    const double d = x - shift;
    sum += d;
    sumsq += d * d;
    ++count;
  }
  PN_HD double mean() const { return count ? shift + sum / static_cast<double>(count) : 0.0; }
  // Biased (population) variance, the one used to normalise.
  PN_HD double var() const {
    if (count == 0) return 0.0;
    const double m = sum / static_cast<double>(count);
    const double v = sumsq / static_cast<double>(count) - m * m;
    return v > 0 ? v : 0.0;
  }
};

// Parallel moments: a group's share as (count, mean, m2), m2 the sum of squared deviations
// from the mean; shares are merged pairwise (Chan et al.):
//   n = na + nb, d = mean_b - mean_a, mean = mean_a + d nb / n, m2 = m2a + m2b + d^2 na nb / n.
// A MomentAcc gives its share as (count, mean(), sumsq - sum^2 / count).
PN_HD void merge_moments(double& n_a, double& mean_a, double& m2_a, double n_b, double mean_b, double m2_b) {
  if (n_b == 0) return;
  if (n_a == 0) { n_a = n_b; mean_a = mean_b; m2_a = m2_b; return; }
  const double n = n_a + n_b, d = mean_b - mean_a;
  mean_a += d * n_b / n;
  m2_a += m2_b + d * d * n_a * n_b / n;
  n_a = n;
}
PN_HD double moments_m2(const MomentAcc& a) {
  return a.count ? a.sumsq - a.sum * a.sum / static_cast<double>(a.count) : 0.0;
}
// Biased variance of merged moments, clamped like MomentAcc::var.
PN_HD double moments_var(double n, double m2) { return n > 0 && m2 > 0 ? m2 / n : 0.0; }

PN_HD double norm_inv_std(double var, double eps) { return 1.0 / sqrt(var + eps); }

// y = (x - mean) * inv_std * gamma + beta.
template <class T>
PN_HD T norm_apply(T x, double mean, double inv_std, double gamma, double beta) {
  return static_cast<T>((static_cast<double>(x) - mean) * inv_std * gamma + beta);
}

// norm_apply in affine form, y = x * scale + shift with scale = gamma inv_std and
// shift = beta - mean scale: computed once per group, so that a fused kernel applies it in the
// tensor's precision (one multiply-add per element; kernels/cuda/workbench/norm_apply.cu).
PN_HD void norm_affine(double mean, double inv_std, double gamma, double beta, double& scale, double& shift) {
  scale = gamma * inv_std;
  shift = beta - mean * scale;
}

// The fused norm + activation (norm_act): y = act(x * scale + shift), with per-group scale and
// shift from norm_affine rounded once to the tensor's type T (float32 for float tensors: one
// multiply, one add and a select per element, no division), and act the leaky ReLU of slope
// >= 0 (slope 0: ReLU). Against norm_apply in double followed by the activation, a float result
// differs by a few ulp of |x scale| + |shift| (the rounding of scale and shift).
// Both branches are computed, then selected: no control flow, so CPU loops vectorise.
template <class T>
PN_HD T norm_act_apply(T x, T scale, T shift, T slope) {
  const T z = x * scale + shift;
  const T negative = z * slope;
  return z > T(0) ? z : negative;
}
// d act / d z from the activation's OUTPUT y (so the backward keeps y, not z): for slope >= 0,
// y > 0 exactly when z > 0, and the derivative is 1 there and slope elsewhere (z = 0 included, as
// Unary::LeakyMask).
template <class T>
PN_HD T norm_act_mask(T y, T slope) {
  return y > T(0) ? T(1) : slope;
}

// PyTorch's running-statistics update: r = (1 - momentum) r + momentum * batch, with the
// unbiased variance var * M / (M - 1) for running_var.
PN_HD double running_update(double running, double batch, double momentum) {
  return (1.0 - momentum) * running + momentum * batch;
}
PN_HD double unbiased_var(double biased, int64_t m) {
  return m > 1 ? biased * static_cast<double>(m) / static_cast<double>(m - 1) : biased;
}

// dx of one element, from its output gradient gy. With batch statistics (training):
//   dx = gamma * inv_std * (gy - sum(gy)/M - xhat * sum(gy xhat)/M),
// i.e. (1/M) inv_std (M dxhat - sum(dxhat) - xhat sum(dxhat xhat)) with dxhat = gy gamma;
// with fixed statistics (eval) the mean terms vanish: dx = gamma * inv_std * gy.
// The derivation: docs/03-normalisation.md.
template <class T>
PN_HD T norm_backward_dx(T gy, double xhat, double inv_std, double gamma, double mean_gy, double mean_gy_xhat,
                         bool batch_stats) {
  const double gy_d = static_cast<double>(gy);
  const double inner = batch_stats ? gy_d - mean_gy - xhat * mean_gy_xhat : gy_d;
  return static_cast<T>(gamma * inv_std * inner);
}

}  // namespace pn::math
