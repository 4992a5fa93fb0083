#include "kernels/cpu/norm.h"

#include <algorithm>
#include <type_traits>
#include <vector>

#include "kernels/cpu/norm_channels_last.h"
#include "kernels/math/low_precision.h"

namespace pn::cpu {

namespace {
// Parallelise over groups only when there is enough work to pay for the threads.
bool worth_threads(const math::NormGeom& g) { return g.n * g.c * g.s > 32768; }

// acc.add(p[i]) for i < n: the same shifted sums (the group's first value is the shift), as a
// simd reduction (several partial sums added at the end) so that the loop vectorises.
template <class T>
void add_row(math::MomentAcc& acc, const T* p, int64_t n) {
  if (n == 0) return;
  if (acc.count == 0) acc.shift = static_cast<double>(p[0]);
  const double shift = acc.shift;
  double sum = 0, sumsq = 0;
#pragma omp simd reduction(+ : sum, sumsq)
  for (int64_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(p[i]) - shift;
    sum += d;
    sumsq += d * d;
  }
  acc.sum += sum;
  acc.sumsq += sumsq;
  acc.count += n;
}
}  // namespace

template <class T>
void norm_stats(const T* x, const math::NormGeom& g, NormParam<T>* mean, NormParam<T>* var) {
  if (g.channels_last) return channels_last::norm_stats(x, g, mean, var);
  const int64_t groups = math::norm_groups(g), rows = math::norm_group_rows(g);
#pragma omp parallel for schedule(static) if (worth_threads(g))
  for (int64_t grp = 0; grp < groups; ++grp) {
    math::MomentAcc acc;
    for (int64_t r = 0; r < rows; ++r) {
      add_row(acc, x + math::norm_row_offset(g, grp, r), g.s);
    }
    mean[grp] = static_cast<NormParam<T>>(acc.mean());
    var[grp] = static_cast<NormParam<T>>(acc.var());
  }
}

template <class T>
void norm_forward(const T* x, const math::NormGeom& g, const NormParam<T>* mean, const NormParam<T>* var, double eps,
                  const NormParam<T>* gamma, const NormParam<T>* beta, T* y) {
  if (g.channels_last) return channels_last::norm_forward(x, g, mean, var, eps, gamma, beta, y);
  const int64_t groups = math::norm_groups(g), rows = math::norm_group_rows(g);
#pragma omp parallel for schedule(static) if (worth_threads(g))
  for (int64_t grp = 0; grp < groups; ++grp) {
    const int64_t c = math::norm_channel(g, grp);
    const double group_mean = mean[grp], inv_std = math::norm_inv_std(var[grp], eps);
    const double scale = gamma ? static_cast<double>(gamma[c]) : 1.0, shift = beta ? static_cast<double>(beta[c]) : 0.0;
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t off = math::norm_row_offset(g, grp, r);
      for (int64_t i = 0; i < g.s; ++i) y[off + i] = math::norm_apply(x[off + i], group_mean, inv_std, scale, shift);
    }
  }
}

template <class T>
void norm_running_update(T* running_mean, T* running_var, const T* mean, const T* var, int64_t c,
                         double momentum, int64_t count) {
  for (int64_t i = 0; i < c; ++i) {
    running_mean[i] = static_cast<T>(math::running_update(running_mean[i], mean[i], momentum));
    running_var[i] = static_cast<T>(math::running_update(running_var[i], math::unbiased_var(var[i], count), momentum));
  }
}

namespace {

// Rows are walked in pieces of at most kPiece elements. With the fused activation, a piece's
// gz = gy * norm_act_mask(y) is first formed in P (for float tensors in T, as the unfused
// leaky_relu's backward multiplies them) by a branch-free, vectorised loop into a small
// buffer; the double loops then read gz. Without it they read gy itself.
constexpr int64_t kPiece = 512;

template <class T, bool kAct, class P = NormParam<T>>
const auto* output_grad_piece(const T* gy, const T* y, P slope, int64_t e, int64_t len, P* buf) {
  if constexpr (!kAct) {
    return gy + e;
  } else {
    for (int64_t i = 0; i < len; ++i)
      buf[i] = static_cast<P>(gy[e + i]) * math::norm_act_mask(static_cast<P>(y[e + i]), slope);
    return static_cast<const P*>(buf);
  }
}

// One group's sum(gz) and sum(gz * xhat), in double. The element loops are simd reductions
// (several partial sums, added at the end) so that they vectorise; xhat's inv_std is
// applied to the finished sum.
template <class T, bool kAct, class P = NormParam<T>>
void group_sums(const T* x, const T* y, const T* gy, P slope, const math::NormGeom& g, int64_t grp, double group_mean,
                double inv_std, double& sum_gy, double& sum_gy_xhat) {
  double s_gy = 0, s_gy_xc = 0;
  P buf[kPiece];
  for (int64_t r = 0; r < math::norm_group_rows(g); ++r) {
    const int64_t off = math::norm_row_offset(g, grp, r);
    for (int64_t p = 0; p < g.s; p += kPiece) {
      const int64_t len = std::min(kPiece, g.s - p);
      const auto* gz = output_grad_piece<T, kAct>(gy, y, slope, off + p, len, buf);
      const T* xp = x + off + p;
#pragma omp simd reduction(+ : s_gy, s_gy_xc)
      for (int64_t i = 0; i < len; ++i) {
        const double gy_i = static_cast<double>(gz[i]);
        s_gy += gy_i;
        s_gy_xc += gy_i * (static_cast<double>(xp[i]) - group_mean);
      }
    }
  }
  sum_gy = s_gy;
  sum_gy_xhat = s_gy_xc * inv_std;
}

// One group's dx from its sums (math::norm_backward_dx per element).
template <class T, bool kAct, class P = NormParam<T>>
void group_dx(const T* x, const T* y, const T* gy, P slope, const math::NormGeom& g, int64_t grp, double group_mean,
              double inv_std, double scale, bool batch_stats, double sum_gy, double sum_gy_xhat, T* dx) {
  const double inv_m = 1.0 / static_cast<double>(math::norm_group_size(g));
  const double mean_gy = sum_gy * inv_m, mean_gy_xhat = sum_gy_xhat * inv_m;
  P buf[kPiece];
  for (int64_t r = 0; r < math::norm_group_rows(g); ++r) {
    const int64_t off = math::norm_row_offset(g, grp, r);
    for (int64_t p = 0; p < g.s; p += kPiece) {
      const int64_t len = std::min(kPiece, g.s - p);
      const auto* gz = output_grad_piece<T, kAct>(gy, y, slope, off + p, len, buf);
      const T* xp = x + off + p;
      T* dxp = dx + off + p;
#pragma omp simd
      for (int64_t i = 0; i < len; ++i) {
        const double xhat = (static_cast<double>(xp[i]) - group_mean) * inv_std;
        dxp[i] =
            static_cast<T>(math::norm_backward_dx(gz[i], xhat, inv_std, scale, mean_gy, mean_gy_xhat, batch_stats));
      }
    }
  }
}

// Per group: its sums, then at once (its data still in cache) its dx.
template <class T, bool kAct, class P = NormParam<T>>
void backward_groups(const T* x, const T* y, const T* gy, P slope, const math::NormGeom& g, const P* mean, const P* var,
                     double eps, const P* gamma, bool batch_stats, T* dx, double* sum_gy, double* sum_gy_xhat) {
  const int64_t groups = math::norm_groups(g);
#pragma omp parallel for schedule(static) if (worth_threads(g))
  for (int64_t grp = 0; grp < groups; ++grp) {
    const int64_t c = math::norm_channel(g, grp);
    const double group_mean = mean[grp], inv_std = math::norm_inv_std(var[grp], eps);
    group_sums<T, kAct>(x, y, gy, slope, g, grp, group_mean, inv_std, sum_gy[grp], sum_gy_xhat[grp]);
    if (dx)
      group_dx<T, kAct>(x, y, gy, slope, g, grp, group_mean, inv_std, gamma ? static_cast<double>(gamma[c]) : 1.0,
                        batch_stats, sum_gy[grp], sum_gy_xhat[grp], dx);
  }
}

// dgamma = sum(g xhat), dbeta = sum(g) per channel: over the n groups of a channel in
// instance norm, the single group in batch norm.
template <class T>
void backward_affine(const math::NormGeom& g, const double* sum_gy, const double* sum_gy_xhat, T* dgamma, T* dbeta) {
  const int64_t per_channel = math::norm_groups(g) / g.c;
  for (int64_t c = 0; c < g.c; ++c) {
    double s_gy = 0, s_gy_xhat = 0;
    for (int64_t k = 0; k < per_channel; ++k) {
      const int64_t grp = g.per_instance ? k * g.c + c : c;
      s_gy += sum_gy[grp];
      s_gy_xhat += sum_gy_xhat[grp];
    }
    if (dbeta) dbeta[c] = static_cast<T>(s_gy);
    if (dgamma) dgamma[c] = static_cast<T>(s_gy_xhat);
  }
}

template <class T, bool kAct, class P = NormParam<T>>
void backward(const T* x, const T* y, const T* gy, P slope, const math::NormGeom& g, const P* mean, const P* var,
              double eps, const P* gamma, bool batch_stats, T* dx, P* dgamma, P* dbeta) {
  const auto groups = static_cast<size_t>(math::norm_groups(g));
  std::vector<double> sum_gy(groups, 0.0), sum_gy_xhat(groups, 0.0);
  backward_groups<T, kAct>(x, y, gy, slope, g, mean, var, eps, gamma, batch_stats, dx, sum_gy.data(),
                           sum_gy_xhat.data());
  backward_affine(g, sum_gy.data(), sum_gy_xhat.data(), dgamma, dbeta);
}

}  // namespace

template <class T>
void norm_backward(const T* x, const T* gy, const math::NormGeom& g, const NormParam<T>* mean,
                   const NormParam<T>* var, double eps, const NormParam<T>* gamma, bool batch_stats, T* dx,
                   NormParam<T>* dgamma, NormParam<T>* dbeta) {
  if (g.channels_last)
    return channels_last::norm_backward<T>(x, nullptr, gy, g, mean, var, eps, gamma, 0.0, batch_stats, dx, dgamma,
                                           dbeta);
  backward<T, false>(x, nullptr, gy, NormParam<T>(0), g, mean, var, eps, gamma, batch_stats, dx, dgamma, dbeta);
}

namespace {

// One row of norm_act_forward: y = norm_act_apply(x) in P. 16-bit rows go through a float
// buffer in pieces (widen, the vectorised float loop, narrow), which vectorises where the
// element-wise conversions inside one loop do not.
template <class T, class P>
void act_row(const T* x, T* y, int64_t s, P scale, P shift, P slope) {
  if constexpr (std::is_same_v<T, P>) {
#pragma omp simd
    for (int64_t i = 0; i < s; ++i) y[i] = math::norm_act_apply(x[i], scale, shift, slope);
  } else {
    P buf[kPiece];
    for (int64_t p = 0; p < s; p += kPiece) {
      const int64_t len = std::min(kPiece, s - p);
      for (int64_t i = 0; i < len; ++i) buf[i] = static_cast<P>(x[p + i]);
#pragma omp simd
      for (int64_t i = 0; i < len; ++i) buf[i] = math::norm_act_apply(buf[i], scale, shift, slope);
      for (int64_t i = 0; i < len; ++i) y[p + i] = static_cast<T>(buf[i]);
    }
  }
}

}  // namespace

template <class T>
void norm_act_forward(const T* x, const math::NormGeom& g, const NormParam<T>* mean, const NormParam<T>* var,
                      double eps, const NormParam<T>* gamma, const NormParam<T>* beta, double slope, T* y) {
  if (g.channels_last) return channels_last::norm_act_forward(x, g, mean, var, eps, gamma, beta, slope, y);
  using P = NormParam<T>;
  const int64_t groups = math::norm_groups(g), rows = math::norm_group_rows(g);
  const P act_slope = static_cast<P>(slope);
#pragma omp parallel for schedule(static) if (worth_threads(g))
  for (int64_t grp = 0; grp < groups; ++grp) {
    const int64_t c = math::norm_channel(g, grp);
    double scale_d = 0, shift_d = 0;
    math::norm_affine(mean[grp], math::norm_inv_std(var[grp], eps), gamma ? static_cast<double>(gamma[c]) : 1.0,
                      beta ? static_cast<double>(beta[c]) : 0.0, scale_d, shift_d);
    const P scale = static_cast<P>(scale_d), shift = static_cast<P>(shift_d);
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t off = math::norm_row_offset(g, grp, r);
      act_row(x + off, y + off, g.s, scale, shift, act_slope);
    }
  }
}

template <class T>
void norm_act_backward(const T* x, const T* y, const T* gy, const math::NormGeom& g, const NormParam<T>* mean,
                       const NormParam<T>* var, double eps, const NormParam<T>* gamma, double slope, bool batch_stats,
                       T* dx, NormParam<T>* dgamma, NormParam<T>* dbeta) {
  if (g.channels_last)
    return channels_last::norm_backward(x, y, gy, g, mean, var, eps, gamma, slope, batch_stats, dx, dgamma, dbeta);
  backward<T, true>(x, y, gy, static_cast<NormParam<T>>(slope), g, mean, var, eps, gamma, batch_stats, dx, dgamma, dbeta);
}

// Storage types T (16-bit ones with float statistics and parameters, P); the running
// statistics' update takes the statistics' type, never a 16-bit one.
#define PN_INSTANTIATE(T, P)                                                                                  \
  template void norm_stats<T>(const T*, const math::NormGeom&, P*, P*);                                       \
  template void norm_forward<T>(const T*, const math::NormGeom&, const P*, const P*, double, const P*,        \
                                const P*, T*);                                                                \
  template void norm_backward<T>(const T*, const T*, const math::NormGeom&, const P*, const P*, double,       \
                                 const P*, bool, T*, P*, P*);                                                 \
  template void norm_act_forward<T>(const T*, const math::NormGeom&, const P*, const P*, double, const P*,    \
                                    const P*, double, T*);                                                    \
  template void norm_act_backward<T>(const T*, const T*, const T*, const math::NormGeom&, const P*, const P*, \
                                     double, const P*, double, bool, T*, P*, P*);
PN_INSTANTIATE(float, float)
PN_INSTANTIATE(double, double)
PN_INSTANTIATE(math::bfloat16, float)
PN_INSTANTIATE(math::float16, float)
#undef PN_INSTANTIATE
template void norm_running_update<float>(float*, float*, const float*, const float*, int64_t, double, int64_t);
template void norm_running_update<double>(double*, double*, const double*, const double*, int64_t, double, int64_t);

}  // namespace pn::cpu
