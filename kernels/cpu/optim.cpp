#include "kernels/cpu/optim.h"

#include <algorithm>
#include <vector>

#include "kernels/math/optim_math.h"

namespace pn::cpu {

template <class T>
void adam_update(T* p, const T* g, T* m, T* v, int64_t n, double lr, double beta1, double beta2,
                 double eps, double weight_decay, double bias_correction1, double bias_correction2,
                 bool decoupled) {
  const T lr_ = static_cast<T>(lr), b1 = static_cast<T>(beta1), b2 = static_cast<T>(beta2);
  const T ep = static_cast<T>(eps), wd = static_cast<T>(weight_decay);
  const T bc1 = static_cast<T>(bias_correction1), bc2 = static_cast<T>(bias_correction2);
#pragma omp parallel for schedule(static) if (n > 32768)
  for (int64_t i = 0; i < n; ++i) math::adam_step(p[i], g[i], m[i], v[i], lr_, b1, b2, ep, wd, bc1, bc2, decoupled);
}

namespace {
constexpr int64_t kMultiTile = 16384;  // elements per task of adam_update_multi's loop
}  // namespace

template <class T>
void adam_update_multi(const kernels::AdamChunk* chunks, int64_t count, double lr, double beta1, double beta2,
                       double eps, double weight_decay, double bias_correction1, double bias_correction2,
                       bool decoupled) {
  const T lr_ = static_cast<T>(lr), b1 = static_cast<T>(beta1), b2 = static_cast<T>(beta2);
  const T ep = static_cast<T>(eps), wd = static_cast<T>(weight_decay);
  const T bc1 = static_cast<T>(bias_correction1), bc2 = static_cast<T>(bias_correction2);
  // Tiles of kMultiTile elements of one chunk; chunk k owns tiles [first[k], first[k + 1]).
  std::vector<int64_t> first(static_cast<size_t>(count) + 1, 0);
  int64_t elements = 0;
  for (int64_t k = 0; k < count; ++k) {
    const int64_t n = std::max<int64_t>(chunks[k].n, 0);
    first[k + 1] = first[k] + (n + kMultiTile - 1) / kMultiTile;
    elements += n;
  }
  const int64_t tiles = first[count];
#pragma omp parallel for schedule(static) if (elements > 32768)
  for (int64_t t = 0; t < tiles; ++t) {
    const int64_t k = std::upper_bound(first.begin(), first.end(), t) - first.begin() - 1;
    const kernels::AdamChunk& c = chunks[k];
    T* p = static_cast<T*>(c.p);
    const T* g = static_cast<const T*>(c.g);
    T* m = static_cast<T*>(c.m);
    T* v = static_cast<T*>(c.v);
    const int64_t begin = (t - first[k]) * kMultiTile, end = std::min(begin + kMultiTile, c.n);
    for (int64_t i = begin; i < end; ++i)
      math::adam_step(p[i], g[i], m[i], v[i], lr_, b1, b2, ep, wd, bc1, bc2, decoupled);
  }
}

template <class T>
void sgd_update(T* p, const T* g, T* buf, int64_t n, double lr, double momentum, double dampening,
                double weight_decay, bool nesterov, bool first) {
  const T lr_ = static_cast<T>(lr), mo = static_cast<T>(momentum), da = static_cast<T>(dampening);
  const T wd = static_cast<T>(weight_decay);
  T unused = T(0);
#pragma omp parallel for schedule(static) if (n > 32768) firstprivate(unused)
  for (int64_t i = 0; i < n; ++i)
    math::sgd_momentum_step(p[i], g[i], buf ? buf[i] : unused, lr_, mo, da, wd, nesterov, first);
}

#define PN_INSTANTIATE(T)                                                                              \
  template void adam_update<T>(T*, const T*, T*, T*, int64_t, double, double, double, double, double,  \
                               double, double, bool);                                                  \
  template void adam_update_multi<T>(const kernels::AdamChunk*, int64_t, double, double, double, double, double, \
                                     double, double, bool);                                                   \
  template void sgd_update<T>(T*, const T*, T*, int64_t, double, double, double, double, bool, bool);
PN_INSTANTIATE(float)
PN_INSTANTIATE(double)
#undef PN_INSTANTIATE

}  // namespace pn::cpu
