// The emulated cuDNN's arithmetic: the bodies of the emulated convolution algorithms, run
// inside their enqueued ops. Everything is computed from the Geometry read from the
// descriptors (strides of x and y as given, packed KCRS filters, pads, strides, dilations,
// and the filter mirrored for CUDNN_CONVOLUTION), never from Penumbra's own ConvGeom, so
// that a wrapper's wrong descriptor shows up as a wrong result or a refusal.
//
// Definitions (per spatial axis, input coordinate of output o and filter tap r):
//   i = o * stride - pad + r * dilation;  the filter value used for tap r is w[r] for
//   cross-correlation and w[k - 1 - r] for convolution.
//   forward          y[n,K,o]   = sum_{C,r} x[n,C,i(o,r)] w[K,C,r]
//   backward data    dx[n,C,i]  = sum_{K,r,o: i(o,r) = i} dy[n,K,o] w[K,C,r]
//   backward filter  dw[K,C,r]  = sum_{n,o} dy[n,K,o] x[n,C,i(o,r)]
// Taps outside the input are zero padding. Sums accumulate in the data type; under TF32 the
// multiplied inputs are first rounded to TF32. The result is blended as
// out = alpha * sum + beta * out, and out is not read when beta == 0.
#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/cuda/emu/cudnn_emu_internal.h"
#include "kernels/math/tf32.h"

namespace pn::cuda::emu::cudnn {

namespace {

// One entry of IMPLICIT_PRECOMP_GEMM's workspace table.
struct Tap {
  int64_t x_offset;  // element offset in x of the tap at output position 0 (plus the base)
  int64_t w_offset;  // element offset in the filter of (K = 0, C, r) after mirroring
  int32_t delta[3];  // r * dilation per spatial axis
  int32_t unused;
};
static_assert(sizeof(Tap) == kPrecompTapBytes, "the workspace size assumes 32-byte taps");

uint64_t splitmix(uint64_t& s) {
  uint64_t z = (s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Sums terms in an order drawn from (seed, element): how atomics from many threads land.
template <class T>
T shuffled_sum(std::vector<T>& terms, uint64_t seed, uint64_t element) {
  uint64_t s = seed * 0x2545f4914f6cdd1dull ^ element;
  for (size_t i = terms.size(); i > 1; --i) std::swap(terms[i - 1], terms[splitmix(s) % i]);
  T acc = 0;
  for (T t : terms) acc += t;
  return acc;
}

template <class T>
struct Conv {
  const Geometry& g;
  double alpha, beta;

  T load(const T* p, int64_t off) const {
    T v = p[off];
    if constexpr (sizeof(T) == 4) {
      if (g.tf32) v = pn::math::round_to_tf32(v);
    }
    return v;
  }
  void store(T* p, int64_t off, T acc) const {
    const T a = static_cast<T>(alpha), b = static_cast<T>(beta);
    p[off] = b == T(0) ? a * acc : a * acc + b * p[off];
  }
  int64_t x_off(int64_t n, int64_t c, const int64_t* i) const {
    return n * g.xs[0] + c * g.xs[1] + i[0] * g.xs[2] + i[1] * g.xs[3] + i[2] * g.xs[4];
  }
  int64_t y_off(int64_t n, int64_t k, const int64_t* o) const {
    return n * g.ys[0] + k * g.ys[1] + o[0] * g.ys[2] + o[1] * g.ys[3] + o[2] * g.ys[4];
  }
  // Filter offset of (k, c, tap r), mirrored for CUDNN_CONVOLUTION.
  int64_t w_off(int64_t k, int64_t c, const int64_t* r) const {
    int64_t off = k * g.ws[0] + c * g.ws[1];
    for (int a = 0; a < 3; ++a) off += (g.flip ? g.k[a] - 1 - r[a] : r[a]) * g.ws[2 + a];
    return off;
  }
  // The input coordinate of output o and tap r; false when it falls in the padding.
  bool input_at(const int64_t* o, const int64_t* r, int64_t* i) const {
    for (int a = 0; a < 3; ++a) {
      i[a] = o[a] * g.stride[a] - g.pad[a] + r[a] * g.dilation[a];
      if (i[a] < 0 || i[a] >= g.in[a]) return false;
    }
    return true;
  }
  // Visits every (a, b, c) of a 3-D box in row-major order.
  template <class F>
  static void box(const std::array<int64_t, 3>& e, F f) {
    int64_t v[3];
    for (v[0] = 0; v[0] < e[0]; ++v[0])
      for (v[1] = 0; v[1] < e[1]; ++v[1])
        for (v[2] = 0; v[2] < e[2]; ++v[2]) f(v);
  }
  // Tap index t in (C, r) order and back.
  void tap(int64_t t, int64_t& c, int64_t* r) const {
    r[2] = t % g.k[2];
    r[1] = t / g.k[2] % g.k[1];
    r[0] = t / (g.k[1] * g.k[2]) % g.k[0];
    c = t / g.k_volume();
  }
  int64_t out_index(const int64_t* o) const { return (o[0] * g.out[1] + o[1]) * g.out[2] + o[2]; }

  // ---- forward ----
  void forward_implicit(const T* x, const T* w, T* y) const {
    for (int64_t n = 0; n < g.N; ++n)
      for (int64_t k = 0; k < g.K; ++k)
        box(g.out, [&](const int64_t* o) {
          T acc = 0;
          int64_t i[3];
          for (int64_t c = 0; c < g.C; ++c)
            box(g.k, [&](const int64_t* r) {
              if (input_at(o, r, i)) acc += load(x, x_off(n, c, i)) * load(w, w_off(k, c, r));
            });
          store(y, y_off(n, k, o), acc);
        });
  }

  void forward_precomp(const T* x, const T* w, T* y, void* workspace) const {
    const int64_t taps = g.C * g.k_volume();
    char* table = static_cast<char*>(workspace);
    for (int64_t t = 0; t < taps; ++t) {
      Tap e{};
      int64_t c, r[3];
      tap(t, c, r);
      e.x_offset = c * g.xs[1];
      for (int a = 0; a < 3; ++a) {
        e.delta[a] = static_cast<int32_t>(r[a] * g.dilation[a]);
        e.x_offset += e.delta[a] * g.xs[2 + a];
      }
      e.w_offset = w_off(0, c, r);
      std::memcpy(table + t * sizeof(Tap), &e, sizeof(Tap));
    }
    for (int64_t n = 0; n < g.N; ++n)
      for (int64_t k = 0; k < g.K; ++k)
        box(g.out, [&](const int64_t* o) {
          int64_t base[3];
          for (int a = 0; a < 3; ++a) base[a] = o[a] * g.stride[a] - g.pad[a];
          const int64_t base_off = n * g.xs[0] + base[0] * g.xs[2] + base[1] * g.xs[3] + base[2] * g.xs[4];
          T acc = 0;
          for (int64_t t = 0; t < taps; ++t) {
            Tap e;
            std::memcpy(&e, table + t * sizeof(Tap), sizeof(Tap));
            bool inside = true;
            for (int a = 0; a < 3; ++a) inside = inside && base[a] + e.delta[a] >= 0 && base[a] + e.delta[a] < g.in[a];
            if (inside) acc += load(x, base_off + e.x_offset) * load(w, k * g.ws[0] + e.w_offset);
          }
          store(y, y_off(n, k, o), acc);
        });
  }

  // Fills col[t][o] (taps x output positions) with sample n of x; zero in the padding.
  void im2col(const T* x, int64_t n, T* col) const {
    const int64_t taps = g.C * g.k_volume(), outs = g.out_volume();
    for (int64_t t = 0; t < taps; ++t) {
      int64_t c, r[3], i[3];
      tap(t, c, r);
      box(g.out,
          [&](const int64_t* o) { col[t * outs + out_index(o)] = input_at(o, r, i) ? load(x, x_off(n, c, i)) : T(0); });
    }
  }

  void forward_gemm(const T* x, const T* w, T* y, void* workspace) const {
    T* col = static_cast<T*>(workspace);
    const int64_t taps = g.C * g.k_volume(), outs = g.out_volume();
    for (int64_t n = 0; n < g.N; ++n) {
      im2col(x, n, col);
      for (int64_t k = 0; k < g.K; ++k)
        box(g.out, [&](const int64_t* o) {
          T acc = 0;
          for (int64_t t = 0; t < taps; ++t) {
            int64_t c, r[3];
            tap(t, c, r);
            acc += load(w, w_off(k, c, r)) * col[t * outs + out_index(o)];
          }
          store(y, y_off(n, k, o), acc);
        });
    }
  }

  // ---- backward data: dx from dy and w (x_off addresses dx, y_off dy) ----
  void backward_data_shuffled(const T* w, const T* dy, T* dx, uint64_t seed) const {
    std::vector<T> terms;
    for (int64_t n = 0; n < g.N; ++n)
      for (int64_t c = 0; c < g.C; ++c)
        box(g.in, [&](const int64_t* i) {
          terms.clear();
          for (int64_t k = 0; k < g.K; ++k)
            box(g.k, [&](const int64_t* r) {
              int64_t o[3];
              for (int a = 0; a < 3; ++a) {
                const int64_t num = i[a] + g.pad[a] - r[a] * g.dilation[a];
                if (num < 0 || num % g.stride[a] != 0 || num / g.stride[a] >= g.out[a]) return;
                o[a] = num / g.stride[a];
              }
              terms.push_back(load(dy, y_off(n, k, o)) * load(w, w_off(k, c, r)));
            });
          const int64_t element = ((n * g.C + c) * g.in[0] + i[0]) * g.in[1] * g.in[2] + i[1] * g.in[2] + i[2];
          store(dx, x_off(n, c, i), shuffled_sum(terms, seed, static_cast<uint64_t>(element)));
        });
  }

  void backward_data_columns(const T* w, const T* dy, T* dx, void* workspace) const {
    T* col = static_cast<T*>(workspace);
    const int64_t taps = g.C * g.k_volume(), outs = g.out_volume();
    std::vector<T> acc(static_cast<size_t>(g.C * g.in_volume()));
    for (int64_t n = 0; n < g.N; ++n) {
      for (int64_t t = 0; t < taps; ++t) {  // col = W^T dy[n]
        int64_t c, r[3];
        tap(t, c, r);
        box(g.out, [&](const int64_t* o) {
          T s = 0;
          for (int64_t k = 0; k < g.K; ++k) s += load(w, w_off(k, c, r)) * load(dy, y_off(n, k, o));
          col[t * outs + out_index(o)] = s;
        });
      }
      std::fill(acc.begin(), acc.end(), T(0));
      for (int64_t t = 0; t < taps; ++t) {  // col2im
        int64_t c, r[3], i[3];
        tap(t, c, r);
        box(g.out, [&](const int64_t* o) {
          if (input_at(o, r, i))
            acc[((c * g.in[0] + i[0]) * g.in[1] + i[1]) * g.in[2] + i[2]] += col[t * outs + out_index(o)];
        });
      }
      for (int64_t c = 0; c < g.C; ++c)
        box(g.in, [&](const int64_t* i) {
          store(dx, x_off(n, c, i), acc[((c * g.in[0] + i[0]) * g.in[1] + i[1]) * g.in[2] + i[2]]);
        });
    }
  }

  // ---- backward filter: dw from x and dy ----
  void backward_filter_shuffled(const T* x, const T* dy, T* dw, uint64_t seed) const {
    std::vector<T> terms;
    for (int64_t k = 0; k < g.K; ++k)
      for (int64_t c = 0; c < g.C; ++c)
        box(g.k, [&](const int64_t* r) {
          terms.clear();
          int64_t i[3];
          for (int64_t n = 0; n < g.N; ++n)
            box(g.out, [&](const int64_t* o) {
              if (input_at(o, r, i)) terms.push_back(load(dy, y_off(n, k, o)) * load(x, x_off(n, c, i)));
            });
          const int64_t w = w_off(k, c, r);
          store(dw, w, shuffled_sum(terms, seed, static_cast<uint64_t>(w)));
        });
  }

  void backward_filter_columns(const T* x, const T* dy, T* dw, void* workspace) const {
    T* col = static_cast<T*>(workspace);
    const int64_t taps = g.C * g.k_volume(), outs = g.out_volume();
    std::vector<T> acc(static_cast<size_t>(g.K * taps), T(0));
    for (int64_t n = 0; n < g.N; ++n) {
      im2col(x, n, col);
      for (int64_t k = 0; k < g.K; ++k)
        for (int64_t t = 0; t < taps; ++t)
          box(g.out,
              [&](const int64_t* o) { acc[k * taps + t] += load(dy, y_off(n, k, o)) * col[t * outs + out_index(o)]; });
    }
    for (int64_t k = 0; k < g.K; ++k)
      for (int64_t t = 0; t < taps; ++t) {
        int64_t c, r[3];
        tap(t, c, r);
        store(dw, w_off(k, c, r), acc[k * taps + t]);
      }
  }
};

template <class T>
void run_typed(const Launch& l) {
  const Conv<T> conv{l.g, l.alpha, l.beta};
  const T* a = static_cast<const T*>(l.a);
  const T* b = static_cast<const T*>(l.b);
  T* out = static_cast<T*>(l.out);
  switch (l.direction) {
    case Direction::Forward:
      if (l.algo == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM) conv.forward_implicit(a, b, out);
      if (l.algo == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM) conv.forward_precomp(a, b, out, l.workspace);
      if (l.algo == CUDNN_CONVOLUTION_FWD_ALGO_GEMM) conv.forward_gemm(a, b, out, l.workspace);
      return;
    case Direction::BackwardData:
      if (l.algo == CUDNN_CONVOLUTION_BWD_DATA_ALGO_0) conv.backward_data_shuffled(a, b, out, l.seed);
      if (l.algo == CUDNN_CONVOLUTION_BWD_DATA_ALGO_1) conv.backward_data_columns(a, b, out, l.workspace);
      return;
    case Direction::BackwardFilter:
      if (l.algo == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0) conv.backward_filter_shuffled(a, b, out, l.seed);
      if (l.algo == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1) conv.backward_filter_columns(a, b, out, l.workspace);
      return;
  }
}

}  // namespace

void run(const Launch& l) {
  if (l.g.dtype == CUDNN_DATA_DOUBLE)
    run_typed<double>(l);
  else
    run_typed<float>(l);
}

}  // namespace pn::cuda::emu::cudnn
