// Channels-last batch and instance normalisation on the CPU: see norm_channels_last.h.
#include "kernels/cpu/norm_channels_last.h"

#include <algorithm>
#include <vector>

#include "kernels/math/low_precision.h"

namespace pn::cpu::channels_last {

namespace {

using math::NormGeom;

constexpr int64_t kChunkVoxels = 256;  // voxels of one sample per chunk of the sums

bool worth_threads(const NormGeom& g) { return g.n * g.c * g.s > 32768; }
int64_t chunks_per_sample(const NormGeom& g) { return (g.s + kChunkVoxels - 1) / kChunkVoxels; }
// The group of channel 0 of sample n (channel c's group is this + c).
int64_t group_base(const NormGeom& g, int64_t n) { return g.per_instance ? n * g.c : 0; }

// Two double sums per group: row(n, v, acc0, acc1) adds the terms of voxel v of sample n (its C
// elements at offset v * C, v counted over all samples) to acc0[c] and acc1[c]; each chunk of one
// sample keeps its own sums, added per group in chunk order into sums[2 grp], sums[2 grp + 1].
template <class Row>
std::vector<double> chunked_sums(const NormGeom& g, const Row& row) {
  const int64_t per_sample = chunks_per_sample(g), chunks = g.n * per_sample;
  std::vector<double> part(static_cast<size_t>(chunks * 2 * g.c), 0.0);
#pragma omp parallel for schedule(static) if (worth_threads(g))
  for (int64_t k = 0; k < chunks; ++k) {
    const int64_t n = k / per_sample, v0 = (k % per_sample) * kChunkVoxels, v1 = std::min(g.s, v0 + kChunkVoxels);
    double* acc0 = part.data() + k * 2 * g.c;
    for (int64_t v = n * g.s + v0; v < n * g.s + v1; ++v) row(n, v, acc0, acc0 + g.c);
  }
  std::vector<double> sums(static_cast<size_t>(2 * math::norm_groups(g)), 0.0);
  for (int64_t k = 0; k < chunks; ++k) {
    const int64_t base = group_base(g, k / per_sample);
    const double* acc0 = part.data() + k * 2 * g.c;
    for (int64_t c = 0; c < g.c; ++c) {
      sums[2 * (base + c)] += acc0[c];
      sums[2 * (base + c) + 1] += acc0[g.c + c];
    }
  }
  return sums;
}

// Per voxel v over all samples (its C elements at offset v * C): f(v, group of its channel 0).
template <class F>
void for_each_voxel(const NormGeom& g, const F& f) {
#pragma omp parallel for schedule(static) if (worth_threads(g))
  for (int64_t v = 0; v < g.n * g.s; ++v) f(v, group_base(g, v / g.s));
}

// Per group, in double: mean, inv_std and gamma (1 without affine), so that the element loops
// read arrays instead of taking a square root per element.
struct GroupParams {
  std::vector<double> mean, inv_std, gamma;
  template <class P>
  GroupParams(const NormGeom& g, const P* m, const P* var, double eps, const P* gm) {
    const int64_t groups = math::norm_groups(g);
    mean.resize(static_cast<size_t>(groups)), inv_std.resize(mean.size()), gamma.resize(mean.size());
    for (int64_t grp = 0; grp < groups; ++grp) {
      mean[grp] = static_cast<double>(m[grp]);
      inv_std[grp] = math::norm_inv_std(var[grp], eps);
      gamma[grp] = gm ? static_cast<double>(gm[math::norm_channel(g, grp)]) : 1.0;
    }
  }
};

// gz of element i: gy, or (kAct) gy times the activation's mask from y, formed in P as the
// channels-first kernels form it.
template <bool kAct, class T, class P = NormParam<T>>
double output_grad(const T* gy, const T* y, P slope, int64_t i) {
  if constexpr (!kAct) return static_cast<double>(gy[i]);
  else return static_cast<double>(static_cast<P>(gy[i]) * math::norm_act_mask(static_cast<P>(y[i]), slope));
}

template <bool kAct, class T, class P = NormParam<T>>
void backward(const T* x, const T* y, const T* gy, const NormGeom& g, const NormParam<T>* mean,
              const NormParam<T>* var, double eps, const NormParam<T>* gamma, double slope, bool batch_stats, T* dx,
              NormParam<T>* dgamma, NormParam<T>* dbeta) {
  const P act_slope = static_cast<P>(slope);
  const GroupParams p(g, mean, var, eps, gamma);
  // sums[2 grp] = sum(gz), sums[2 grp + 1] = sum(gz (x - mean)), then times inv_std: sum(gz xhat).
  std::vector<double> sums = chunked_sums(g, [&](int64_t n, int64_t v, double* s_gy, double* s_gy_xc) {
    const double* m = p.mean.data() + group_base(g, n);
    const T* xv = x + v * g.c;
#pragma omp simd
    for (int64_t c = 0; c < g.c; ++c) {
      const double gz = output_grad<kAct>(gy, y, act_slope, v * g.c + c);
      s_gy[c] += gz;
      s_gy_xc[c] += gz * (static_cast<double>(xv[c]) - m[c]);
    }
  });
  const double inv_m = 1.0 / static_cast<double>(math::norm_group_size(g));
  std::vector<double> mean_gy(p.mean.size()), mean_gy_xhat(p.mean.size());
  for (int64_t grp = 0; grp < math::norm_groups(g); ++grp) {
    sums[2 * grp + 1] *= p.inv_std[grp];
    mean_gy[grp] = sums[2 * grp] * inv_m, mean_gy_xhat[grp] = sums[2 * grp + 1] * inv_m;
  }
  if (dx)
    for_each_voxel(g, [&](int64_t v, int64_t base) {
      const double *m = p.mean.data() + base, *is = p.inv_std.data() + base, *gm = p.gamma.data() + base;
      const double *mg = mean_gy.data() + base, *mgx = mean_gy_xhat.data() + base;
#pragma omp simd
      for (int64_t c = 0; c < g.c; ++c) {
        const int64_t i = v * g.c + c;
        const double xhat = (static_cast<double>(x[i]) - m[c]) * is[c];
        dx[i] = static_cast<T>(math::norm_backward_dx(output_grad<kAct>(gy, y, act_slope, i), xhat, is[c], gm[c],
                                                      mg[c], mgx[c], batch_stats));
      }
    });
  // dgamma = sum(gz xhat), dbeta = sum(gz) per channel, over its groups in order.
  for (int64_t c = 0; c < g.c; ++c) {
    double s_gy = 0, s_gy_xhat = 0;
    for (int64_t k = 0; k < math::norm_groups(g) / g.c; ++k) {
      const int64_t grp = g.per_instance ? k * g.c + c : c;
      s_gy += sums[2 * grp];
      s_gy_xhat += sums[2 * grp + 1];
    }
    if (dbeta) dbeta[c] = static_cast<P>(s_gy);
    if (dgamma) dgamma[c] = static_cast<P>(s_gy_xhat);
  }
}

}  // namespace

template <class T>
void norm_stats(const T* x, const NormGeom& g, NormParam<T>* mean, NormParam<T>* var) {
  // Shifted by each group's first element (sample 0's, or its own sample's first voxel), as
  // math::MomentAcc shifts a channels-first group by its first element: the same shift.
  // Empty groups (S = 0 or N = 0) have no first element: their moments are zero, as MomentAcc's.
  std::vector<double> shift(static_cast<size_t>(math::norm_groups(g)));
  for (int64_t grp = 0; grp < math::norm_groups(g) && math::norm_group_size(g) > 0; ++grp)
    shift[grp] = static_cast<double>(x[math::norm_element_offset(g, grp, 0, 0)]);
  const std::vector<double> sums = chunked_sums(g, [&](int64_t n, int64_t v, double* s, double* sq) {
    const T* xv = x + v * g.c;
    const double* sh = shift.data() + group_base(g, n);
#pragma omp simd
    for (int64_t c = 0; c < g.c; ++c) {
      const double d = static_cast<double>(xv[c]) - sh[c];
      s[c] += d;
      sq[c] += d * d;
    }
  });
  for (int64_t grp = 0; grp < math::norm_groups(g); ++grp) {
    const math::MomentAcc acc{shift[grp], sums[2 * grp], sums[2 * grp + 1], math::norm_group_size(g)};
    mean[grp] = static_cast<NormParam<T>>(acc.mean());
    var[grp] = static_cast<NormParam<T>>(acc.var());
  }
}

template <class T>
void norm_forward(const T* x, const NormGeom& g, const NormParam<T>* mean, const NormParam<T>* var, double eps,
                  const NormParam<T>* gamma, const NormParam<T>* beta, T* y) {
  const GroupParams p(g, mean, var, eps, gamma);
  for_each_voxel(g, [&](int64_t v, int64_t base) {
    for (int64_t c = 0; c < g.c; ++c) {
      const int64_t i = v * g.c + c, grp = base + c;
      y[i] = math::norm_apply(x[i], p.mean[grp], p.inv_std[grp], p.gamma[grp], beta ? static_cast<double>(beta[c]) : 0.0);
    }
  });
}

template <class T>
void norm_act_forward(const T* x, const NormGeom& g, const NormParam<T>* mean, const NormParam<T>* var, double eps,
                      const NormParam<T>* gamma, const NormParam<T>* beta, double slope, T* y) {
  using P = NormParam<T>;
  std::vector<P> scale(static_cast<size_t>(math::norm_groups(g))), shift(scale.size());
  for (int64_t grp = 0; grp < math::norm_groups(g); ++grp) {
    const int64_t c = math::norm_channel(g, grp);
    double sc = 0, sh = 0;
    math::norm_affine(mean[grp], math::norm_inv_std(var[grp], eps), gamma ? static_cast<double>(gamma[c]) : 1.0,
                      beta ? static_cast<double>(beta[c]) : 0.0, sc, sh);
    scale[grp] = static_cast<P>(sc), shift[grp] = static_cast<P>(sh);
  }
  const P act_slope = static_cast<P>(slope);
  for_each_voxel(g, [&](int64_t v, int64_t base) {
    const P *sc = scale.data() + base, *sh = shift.data() + base;
    const T* xv = x + v * g.c;
    T* yv = y + v * g.c;
#pragma omp simd
    for (int64_t c = 0; c < g.c; ++c)
      yv[c] = static_cast<T>(math::norm_act_apply(static_cast<P>(xv[c]), sc[c], sh[c], act_slope));
  });
}

template <class T>
void norm_backward(const T* x, const T* y, const T* gy, const NormGeom& g, const NormParam<T>* mean,
                   const NormParam<T>* var, double eps, const NormParam<T>* gamma, double slope, bool batch_stats,
                   T* dx, NormParam<T>* dgamma, NormParam<T>* dbeta) {
  if (y) return backward<true>(x, y, gy, g, mean, var, eps, gamma, slope, batch_stats, dx, dgamma, dbeta);
  backward<false>(x, y, gy, g, mean, var, eps, gamma, slope, batch_stats, dx, dgamma, dbeta);
}

#define PN_INSTANTIATE(T, P)                                                                                      \
  template void norm_stats<T>(const T*, const NormGeom&, P*, P*);                                                \
  template void norm_forward<T>(const T*, const NormGeom&, const P*, const P*, double, const P*, const P*, T*);   \
  template void norm_act_forward<T>(const T*, const NormGeom&, const P*, const P*, double, const P*, const P*,     \
                                    double, T*);                                                                 \
  template void norm_backward<T>(const T*, const T*, const T*, const NormGeom&, const P*, const P*, double,        \
                                 const P*, double, bool, T*, P*, P*);
PN_INSTANTIATE(float, float)
PN_INSTANTIATE(double, double)
PN_INSTANTIATE(math::bfloat16, float)
PN_INSTANTIATE(math::float16, float)
#undef PN_INSTANTIATE

}  // namespace pn::cpu::channels_last
