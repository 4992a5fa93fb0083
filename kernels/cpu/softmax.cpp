#include "kernels/cpu/softmax.h"

#include <algorithm>
#include <cmath>

#include "kernels/math/low_precision.h"
#include "kernels/math/softmax_math.h"

namespace pn::cpu {

namespace {
// Columns handled together: the axis loop then walks `kBlock` contiguous values at a
// time, which keeps memory access sequential when the axis is the channel axis of NCHW.
constexpr int64_t kBlock = 256;
}  // namespace

template <class T>
void softmax_forward(const T* x, T* y, int64_t outer, int64_t axis, int64_t inner, bool log) {
  using A = math::SoftmaxAcc<T>;  // float for float32 and 16-bit types, double for float64 (softmax_math.h)
  const int64_t blocks = (inner + kBlock - 1) / kBlock;
  const int64_t tasks = outer * blocks;
#pragma omp parallel for schedule(static) if (outer * axis * inner > 32768)
  for (int64_t t = 0; t < tasks; ++t) {
    const int64_t o = t / blocks, i0 = (t % blocks) * kBlock, w = std::min(kBlock, inner - i0);
    const T* xb = x + o * axis * inner + i0;
    T* yb = y + o * axis * inner + i0;
    A mx[kBlock], s[kBlock];
    std::fill(mx, mx + w, static_cast<A>(-INFINITY));
    std::fill(s, s + w, A(0));
    for (int64_t a = 0; a < axis; ++a)
      for (int64_t i = 0; i < w; ++i) mx[i] = math::softmax_max(mx[i], static_cast<A>(xb[a * inner + i]));
    for (int64_t a = 0; a < axis; ++a)
      for (int64_t i = 0; i < w; ++i) s[i] = math::softmax_sum(s[i], static_cast<A>(xb[a * inner + i]), mx[i]);
    if (log)
      for (int64_t i = 0; i < w; ++i) s[i] = math::log_softmax_norm(s[i]);
    for (int64_t a = 0; a < axis; ++a)
      for (int64_t i = 0; i < w; ++i)
        yb[a * inner + i] = static_cast<T>(math::softmax_value(static_cast<A>(xb[a * inner + i]), mx[i], s[i], log));
  }
}

template void softmax_forward<float>(const float*, float*, int64_t, int64_t, int64_t, bool);
template void softmax_forward<double>(const double*, double*, int64_t, int64_t, int64_t, bool);
template void softmax_forward<math::bfloat16>(const math::bfloat16*, math::bfloat16*, int64_t, int64_t, int64_t, bool);
template void softmax_forward<math::float16>(const math::float16*, math::float16*, int64_t, int64_t, int64_t, bool);

}  // namespace pn::cpu
