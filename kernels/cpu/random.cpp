#include "kernels/cpu/random.h"

#include "kernels/math/philox.h"

namespace pn::cpu {

template <class T>
void fill_normal(T* x, int64_t n, uint64_t seed, uint64_t offset, double mean, double std) {
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) x[i] = static_cast<T>(math::normal_at(seed, offset + i, mean, std));
}

template <class T>
void fill_uniform(T* x, int64_t n, uint64_t seed, uint64_t offset, double lo, double hi) {
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) x[i] = static_cast<T>(math::uniform_at(seed, offset + i, lo, hi));
}

template <class T>
void fill_bernoulli(T* x, int64_t n, uint64_t seed, uint64_t offset, double keep, double scale) {
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) x[i] = static_cast<T>(math::bernoulli_at(seed, offset + i, keep, scale));
}

#define PN_INSTANTIATE(T)                                                             \
  template void fill_normal<T>(T*, int64_t, uint64_t, uint64_t, double, double);      \
  template void fill_uniform<T>(T*, int64_t, uint64_t, uint64_t, double, double);     \
  template void fill_bernoulli<T>(T*, int64_t, uint64_t, uint64_t, double, double);
PN_INSTANTIATE(float)
PN_INSTANTIATE(double)

}  // namespace pn::cpu
