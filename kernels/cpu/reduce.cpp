#include "kernels/cpu/reduce.h"

#include <type_traits>
#include <vector>

#include "kernels/math/low_precision.h"

namespace pn::cpu {

namespace {
constexpr int64_t kChunks = 64;  // fixed split for full reductions: thread-count independent

// v as a double, exactly (16-bit values through float, their compute type).
template <class T>
double widened(T v) {
  if constexpr (std::is_same_v<T, double>) return v;
  else return static_cast<float>(v);
}

// s + x[0] + x[1] + ... in this order (in double).
template <class T>
double sum_range(const T* x, int64_t n, double s = 0) {
  for (int64_t i = 0; i < n; ++i) s += widened(x[i]);
  return s;
}
}  // namespace

template <class T>
void sum_reduce(const T* x, T* out, const kernels::ReduceGeom& g) {
  int64_t total = 1, kept = 1;
  for (int d = 0; d < g.ndim; ++d) {
    total *= g.shape[d];
    if (!g.reduce[d]) kept *= g.shape[d];
  }
  if (kept == 1) {  // everything reduced: fixed chunks, summed in order
    std::vector<double> part(kChunks, 0.0);
    const int64_t chunk = (total + kChunks - 1) / kChunks;
#pragma omp parallel for schedule(static) if (total > 65536)
    for (int64_t c = 0; c < kChunks; ++c) {
      int64_t lo = c * chunk, hi = lo + chunk < total ? lo + chunk : total;
      if (lo < hi) part[c] = sum_range(x + lo, hi - lo);
    }
    double s = 0;
    for (double p : part) s += p;
    out[0] = static_cast<T>(s * g.scale);
    return;
  }
  // Strides of the input, and the sizes of the reduced and kept sub-spaces.
  int64_t stride[kernels::kMaxDims];
  int64_t acc = 1;
  for (int d = g.ndim - 1; d >= 0; --d) { stride[d] = acc; acc *= g.shape[d]; }
  // An output's elements are summed in memory order. The trailing reduced dimensions form
  // contiguous runs of `run` elements (a channel's D x H x W for a bias gradient), so index
  // arithmetic (divisions) is needed once per run, not once per element.
  int lead = g.ndim;  // dimensions [0, lead) hold the kept ones and the leading reduced ones
  int64_t run = 1;
  while (lead > 0 && g.reduce[lead - 1]) run *= g.shape[--lead];
  const int64_t runs = total / kept / run;
#pragma omp parallel for schedule(static) if (total > 65536)
  for (int64_t o = 0; o < kept; ++o) {
    int64_t base = 0, rem = o;
    for (int d = g.ndim - 1; d >= 0; --d)
      if (!g.reduce[d]) { base += (rem % g.shape[d]) * stride[d]; rem /= g.shape[d]; }
    double s = 0;
    for (int64_t r = 0; r < runs; ++r) {
      int64_t off = base, rr = r;
      for (int d = lead - 1; d >= 0; --d)
        if (g.reduce[d]) { off += (rr % g.shape[d]) * stride[d]; rr /= g.shape[d]; }
      s = sum_range(x + off, run, s);
    }
    out[o] = static_cast<T>(s * g.scale);
  }
}

template void sum_reduce<float>(const float*, float*, const kernels::ReduceGeom&);
template void sum_reduce<double>(const double*, double*, const kernels::ReduceGeom&);
template void sum_reduce<math::bfloat16>(const math::bfloat16*, math::bfloat16*, const kernels::ReduceGeom&);
template void sum_reduce<math::float16>(const math::float16*, math::float16*, const kernels::ReduceGeom&);

}  // namespace pn::cpu
