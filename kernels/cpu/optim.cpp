#include "kernels/cpu/optim.h"

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
  template void sgd_update<T>(T*, const T*, T*, int64_t, double, double, double, double, bool, bool);
PN_INSTANTIATE(float)
PN_INSTANTIATE(double)
#undef PN_INSTANTIATE

}  // namespace pn::cpu
