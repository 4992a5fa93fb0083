#include "kernels/cpu/norm.h"

#include <vector>

namespace pn::cpu {

namespace {
// Parallelise over groups only when there is enough work to pay for the threads.
bool worth_threads(const math::NormGeom& g) { return g.n * g.c * g.s > 32768; }
}  // namespace

template <class T>
void norm_stats(const T* x, const math::NormGeom& g, T* mean, T* var) {
  const int64_t groups = math::norm_groups(g), rows = math::norm_group_rows(g);
#pragma omp parallel for schedule(static) if (worth_threads(g))
  for (int64_t grp = 0; grp < groups; ++grp) {
    math::MomentAcc acc;
    for (int64_t r = 0; r < rows; ++r) {
      const T* p = x + math::norm_row_offset(g, grp, r);
      for (int64_t i = 0; i < g.s; ++i) acc.add(static_cast<double>(p[i]));
    }
    mean[grp] = static_cast<T>(acc.mean());
    var[grp] = static_cast<T>(acc.var());
  }
}

template <class T>
void norm_forward(const T* x, const math::NormGeom& g, const T* mean, const T* var, double eps,
                  const T* gamma, const T* beta, T* y) {
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

template <class T>
void norm_backward(const T* x, const T* gy, const math::NormGeom& g, const T* mean, const T* var,
                   double eps, const T* gamma, bool batch_stats, T* dx, T* dgamma, T* dbeta) {
  const int64_t groups = math::norm_groups(g), rows = math::norm_group_rows(g);
  const double inv_m = 1.0 / static_cast<double>(math::norm_group_size(g));
  // Per group: sum(gy) and sum(gy * xhat), in double.
  std::vector<double> sum_gy(groups, 0.0), sum_gy_xhat(groups, 0.0);
#pragma omp parallel for schedule(static) if (worth_threads(g))
  for (int64_t grp = 0; grp < groups; ++grp) {
    const double group_mean = mean[grp], inv_std = math::norm_inv_std(var[grp], eps);
    double s_gy = 0, s_gy_xhat = 0;
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t off = math::norm_row_offset(g, grp, r);
      for (int64_t i = 0; i < g.s; ++i) {
        const double gy_i = gy[off + i];
        s_gy += gy_i;
        s_gy_xhat += gy_i * (static_cast<double>(x[off + i]) - group_mean) * inv_std;
      }
    }
    sum_gy[grp] = s_gy;
    sum_gy_xhat[grp] = s_gy_xhat;
  }
  if (dx) {
#pragma omp parallel for schedule(static) if (worth_threads(g))
    for (int64_t grp = 0; grp < groups; ++grp) {
      const int64_t c = math::norm_channel(g, grp);
      const double group_mean = mean[grp], inv_std = math::norm_inv_std(var[grp], eps);
      const double scale = gamma ? static_cast<double>(gamma[c]) : 1.0;
      const double mean_gy = sum_gy[grp] * inv_m, mean_gy_xhat = sum_gy_xhat[grp] * inv_m;
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t off = math::norm_row_offset(g, grp, r);
        for (int64_t i = 0; i < g.s; ++i) {
          const double xhat = (static_cast<double>(x[off + i]) - group_mean) * inv_std;
          dx[off + i] = math::norm_backward_dx(gy[off + i], xhat, inv_std, scale, mean_gy, mean_gy_xhat, batch_stats);
        }
      }
    }
  }
  // dgamma = sum(g xhat), dbeta = sum(g) per channel: over the n groups of a channel in
  // instance norm, the single group in batch norm.
  const int64_t per_channel = groups / g.c;
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

#define PN_INSTANTIATE(T)                                                                              \
  template void norm_stats<T>(const T*, const math::NormGeom&, T*, T*);                                \
  template void norm_forward<T>(const T*, const math::NormGeom&, const T*, const T*, double, const T*, \
                                const T*, T*);                                                         \
  template void norm_running_update<T>(T*, T*, const T*, const T*, int64_t, double, int64_t);          \
  template void norm_backward<T>(const T*, const T*, const math::NormGeom&, const T*, const T*, double, \
                                 const T*, bool, T*, T*, T*);
PN_INSTANTIATE(float)
PN_INSTANTIATE(double)
#undef PN_INSTANTIATE

}  // namespace pn::cpu
