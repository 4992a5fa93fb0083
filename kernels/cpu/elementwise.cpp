#include "kernels/cpu/elementwise.h"

namespace pn::cpu {

template <class T>
void unary(math::Unary op, const T* x, T* y, int64_t n, T p0, T p1) {
#pragma omp parallel for schedule(static) if (n > 32768)
  for (int64_t i = 0; i < n; ++i) y[i] = math::apply_unary(op, x[i], p0, p1);
}

template <class T>
void binary(math::Binary op, const T* a, const T* b, T* out, const kernels::BroadcastGeom& g) {
  const int last = g.ndim - 1;
  const int64_t inner = g.shape[last], sa = g.stride_a[last], sb = g.stride_b[last];
  const int64_t outer = g.numel() / (inner > 0 ? inner : 1);
  if (inner == 0) return;
#pragma omp parallel for schedule(static) if (outer * inner > 32768)
  for (int64_t o = 0; o < outer; ++o) {
    // Offsets of this row in a and b, from the outer multi-index.
    int64_t rem = o, oa = 0, ob = 0;
    for (int d = last - 1; d >= 0; --d) {
      int64_t idx = rem % g.shape[d];
      rem /= g.shape[d];
      oa += idx * g.stride_a[d];
      ob += idx * g.stride_b[d];
    }
    T* y = out + o * inner;
    const T* pa = a + oa;
    const T* pb = b + ob;
    for (int64_t i = 0; i < inner; ++i) y[i] = math::apply_binary(op, pa[i * sa], pb[i * sb]);
  }
}

template <class T>
void where(const T* cond, const T* a, const T* b, T* y, int64_t n) {
#pragma omp parallel for schedule(static) if (n > 32768)
  for (int64_t i = 0; i < n; ++i) y[i] = cond[i] != T(0) ? a[i] : b[i];
}

template <class T>
void fill(T* x, int64_t n, T value) {
  for (int64_t i = 0; i < n; ++i) x[i] = value;
}

template <class Src, class Dst>
void cast(const Src* x, Dst* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<Dst>(x[i]);
}

#define PN_INSTANTIATE(T)                                                                    \
  template void unary<T>(math::Unary, const T*, T*, int64_t, T, T);                          \
  template void binary<T>(math::Binary, const T*, const T*, T*, const kernels::BroadcastGeom&); \
  template void where<T>(const T*, const T*, const T*, T*, int64_t);                         \
  template void fill<T>(T*, int64_t, T);
PN_INSTANTIATE(float)
PN_INSTANTIATE(double)
#undef PN_INSTANTIATE
template void cast<float, double>(const float*, double*, int64_t);
template void cast<double, float>(const double*, float*, int64_t);
template void cast<float, float>(const float*, float*, int64_t);
template void cast<double, double>(const double*, double*, int64_t);

}  // namespace pn::cpu
