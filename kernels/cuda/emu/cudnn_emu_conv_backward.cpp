// The emulated cuDNN's backward convolution bodies (definitions and conventions in
// cudnn_emu_conv.cpp; the loops' machinery in cudnn_emu_conv_rows.h):
//   backward data    dx[n,C,i] = sum_{K,r,o: i(o,r) = i} dy[n,K,o] w[K,C,r]
//   backward filter  dw[K,C,r] = sum_{n,o} dy[n,K,o] x[n,C,i(o,r)]
//
// ALGO_1 (deterministic, the column matrix in the workspace): backward data forms
// col[t][o] = sum_K w[K,t] dy[n,K,o] (K in order) and scatters it back to the input tap by
// tap (each input element gets its terms in tap order); backward filter forms sample n's
// im2col matrix and adds dy[n,K,o] col[t][o] to dw[K,t] over o in order, n by n.
//
// ALGO_0 (CUDNN_NON_DETERMINISTIC, no workspace) models how atomics from several thread blocks
// land on an output element: its terms are dealt to kPartials partial sums by index (backward
// data: (K + r) modulo kPartials, r the tap's index in the filter, the thread blocks that
// split K and the taps; backward filter: the output column o_W modulo kPartials, the blocks
// that split the positions), each partial adds its share in the definition's order, and the
// partials then land on the element (atomicAdd onto zero) in an order drawn from (call
// seed, landing site), a site being kLanes neighbouring channels at one position (they land
// alike). A fresh seed per call makes two calls differ in the last bits, as on a GPU, at
// the cost of one hash per site rather than one per term. Where at most
// two partials can receive terms, every landing order gives the same bits (a + b = b + a),
// so they land in a fixed order without drawing one.
//
// Lanes (cudnn_emu_conv_rows.h): backward filter runs kLanes output channels K side by side
// (dy of a lane block packed as dy_lanes[o][lane]); backward data ALGO_0 kLanes input
// channels C, ALGO_1 kLanes taps of the column matrix.
#include <algorithm>
#include <utility>
#include <vector>

#include "kernels/cuda/emu/cudnn_emu_conv_rows.h"

namespace pn::cuda::emu::cudnn {

namespace {

constexpr int kPartials = 4;

uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// The partial sums part[q * stride] (q < kPartials) of a landing site (kLanes elements side
// by side) added onto zero in the order their atomics land in call `seed`: a permutation
// drawn from (seed, site). `used`: how many partials can hold terms (the first `used`);
// with two or fewer, every order gives the same bits and none is drawn.
template <class T>
Lanes<T> land(const Lanes<T>* part, int64_t stride, int used, uint64_t seed, uint64_t site) {
  Lanes<T> s{};
  if (used <= 2) {
    for (int q = 0; q < used; ++q) s.add(part[q * stride]);
    return s;
  }
  uint64_t h = mix((seed + 0x9e3779b97f4a7c15ull) * 0x2545f4914f6cdd1dull ^ site);
  int order[kPartials];
  for (int q = 0; q < kPartials; ++q) order[q] = q;
  for (int q = kPartials - 1; q > 0; --q) {  // Fisher-Yates on the hash's digits
    std::swap(order[q], order[h % static_cast<uint64_t>(q + 1)]);
    h /= static_cast<uint64_t>(q + 1);
  }
  for (int q : order) s.add(part[q * stride]);
  return s;
}

// dy[n, K, o] of the output channels of lane block kb (zero past the last), packed over o.
template <class T>
void dy_lanes(const ConvRows<T>& c, const T* dy, int64_t n, int64_t kb, std::vector<Lanes<T>>& out) {
  const Geometry& g = c.g;
  out.assign(static_cast<size_t>(c.outs()), Lanes<T>{});
  for (int j = 0; j < lanes_in_block(kb, g.K); ++j) {
    const T* dyk = dy + n * g.ys[0] + (kb * kLanes + j) * g.ys[1];
    Lanes<T>* o = out.data();
    for (int64_t o0 = 0; o0 < g.out[0]; ++o0)
      for (int64_t o1 = 0; o1 < g.out[1]; ++o1)
        for (int64_t o2 = 0; o2 < g.out[2]; ++o2) (o++)->set(j, dyk[o0 * g.ys[2] + o1 * g.ys[3] + o2 * g.ys[4]]);
  }
}

// part[o % kPartials] += x[(o - lo) * x_step] * d[o - lo] for o in [lo, hi), in order within each
// partial; a whole group of kPartials columns at a time where it can.
template <class T>
void add_products_by_column(Lanes<T>* part, const Lanes<T>* d, const T* x, int64_t x_step, int64_t lo, int64_t hi) {
  int64_t o = lo;
  for (; o < hi && o % kPartials != 0; ++o) part[o % kPartials].add_product(x[(o - lo) * x_step], d[o - lo]);
  for (; o + kPartials <= hi; o += kPartials)
    for (int q = 0; q < kPartials; ++q) part[q].add_product(x[(o + q - lo) * x_step], d[o + q - lo]);
  for (; o < hi; ++o) part[o % kPartials].add_product(x[(o - lo) * x_step], d[o - lo]);
}

// Weights w[K = k, C, r] of the input channels of lane block cb (zero past the last).
template <class T>
Lanes<T> input_lane_weights(const ConvRows<T>& c, const T* w, int64_t k, int64_t cb, int64_t r) {
  Lanes<T> wl{};
  for (int j = 0; j < lanes_in_block(cb, c.g.C); ++j) wl.set(j, w[c.w_off(k, c.tap((cb * kLanes + j) * c.g.k_volume() + r))]);
  return wl;
}

}  // namespace

// Sample n, lane block cb of input channels: partial q of (i, lane) sums the (K, r) terms
// with (K + r) % kPartials == q, in that order; then every element lands.
template <class T>
void backward_data_atomic(const ConvRows<T>& c, const T* w, const T* dy, T* dx, uint64_t seed) {
  const Geometry& g = c.g;
  const int64_t plane = g.in_volume(), kvol = g.k_volume();
  const int used = static_cast<int>(std::min<int64_t>(kPartials, g.K + kvol - 1));
  std::vector<Lanes<T>> parts(static_cast<size_t>(kPartials * plane)), weights;  // weights[(cb, k, r)]
  for (int64_t cb = 0; cb < lane_blocks(g.C); ++cb)
    for (int64_t k = 0; k < g.K; ++k)
      for (int64_t r = 0; r < kvol; ++r) weights.push_back(input_lane_weights(c, w, k, cb, r));
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t cb = 0; cb < lane_blocks(g.C); ++cb) {
      std::fill(parts.begin(), parts.end(), Lanes<T>{});
      for (int64_t k = 0; k < g.K; ++k)
        for (int64_t r = 0; r < kvol; ++r) {
          const Tap p = c.tap(r);  // channel 0: only r and its offsets are used
          const Lanes<T>& wl = weights[(cb * g.K + k) * kvol + r];
          Lanes<T>* part = parts.data() + (k + r) % kPartials * plane;
          const T* dyk = dy + n * g.ys[0] + k * g.ys[1];
          c.rows(p.delta, [&](int64_t o0, int64_t o1, int64_t i0, int64_t i1, Range r2) {
            Lanes<T>* dst = part + (i0 * g.in[1] + i1) * g.in[2] + c.input2(r2.lo, p.delta[2]);
            const T* src = dyk + o0 * g.ys[2] + o1 * g.ys[3] + r2.lo * g.ys[4];
            for (int64_t j2 = 0; j2 < r2.size(); ++j2) dst[j2 * g.stride[2]].add_product(src[j2 * g.ys[4]], wl);
          });
        }
      T* out = dx + n * g.xs[0] + cb * kLanes * g.xs[1];
      const uint64_t first_site = static_cast<uint64_t>((n * lane_blocks(g.C) + cb) * plane);
      for (int64_t i0 = 0, e = 0; i0 < g.in[0]; ++i0)
        for (int64_t i1 = 0; i1 < g.in[1]; ++i1)
          for (int64_t i2 = 0; i2 < g.in[2]; ++i2, ++e) {
            const Lanes<T> sum = land(parts.data() + e, plane, used, seed, first_site + e);
            for (int j = 0; j < lanes_in_block(cb, g.C); ++j)
              c.store(out + j * g.xs[1] + i0 * g.xs[2] + i1 * g.xs[3] + i2 * g.xs[4], sum.get(j));
          }
    }
}

// col = W^T dy[n] (kLanes taps at a time, each (t, o) adding its K terms in order), stored in
// the workspace as col[t][o].
template <class T>
void columns_of_dy(const ConvRows<T>& c, const T* w, const T* dy, int64_t n, T* col, std::vector<Lanes<T>>& lanes) {
  const Geometry& g = c.g;
  const int64_t outs = c.outs();
  for (int64_t tb = 0; tb < lane_blocks(c.taps()); ++tb) {
    lanes.assign(static_cast<size_t>(outs), Lanes<T>{});
    for (int64_t k = 0; k < g.K; ++k) {
      Lanes<T> wl{};
      for (int j = 0; j < lanes_in_block(tb, c.taps()); ++j) wl.set(j, w[c.w_off(k, c.tap(tb * kLanes + j))]);
      const T* dyk = dy + n * g.ys[0] + k * g.ys[1];
      Lanes<T>* o = lanes.data();
      for (int64_t o0 = 0; o0 < g.out[0]; ++o0)
        for (int64_t o1 = 0; o1 < g.out[1]; ++o1)
          for (int64_t o2 = 0; o2 < g.out[2]; ++o2) (o++)->add_product(dyk[o0 * g.ys[2] + o1 * g.ys[3] + o2 * g.ys[4]], wl);
    }
    for (int j = 0; j < lanes_in_block(tb, c.taps()); ++j)
      for (int64_t o = 0; o < outs; ++o) col[(tb * kLanes + j) * outs + o] = lanes[o].get(j);
  }
}

template <class T>
void backward_data_columns(const ConvRows<T>& c, const T* w, const T* dy, T* dx, void* workspace) {
  const Geometry& g = c.g;
  T* col = static_cast<T*>(workspace);
  const int64_t outs = c.outs(), plane = g.in_volume();
  std::vector<T> acc(static_cast<size_t>(g.C * plane));
  std::vector<Lanes<T>> lanes;
  for (int64_t n = 0; n < g.N; ++n) {
    columns_of_dy(c, w, dy, n, col, lanes);
    std::fill(acc.begin(), acc.end(), T(0));
    for (int64_t t = 0; t < c.taps(); ++t) {  // col2im
      const Tap p = c.tap(t);
      const T* row = col + t * outs;
      T* in = acc.data() + p.c * plane;
      c.rows(p.delta, [&](int64_t o0, int64_t o1, int64_t i0, int64_t i1, Range r2) {
        T* dst = in + (i0 * g.in[1] + i1) * g.in[2] + c.input2(r2.lo, p.delta[2]);
        const T* src = row + (o0 * g.out[1] + o1) * g.out[2] + r2.lo;
        for (int64_t j = 0; j < r2.size(); ++j) dst[j * g.stride[2]] += src[j];
      });
    }
    for (int64_t ch = 0; ch < g.C; ++ch)
      c.blend_volume(dx + n * g.xs[0] + ch * g.xs[1], &g.xs[2], g.in, acc.data() + ch * plane);
  }
}

// Lane block kb of output channels: partial q of (t, lane) sums the (n, o) terms with
// o_W % kPartials == q, n by n and o in order; then every element lands.
template <class T>
void backward_filter_atomic(const ConvRows<T>& c, const T* x, const T* dy, T* dw, uint64_t seed) {
  const Geometry& g = c.g;
  const int64_t step = g.stride[2] * g.xs[4], taps = c.taps();
  const int used = static_cast<int>(std::min<int64_t>(kPartials, g.out[2]));
  std::vector<Lanes<T>> parts(static_cast<size_t>(taps * kPartials)), d;
  for (int64_t kb = 0; kb < lane_blocks(g.K); ++kb) {
    std::fill(parts.begin(), parts.end(), Lanes<T>{});
    for (int64_t n = 0; n < g.N; ++n) {
      dy_lanes(c, dy, n, kb, d);
      for (int64_t t = 0; t < taps; ++t) {
        const Tap p = c.tap(t);
        const T* xc = x + n * g.xs[0] + p.c * g.xs[1];
        c.rows(p.delta, [&](int64_t o0, int64_t o1, int64_t i0, int64_t i1, Range r2) {
          add_products_by_column(parts.data() + t * kPartials, d.data() + (o0 * g.out[1] + o1) * g.out[2] + r2.lo,
                                 xc + i0 * g.xs[2] + i1 * g.xs[3] + c.input2(r2.lo, p.delta[2]) * g.xs[4], step, r2.lo,
                                 r2.hi);
        });
      }
    }
    for (int64_t t = 0; t < taps; ++t) {
      const Lanes<T> sum = land(parts.data() + t * kPartials, 1, used, seed, static_cast<uint64_t>(kb * taps + t));
      for (int j = 0; j < lanes_in_block(kb, g.K); ++j) c.store(dw + c.w_off(kb * kLanes + j, c.tap(t)), sum.get(j));
    }
  }
}

template <class T>
void backward_filter_columns(const ConvRows<T>& c, const T* x, const T* dy, T* dw, void* workspace) {
  const Geometry& g = c.g;
  T* col = static_cast<T*>(workspace);
  const int64_t outs = c.outs(), taps = c.taps();
  std::vector<Lanes<T>> acc(static_cast<size_t>(lane_blocks(g.K) * taps)), d;  // [kb][t]
  for (int64_t n = 0; n < g.N; ++n) {
    c.im2col(x, n, col);
    for (int64_t kb = 0; kb < lane_blocks(g.K); ++kb) {
      dy_lanes(c, dy, n, kb, d);
      for (int64_t t = 0; t < taps; ++t) {
        Lanes<T> s = acc[kb * taps + t];
        const T* ct = col + t * outs;
        for (int64_t o = 0; o < outs; ++o) s.add_product(ct[o], d[o]);
        acc[kb * taps + t] = s;
      }
    }
  }
  for (int64_t kb = 0; kb < lane_blocks(g.K); ++kb)
    for (int64_t t = 0; t < taps; ++t)
      for (int j = 0; j < lanes_in_block(kb, g.K); ++j)
        c.store(dw + c.w_off(kb * kLanes + j, c.tap(t)), acc[kb * taps + t].get(j));
}

#define PN_CONV_BACKWARD(T)                                                                              \
  template void backward_data_atomic<T>(const ConvRows<T>&, const T*, const T*, T*, uint64_t);           \
  template void backward_data_columns<T>(const ConvRows<T>&, const T*, const T*, T*, void*);             \
  template void backward_filter_atomic<T>(const ConvRows<T>&, const T*, const T*, T*, uint64_t);         \
  template void backward_filter_columns<T>(const ConvRows<T>&, const T*, const T*, T*, void*);
PN_CONV_BACKWARD(float)
PN_CONV_BACKWARD(double)
#undef PN_CONV_BACKWARD

}  // namespace pn::cuda::emu::cudnn
