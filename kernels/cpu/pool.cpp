#include "kernels/cpu/pool.h"

#include <algorithm>
#include <vector>

#include "kernels/math/low_precision.h"
#include "kernels/math/pool_math.h"

namespace pn::cpu {

namespace {
using kernels::PoolGeom;
constexpr int64_t kParallelMin = 32768;  // elements below which threads cost more than they give
}  // namespace

template <class T>
void max_pool_forward(const PoolGeom& g, const T* x, T* y, int64_t* idx) {
  const int64_t ch = g.interleaved, iv = g.in_volume() * ch, rows = g.planes * g.out[0] * g.out[1];
  // One task per output row (plane, od, oh); each scans its windows (channels-last: one per
  // channel, the channels innermost, so that neighbouring scans share cache lines).
#pragma omp parallel for schedule(static) if (rows * g.out[2] * ch > kParallelMin)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t oh = r % g.out[1], od = (r / g.out[1]) % g.out[0], p = r / (g.out[0] * g.out[1]);
    const T* xp = x + p * iv;
    for (int64_t ow = 0; ow < g.out[2]; ++ow)
      for (int64_t c = 0; c < ch; ++c) {
        const int64_t best = math::max_window_argmax(g, xp + c, od, oh, ow) * ch + c, o = (r * g.out[2] + ow) * ch + c;
        y[o] = xp[best];
        if (idx) idx[o] = best;
      }
  }
}

template <class T>
void index_gather(const T* x, const int64_t* idx, T* y, int64_t planes, int64_t in_vol, int64_t out_vol) {
#pragma omp parallel for schedule(static) if (planes * out_vol > kParallelMin)
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t o = 0; o < out_vol; ++o) y[p * out_vol + o] = x[p * in_vol + idx[p * out_vol + o]];
}

template <class T>
void index_scatter_add(const T* y, const int64_t* idx, T* x, int64_t planes, int64_t in_vol, int64_t out_vol) {
  using C = math::compute_t<T>;
  // Parallel over planes only: overlapping windows may send two outputs to one input.
#pragma omp parallel for schedule(static) if (planes * in_vol > kParallelMin)
  for (int64_t p = 0; p < planes; ++p) {
    T* xp = x + p * in_vol;
    std::fill(xp, xp + in_vol, T(0));
    // In compute type C; a 16-bit sum of overlapping windows' terms rounds after each add.
    for (int64_t o = 0; o < out_vol; ++o) {
      T& dst = xp[idx[p * out_vol + o]];
      dst = static_cast<T>(static_cast<C>(dst) + static_cast<C>(y[p * out_vol + o]));
    }
  }
}

// y = x repeated k[a] times along each spatial axis a (out = in * k). One task per source
// row (plane, id, ih): it writes the first of its k0 x k1 destination rows element by element
// (each source element k2 times, no division per element), then copies that row to the
// other k0 x k1 - 1. Memory-bound: each output byte is written once, each input byte read once.
template <class T>
void upsample_nearest(const PoolGeom& g, const T* x, T* y) {
  const int64_t rows = g.planes * g.in[0] * g.in[1], w_in = g.in[2], w_out = g.out[2], k2 = g.k[2];
#pragma omp parallel for schedule(static) if (rows * w_out * g.k[0] * g.k[1] > kParallelMin)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t ih = r % g.in[1], id = (r / g.in[1]) % g.in[0], p = r / (g.in[0] * g.in[1]);
    const T* src = x + r * w_in;
    auto row = [&](int64_t a, int64_t b) { return y + ((p * g.out[0] + id * g.k[0] + a) * g.out[1] + ih * g.k[1] + b) * w_out; };
    T* first = row(0, 0);
    if (k2 == 1) {
      std::copy(src, src + w_in, first);
    } else if (k2 == 2) {
      for (int64_t iw = 0; iw < w_in; ++iw) first[2 * iw] = first[2 * iw + 1] = src[iw];
    } else {
      for (int64_t iw = 0; iw < w_in; ++iw) std::fill(first + iw * k2, first + (iw + 1) * k2, src[iw]);
    }
    for (int64_t a = 0; a < g.k[0]; ++a)
      for (int64_t b = 0; b < g.k[1]; ++b)
        if (a || b) std::copy(first, first + w_out, row(a, b));
  }
}

// x = the sum of y over each k0 x k1 x k2 block (the adjoint of upsample_nearest). One task per
// small-grid row: it adds its k0 x k1 big rows into a row of sums, each run of k2 elements in
// order (the same order of additions as an element-by-element sweep), then rounds once.
template <class T>
void block_sum(const PoolGeom& g, const T* y, T* x) {
  using C = math::compute_t<T>;  // the sums (float for 16-bit T), rounded once to T
  const int64_t rows = g.planes * g.in[0] * g.in[1], w_in = g.in[2], k2 = g.k[2];
#pragma omp parallel if (rows * g.out[2] > kParallelMin)
  {
    std::vector<C> acc(static_cast<size_t>(w_in));
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t ih = r % g.in[1], id = (r / g.in[1]) % g.in[0], p = r / (g.in[0] * g.in[1]);
      std::fill(acc.begin(), acc.end(), C(0));
      for (int64_t a = 0; a < g.k[0]; ++a)
        for (int64_t b = 0; b < g.k[1]; ++b) {
          const T* src = y + ((p * g.out[0] + id * g.k[0] + a) * g.out[1] + ih * g.k[1] + b) * g.out[2];
          if (k2 == 2) {
            for (int64_t iw = 0; iw < w_in; ++iw) {
              acc[iw] += static_cast<C>(src[2 * iw]);
              acc[iw] += static_cast<C>(src[2 * iw + 1]);
            }
          } else {
            for (int64_t iw = 0; iw < w_in; ++iw)
              for (int64_t j = 0; j < k2; ++j) acc[iw] += static_cast<C>(src[iw * k2 + j]);
          }
        }
      T* dst = x + r * w_in;
      for (int64_t iw = 0; iw < w_in; ++iw) dst[iw] = static_cast<T>(acc[iw]);
    }
  }
}

// One task per row of y: its source plane cycles through k2 planes of x along the row.
template <class T>
void pixel_shuffle(const PoolGeom& g, const T* x, T* y) {
  const int64_t rows = g.planes * g.out[0] * g.out[1], w_in = g.in[2], k2 = g.k[2], in_vol = g.in_volume();
  const int64_t phases = g.k[0] * g.k[1] * k2;
#pragma omp parallel for schedule(static) if (rows * g.out[2] > kParallelMin)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t h = r % g.out[1], z = (r / g.out[1]) % g.out[0], p = r / (g.out[0] * g.out[1]);
    const int64_t phase0 = ((z % g.k[0]) * g.k[1] + h % g.k[1]) * k2;
    const T* src = x + (p * phases + phase0) * in_vol + ((z / g.k[0]) * g.in[1] + h / g.k[1]) * w_in;
    T* dst = y + r * g.out[2];
    for (int64_t j = 0; j < k2; ++j)
      for (int64_t iw = 0; iw < w_in; ++iw) dst[iw * k2 + j] = src[j * in_vol + iw];
  }
}

// One task per row of x: it reads every k2-th element of one row of y.
template <class T>
void pixel_unshuffle(const PoolGeom& g, const T* y, T* x) {
  const int64_t phases = g.k[0] * g.k[1] * g.k[2], rows = g.planes * phases * g.in[0] * g.in[1];
  const int64_t w_in = g.in[2], k2 = g.k[2];
#pragma omp parallel for schedule(static) if (rows * w_in > kParallelMin)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t hs = r % g.in[1], zs = (r / g.in[1]) % g.in[0], q = r / (g.in[0] * g.in[1]);
    const int64_t p = q / phases, phase = q % phases;
    const int64_t a2 = phase % k2, a1 = (phase / k2) % g.k[1], a0 = phase / (k2 * g.k[1]);
    const T* src = y + ((p * g.out[0] + zs * g.k[0] + a0) * g.out[1] + hs * g.k[1] + a1) * g.out[2] + a2;
    T* dst = x + r * w_in;
    for (int64_t iw = 0; iw < w_in; ++iw) dst[iw] = src[iw * k2];
  }
}

#define PN_POOL_INSTANTIATE(T)                                                                       \
  template void max_pool_forward<T>(const PoolGeom&, const T*, T*, int64_t*);                        \
  template void index_gather<T>(const T*, const int64_t*, T*, int64_t, int64_t, int64_t);            \
  template void index_scatter_add<T>(const T*, const int64_t*, T*, int64_t, int64_t, int64_t);       \
  template void upsample_nearest<T>(const PoolGeom&, const T*, T*);                                  \
  template void block_sum<T>(const PoolGeom&, const T*, T*);                                        \
  template void pixel_shuffle<T>(const PoolGeom&, const T*, T*);                                    \
  template void pixel_unshuffle<T>(const PoolGeom&, const T*, T*);
PN_POOL_INSTANTIATE(float)
PN_POOL_INSTANTIATE(double)
PN_POOL_INSTANTIATE(math::bfloat16)
PN_POOL_INSTANTIATE(math::float16)
#undef PN_POOL_INSTANTIATE

}  // namespace pn::cpu
