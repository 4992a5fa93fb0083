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

// Two double sums per group: row(v, x_row, acc0, acc1) adds the terms of voxel v (its C elements
// at offset v * C) to acc0[c] and acc1[c]; each chunk of one sample keeps its own sums, added per
// group in chunk order into sums[2 grp], sums[2 grp + 1].
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

// Per element (v the voxel over all samples, c the channel): f(offset, group, channel).
template <class F>
void for_each_element(const NormGeom& g, const F& f) {
#pragma omp parallel for schedule(static) if (worth_threads(g))
  for (int64_t v = 0; v < g.n * g.s; ++v) {
    const int64_t base = group_base(g, v / g.s);
    for (int64_t c = 0; c < g.c; ++c) f(v * g.c + c, base + c, c);
  }
}

}  // namespace

template <class T>
void norm_stats(const T* x, const NormGeom& g, NormParam<T>* mean, NormParam<T>* var) {
  // Shifted by each group's first element (sample 0's, or its own sample's first voxel), as
  // math::MomentAcc shifts a channels-first group by its first element: the same shift.
  std::vector<double> shift(static_cast<size_t>(math::norm_groups(g)));
  for (int64_t grp = 0; grp < math::norm_groups(g); ++grp)
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
  for_each_element(g, [&](int64_t i, int64_t grp, int64_t c) {
    y[i] = math::norm_apply(x[i], mean[grp], math::norm_inv_std(var[grp], eps),
                            gamma ? static_cast<double>(gamma[c]) : 1.0, beta ? static_cast<double>(beta[c]) : 0.0);
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
  for_each_element(g, [&](int64_t i, int64_t grp, int64_t) {
    y[i] = static_cast<T>(math::norm_act_apply(static_cast<P>(x[i]), scale[grp], shift[grp], act_slope));
  });
}

template <class T>
void norm_backward(const T* x, const T* y, const T* gy, const NormGeom& g, const NormParam<T>* mean,
                   const NormParam<T>* var, double eps, const NormParam<T>* gamma, double slope, bool batch_stats,
                   T* dx, NormParam<T>* dgamma, NormParam<T>* dbeta) {
  using P = NormParam<T>;
  const P act_slope = static_cast<P>(slope);
  // gz: gy, or gy times the activation's mask (formed in P, as the channels-first kernels do).
  auto gz = [&](int64_t i) -> double {
    if (!y) return static_cast<double>(gy[i]);
    return static_cast<double>(static_cast<P>(gy[i]) * math::norm_act_mask(static_cast<P>(y[i]), act_slope));
  };
  // sums[2 grp] = sum(gz), sums[2 grp + 1] = sum(gz (x - mean)), then times inv_std: sum(gz xhat).
  std::vector<double> sums = chunked_sums(g, [&](int64_t n, int64_t v, double* s_gy, double* s_gy_xc) {
    const int64_t base = group_base(g, n);
    for (int64_t c = 0; c < g.c; ++c) {
      const int64_t i = v * g.c + c;
      const double gz_i = gz(i);
      s_gy[c] += gz_i;
      s_gy_xc[c] += gz_i * (static_cast<double>(x[i]) - static_cast<double>(mean[base + c]));
    }
  });
  for (int64_t grp = 0; grp < math::norm_groups(g); ++grp) sums[2 * grp + 1] *= math::norm_inv_std(var[grp], eps);
  if (dx) {
    const double inv_m = 1.0 / static_cast<double>(math::norm_group_size(g));
    for_each_element(g, [&](int64_t i, int64_t grp, int64_t c) {
      const double inv_std = math::norm_inv_std(var[grp], eps);
      const double xhat = (static_cast<double>(x[i]) - static_cast<double>(mean[grp])) * inv_std;
      const double scale = gamma ? static_cast<double>(gamma[c]) : 1.0;
      dx[i] = static_cast<T>(math::norm_backward_dx(gz(i), xhat, inv_std, scale, sums[2 * grp] * inv_m,
                                                    sums[2 * grp + 1] * inv_m, batch_stats));
    });
  }
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
