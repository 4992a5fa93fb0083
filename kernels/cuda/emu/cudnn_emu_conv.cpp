// The emulated cuDNN's arithmetic: the bodies of the emulated convolution algorithms, run
// inside their enqueued ops (the forward ones here, the backward ones in
// cudnn_emu_conv_backward.cpp, the loops' shared machinery in cudnn_emu_conv_rows.h).
// Everything is computed from the Geometry read from the descriptors (strides of x and y as
// given, filters with their strides, pads, strides, dilations, and the filter mirrored for
// CUDNN_CONVOLUTION), never from Penumbra's own ConvGeom, so that a wrapper's wrong
// descriptor shows up as a wrong result or a refusal.
//
// Definitions (per spatial axis, input coordinate of output o and filter tap r):
//   i = o * stride - pad + r * dilation;  the filter value used for tap r is w[r] for
//   cross-correlation and w[k - 1 - r] for convolution.
//   forward          y[n,K,o]   = sum_{C,r} x[n,C,i(o,r)] w[K,C,r]
//   backward data    dx[n,C,i]  = sum_{K,r,o: i(o,r) = i} dy[n,K,o] w[K,C,r]
//   backward filter  dw[K,C,r]  = sum_{n,o} dy[n,K,o] x[n,C,i(o,r)]
// Taps outside the input are zero padding. Sums accumulate in the data type (float for HALF
// and BFLOAT16 data: run_16bit); under TF32 the
// multiplied inputs are first rounded to TF32 (here: both inputs are rounded once into
// copies before the body runs, which gives the same products as rounding at every use).
// The result is blended as out = alpha * sum + beta * out, and out is not read when
// beta == 0.
//
// Summation orders (what makes results reproducible bit for bit): forward IMPLICIT_GEMM and
// IMPLICIT_PRECOMP_GEMM add each output's terms in (C, r) order, GEMM in the same order
// through its column matrix; the backward ALGO_1 bodies are documented in theirs.
#include <cstring>
#include <vector>

#include "kernels/cuda/emu/cudnn_emu_conv_rows.h"
#include "kernels/cuda/emu/half_types.h"
#include "kernels/math/tf32.h"

namespace pn::cuda::emu::cudnn {

namespace {

// One entry of IMPLICIT_PRECOMP_GEMM's workspace table.
struct PrecompTap {
  int64_t x_offset;  // element offset in x of the tap's input for output 0, before padding:
                     // c * xs[C] + sum over axes of r * dilation * xs[axis]
  int64_t w_offset;  // element offset in the filter of (K = 0, C, r) after mirroring
  int32_t delta[3];  // r * dilation per spatial axis
  int32_t unused;
};
static_assert(sizeof(PrecompTap) == kPrecompTapBytes, "the workspace size assumes 32-byte taps");

// x's element offset of sample n's input under tap p for output 0, before padding:
// n * xs[N] + c * xs[C] + sum over axes of delta * xs[axis].
int64_t tap_offset(const Geometry& g, int64_t n, const Tap& p) {
  return n * g.xs[0] + p.c * g.xs[1] + p.delta[0] * g.xs[2] + p.delta[1] * g.xs[3] + p.delta[2] * g.xs[4];
}

// Where a tap reads: its tap_offset for n = 0, its filter offset for K = 0 (mirrored), and
// its input offset r * dilation per axis. IMPLICIT_GEMM computes it, IMPLICIT_PRECOMP_GEMM
// reads it from its workspace table.
struct TapAddress {
  int64_t x_offset = 0, w_offset = 0;
  int64_t delta[3] = {0, 0, 0};
};

// Blends the sums of output plane o0 (slab[(o1, o2)], lanes of output channels from k0) into
// y[n].
template <class T>
void blend_plane(const ConvRows<T>& c, T* y, int64_t n, int64_t k0, int64_t lanes, int64_t o0, const Lanes<T>* slab) {
  const Geometry& g = c.g;
  for (int64_t j = 0; j < lanes; ++j)
    for (int64_t o1 = 0; o1 < g.out[1]; ++o1) {
      T* row = y + n * g.ys[0] + (k0 + j) * g.ys[1] + o0 * g.ys[2] + o1 * g.ys[3];
      for (int64_t o2 = 0; o2 < g.out[2]; ++o2) c.store(row + o2 * g.ys[4], slab[o1 * g.out[2] + o2].get(int(j)));
    }
}

// Weights w[K, tap] of the output channels of lane block kb (zero past the last), the tap's
// filter offset for K = 0 being w_offset.
template <class T>
Lanes<T> lane_weights(const ConvRows<T>& c, const T* w, int64_t kb, int64_t w_offset) {
  Lanes<T> wl{};
  for (int j = 0; j < lanes_in_block(kb, c.g.K); ++j) wl.set(j, w[(kb * kLanes + j) * c.g.ws[0] + w_offset]);
  return wl;
}

// The implicit forward bodies: for sample n, a lane block of output channels and one output
// plane o0 at a time, slab[(o1, o2)] += x[i(o, t)] * w[K, t] for the taps t in (C, r) order
// over the outputs whose input lies inside.
template <class T, class Address>
void forward_implicit_lanes(const ConvRows<T>& c, const T* x, const T* w, T* y, Address address) {
  const Geometry& g = c.g;
  const int64_t step = g.stride[2] * g.xs[4];
  std::vector<Lanes<T>> slab(static_cast<size_t>(g.out[1] * g.out[2])), weights;  // weights[(kb, t)]
  for (int64_t kb = 0; kb < lane_blocks(g.K); ++kb)
    for (int64_t t = 0; t < c.taps(); ++t) weights.push_back(lane_weights(c, w, kb, address(t).w_offset));
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t kb = 0; kb < lane_blocks(g.K); ++kb)
      for (int64_t o0 = 0; o0 < g.out[0]; ++o0) {
        std::fill(slab.begin(), slab.end(), Lanes<T>{});
        for (int64_t t = 0; t < c.taps(); ++t) {
          const TapAddress e = address(t);
          const Lanes<T>& wl = weights[kb * c.taps() + t];
          c.rows_of_plane(o0, e.delta, [&](int64_t o1, int64_t, int64_t, Range r2) {
            const T* xr = x + n * g.xs[0] + e.x_offset + (o0 * g.stride[0] - g.pad[0]) * g.xs[2] +
                          (o1 * g.stride[1] - g.pad[1]) * g.xs[3] + (r2.lo * g.stride[2] - g.pad[2]) * g.xs[4];
            Lanes<T>* a = slab.data() + o1 * g.out[2] + r2.lo;
            for (int64_t j2 = 0; j2 < r2.size(); ++j2) a[j2].add_product(xr[j2 * step], wl);
          });
        }
        blend_plane(c, y, n, kb * kLanes, lanes_in_block(kb, g.K), o0, slab.data());
      }
}

template <class T>
void forward_implicit(const ConvRows<T>& c, const T* x, const T* w, T* y) {
  forward_implicit_lanes(c, x, w, y, [&](int64_t t) {
    const Tap p = c.tap(t);
    TapAddress e;
    e.x_offset = tap_offset(c.g, 0, p);
    e.w_offset = c.w_off(0, p);
    for (int a = 0; a < 3; ++a) e.delta[a] = p.delta[a];
    return e;
  });
}

// The tap table lives in the workspace, written first and read back for every tap use.
template <class T>
void forward_precomp(const ConvRows<T>& c, const T* x, const T* w, T* y, void* workspace) {
  char* table = static_cast<char*>(workspace);
  for (int64_t t = 0; t < c.taps(); ++t) {
    const Tap p = c.tap(t);
    PrecompTap e{};
    e.x_offset = tap_offset(c.g, 0, p);
    e.w_offset = c.w_off(0, p);
    for (int a = 0; a < 3; ++a) e.delta[a] = static_cast<int32_t>(p.delta[a]);
    std::memcpy(table + t * sizeof(PrecompTap), &e, sizeof(PrecompTap));
  }
  forward_implicit_lanes(c, x, w, y, [&](int64_t t) {
    PrecompTap p;
    std::memcpy(&p, table + t * sizeof(PrecompTap), sizeof(PrecompTap));
    TapAddress e;
    e.x_offset = p.x_offset;
    e.w_offset = p.w_offset;
    for (int a = 0; a < 3; ++a) e.delta[a] = p.delta[a];
    return e;
  });
}

// y[n] = W col(x[n]) with the column matrix in the workspace: each output adds its terms in
// tap order, the column's zeros standing for the padding (2-D only: one output plane).
template <class T>
void forward_gemm(const ConvRows<T>& c, const T* x, const T* w, T* y, void* workspace) {
  const Geometry& g = c.g;
  T* col = static_cast<T*>(workspace);
  const int64_t outs = c.outs(), plane = g.out[1] * g.out[2];
  std::vector<Lanes<T>> slab(static_cast<size_t>(outs));
  for (int64_t n = 0; n < g.N; ++n) {
    c.im2col(x, n, col);
    for (int64_t kb = 0; kb < lane_blocks(g.K); ++kb) {
      std::fill(slab.begin(), slab.end(), Lanes<T>{});
      for (int64_t t = 0; t < c.taps(); ++t) {
        const Lanes<T> wl = lane_weights(c, w, kb, c.w_off(0, c.tap(t)));
        const T* row = col + t * outs;
        for (int64_t o = 0; o < outs; ++o) slab[o].add_product(row[o], wl);
      }
      for (int64_t o0 = 0; o0 < g.out[0]; ++o0)
        blend_plane(c, y, n, kb * kLanes, lanes_in_block(kb, g.K), o0, slab.data() + o0 * plane);
    }
  }
}

// Elements an operand spans from its first: max offset + 1.
int64_t span(int64_t n, int64_t c, const std::array<int64_t, 3>& sp, const std::array<int64_t, 5>& s) {
  return 1 + (n - 1) * s[0] + (c - 1) * s[1] + (sp[0] - 1) * s[2] + (sp[1] - 1) * s[3] + (sp[2] - 1) * s[4];
}

// TF32: a copy of an operand's span with every value rounded to TF32 (the emulator's own
// scratch; a GPU rounds in its registers).
template <class T>
const T* tf32_copy(const T* p, int64_t elements, std::vector<T>& out) {
  out.resize(static_cast<size_t>(elements));
  for (int64_t i = 0; i < elements; ++i) out[i] = pn::math::round_to_tf32(p[i]);
  return out.data();
}

template <class T>
void run_typed(const Launch& l) {
  const Geometry& g = l.g;
  const ConvRows<T> c{g, static_cast<T>(l.alpha), static_cast<T>(l.beta)};
  const T* a = static_cast<const T*>(l.a);
  const T* b = static_cast<const T*>(l.b);
  T* out = static_cast<T*>(l.out);
  std::vector<T> a_tf32, b_tf32;
  if constexpr (sizeof(T) == 4) {
    if (g.tf32) {
      const int64_t xn = span(g.N, g.C, g.in, g.xs), wn = span(g.K, g.C, g.k, g.ws), yn = span(g.N, g.K, g.out, g.ys);
      a = tf32_copy(a, l.direction == Direction::BackwardData ? wn : xn, a_tf32);
      b = tf32_copy(b, l.direction == Direction::Forward ? wn : yn, b_tf32);
    }
  }
  switch (l.direction) {
    case Direction::Forward:
      if (l.algo == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM) forward_implicit(c, a, b, out);
      if (l.algo == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM) forward_precomp(c, a, b, out, l.workspace);
      if (l.algo == CUDNN_CONVOLUTION_FWD_ALGO_GEMM) forward_gemm(c, a, b, out, l.workspace);
      return;
    case Direction::BackwardData:
      if (l.algo == CUDNN_CONVOLUTION_BWD_DATA_ALGO_0) backward_data_atomic(c, a, b, out, l.seed);
      if (l.algo == CUDNN_CONVOLUTION_BWD_DATA_ALGO_1) backward_data_columns(c, a, b, out, l.workspace);
      return;
    case Direction::BackwardFilter:
      if (l.algo == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0) backward_filter_atomic(c, a, b, out, l.seed);
      if (l.algo == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1) backward_filter_columns(c, a, b, out, l.workspace);
      return;
  }
}

// 16-bit storage (PSEUDO_HALF / PSEUDO_BFLOAT16): the float body on float copies of the
// operands' spans (the emulator's scratch; exact widening), then the output span rounded once
// back to the storage type (nearest even). So inputs are used as given and every sum is the
// float body's. The output copy is taken even when beta == 0 (the body does not read it
// then), so elements of the span outside the tensor come back as they were, except a NaN
// there, which returns as the canonical NaN.
template <class H>
std::vector<float> widen(const void* p, int64_t elements) {
  const H* h = static_cast<const H*>(p);
  std::vector<float> f(static_cast<size_t>(elements));
  for (int64_t i = 0; i < elements; ++i) f[i] = static_cast<float>(h[i]);
  return f;
}

template <class H>
void run_16bit(const Launch& l) {
  const Geometry& g = l.g;
  const int64_t xn = span(g.N, g.C, g.in, g.xs), wn = span(g.K, g.C, g.k, g.ws), yn = span(g.N, g.K, g.out, g.ys);
  const int64_t an = l.direction == Direction::BackwardData ? wn : xn;
  const int64_t bn = l.direction == Direction::Forward ? wn : yn;
  const int64_t on = l.direction == Direction::Forward ? yn : l.direction == Direction::BackwardData ? xn : wn;
  std::vector<float> a = widen<H>(l.a, an), b = widen<H>(l.b, bn), out = widen<H>(l.out, on);
  Launch f = l;
  f.g.dtype = CUDNN_DATA_FLOAT;
  f.g.tf32 = false;
  f.a = a.data();
  f.b = b.data();
  f.out = out.data();
  run_typed<float>(f);
  H* o = static_cast<H*>(l.out);
  for (int64_t i = 0; i < on; ++i) o[i] = H(out[i]);
}

}  // namespace

void run(const Launch& l) {
  if (l.g.dtype == CUDNN_DATA_DOUBLE)
    run_typed<double>(l);
  else if (l.g.dtype == CUDNN_DATA_BFLOAT16)
    run_16bit<__nv_bfloat16>(l);
  else if (l.g.dtype == CUDNN_DATA_HALF)
    run_16bit<__half>(l);
  else
    run_typed<float>(l);
}

}  // namespace pn::cuda::emu::cudnn
