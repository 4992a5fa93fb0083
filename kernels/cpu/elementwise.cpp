#include "kernels/cpu/elementwise.h"

#include <utility>

namespace pn::cpu {

namespace {

// The loops take the per-element function as a functor. The dispatchers below pass one
// with the op fixed at compile time, so the switch in apply_unary/apply_binary folds away
// and simple ops vectorise; an op missing from the dispatch range still runs, through a
// functor that switches at run time.
// Each thread works on its own copy of the functor: reached through the shared one, its
// captured parameters (a slope, a clamp bound) were reloaded after every store (y might
// alias them), which kept the loop scalar, and x > 0 ? x : slope * x became a branch that
// mispredicts on half of a ReLU's inputs (leaky ReLU was 9 % of a U-Net step). `simd`:
// y[i] depends on x[i] alone, so in-place calls (y == x) vectorise safely too.
template <class T, class F>
void unary_loop(const T* x, T* y, int64_t n, F f) {
#pragma omp parallel if (n > 32768)
  {
    const F fn = f;
#pragma omp for simd schedule(static)
    for (int64_t i = 0; i < n; ++i) y[i] = fn(x[i]);
  }
}

// One row of a broadcast binary op; unit or zero strides get their own loops.
template <class T, class F>
void binary_row(const T* pa, int64_t sa, const T* pb, int64_t sb, T* y, int64_t inner, F f) {
  if (sa == 1 && sb == 1) {
    for (int64_t i = 0; i < inner; ++i) y[i] = f(pa[i], pb[i]);
  } else if (sa == 1 && sb == 0) {
    const T b = pb[0];
    for (int64_t i = 0; i < inner; ++i) y[i] = f(pa[i], b);
  } else if (sa == 0 && sb == 1) {
    const T a = pa[0];
    for (int64_t i = 0; i < inner; ++i) y[i] = f(a, pb[i]);
  } else {
    for (int64_t i = 0; i < inner; ++i) y[i] = f(pa[i * sa], pb[i * sb]);
  }
}

template <class T, class F>
void binary_loop(const T* a, const T* b, T* out, const kernels::BroadcastGeom& g, F f) {
  const int last = g.ndim - 1;
  const int64_t inner = g.shape[last], sa = g.stride_a[last], sb = g.stride_b[last];
  if (inner == 0) return;
  const int64_t outer = g.numel() / inner;
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
    binary_row(a + oa, sa, b + ob, sb, out + o * inner, inner, f);
  }
}

// Calls f.template operator()<OP>() for the enumerator equal to op; false if none is.
template <class E, class F, int... I>
bool dispatch_op(E op, F&& f, std::integer_sequence<int, I...>) {
  return ((static_cast<int>(op) == I ? (f.template operator()<static_cast<E>(I)>(), true) : false) || ...);
}

constexpr int kUnaryOps = static_cast<int>(math::Unary::Count);
constexpr int kBinaryOps = static_cast<int>(math::Binary::Count);

}  // namespace

// Every element goes through compute type C (float for 16-bit T, else T itself: the casts are
// then no-ops): widened, computed, rounded once.
template <class T>
void unary(math::Unary op, const T* x, T* y, int64_t n, math::compute_t<T> p0, math::compute_t<T> p1) {
  using C = math::compute_t<T>;
  auto fixed = [&]<math::Unary OP>() {
    unary_loop(x, y, n, [p0, p1](T v) { return static_cast<T>(math::apply_unary(OP, static_cast<C>(v), p0, p1)); });
  };
  if (!dispatch_op(op, fixed, std::make_integer_sequence<int, kUnaryOps>{}))
    unary_loop(x, y, n, [op, p0, p1](T v) { return static_cast<T>(math::apply_unary(op, static_cast<C>(v), p0, p1)); });
}

template <class T>
void binary(math::Binary op, const T* a, const T* b, T* out, const kernels::BroadcastGeom& g) {
  using C = math::compute_t<T>;
  auto fixed = [&]<math::Binary OP>() {
    binary_loop(a, b, out, g,
                [](T u, T v) { return static_cast<T>(math::apply_binary(OP, static_cast<C>(u), static_cast<C>(v))); });
  };
  if (!dispatch_op(op, fixed, std::make_integer_sequence<int, kBinaryOps>{}))
    binary_loop(a, b, out, g,
                [op](T u, T v) { return static_cast<T>(math::apply_binary(op, static_cast<C>(u), static_cast<C>(v))); });
}

template <class T>
void where(const T* cond, const T* a, const T* b, T* y, int64_t n) {
  using C = math::compute_t<T>;
#pragma omp parallel for schedule(static) if (n > 32768)
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<C>(cond[i]) != C(0) ? a[i] : b[i];
}

template <class T>
void fill(T* x, int64_t n, T value) {
  for (int64_t i = 0; i < n; ++i) x[i] = value;
}

template <class Src, class Dst>
void cast(const Src* x, Dst* y, int64_t n) {
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<Dst>(x[i]);
}

#define PN_INSTANTIATE(T)                                                                    \
  template void unary<T>(math::Unary, const T*, T*, int64_t, math::compute_t<T>, math::compute_t<T>); \
  template void binary<T>(math::Binary, const T*, const T*, T*, const kernels::BroadcastGeom&); \
  template void where<T>(const T*, const T*, const T*, T*, int64_t);                         \
  template void fill<T>(T*, int64_t, T);
PN_INSTANTIATE(float)
PN_INSTANTIATE(double)
PN_INSTANTIATE(math::bfloat16)
PN_INSTANTIATE(math::float16)
#undef PN_INSTANTIATE
// Casts between every pair of the four element types (storage types through float).
#define PN_INSTANTIATE_CAST_TO(S)                                                  \
  template void cast<S, float>(const S*, float*, int64_t);                         \
  template void cast<S, double>(const S*, double*, int64_t);                       \
  template void cast<S, math::bfloat16>(const S*, math::bfloat16*, int64_t);       \
  template void cast<S, math::float16>(const S*, math::float16*, int64_t);
PN_INSTANTIATE_CAST_TO(float)
PN_INSTANTIATE_CAST_TO(double)
PN_INSTANTIATE_CAST_TO(math::bfloat16)
PN_INSTANTIATE_CAST_TO(math::float16)
#undef PN_INSTANTIATE_CAST_TO

}  // namespace pn::cpu
