// The row machinery the emulated cuDNN's convolution bodies share (cudnn_emu_conv.cpp: forward
// and the dispatcher; cudnn_emu_conv_backward.cpp: backward data and filter). Not for users
// of cudnn_emu.h.
//
// Every body is written as loops over filter taps (input channel C and filter position r)
// outside and output rows inside: for a tap, the outputs whose input coordinate
//   i = o * stride - pad + r * dilation
// lies inside the input form a box, computed once per tap and axis (`valid`), so the
// innermost loop runs over a stretch of the last output axis with no bounds check and with
// both operands addressed by a fixed step. Per output element the terms still arrive in the
// order of the definition's loops, so these bodies give the same bits as the per-element
// loops they replaced (the non-deterministic ALGO_0 bodies excepted: they model atomics).
// Offsets are element offsets computed from the descriptors' strides (Geometry), never from
// a packed layout, except for the bodies' own packed scratch rows and planes.
#pragma once
#include <algorithm>
#include <array>
#include <cstdint>

#include "kernels/cuda/emu/cudnn_emu_internal.h"

namespace pn::cuda::emu::cudnn {

// Indices lo, lo + 1, ..., hi - 1.
struct Range {
  int64_t lo = 0, hi = 0;
  int64_t size() const { return hi - lo; }
};

// dst[j * dst_step] += src[j * src_step] * w for j < n: one tap's terms along a row (the
// product in the definition's operand order, so that every bit matches).
template <class T>
inline void multiply_add(T* dst, int64_t dst_step, const T* src, int64_t src_step, T w, int64_t n) {
  if (dst_step == 1 && src_step == 1) {  // the common case, written so that it vectorises
    for (int64_t j = 0; j < n; ++j) dst[j] += src[j] * w;
  } else {
    for (int64_t j = 0; j < n; ++j) dst[j * dst_step] += src[j * src_step] * w;
  }
}

// Channel lanes: the bodies handle kLanes channels (of the output, or of the sum's other
// operand) at once, side by side in packed scratch ([position][lane]), so that each step of
// the innermost loops does kLanes independent multiply-adds. Lanes past the last channel
// compute on zero weights and are never stored.
constexpr int kLanes = 8;

// kLanes values of T as 16-byte vectors (GCC/Clang vector extensions: SSE2 on x86-64, the
// baseline instruction set), operated on lane by lane with the very IEEE operations of
// scalar code, so that every lane's bits are those of the scalar loop.
template <class T>
struct Vector16;
template <>
struct Vector16<float> {
  typedef float type __attribute__((vector_size(16)));
};
template <>
struct Vector16<double> {
  typedef double type __attribute__((vector_size(16)));
};

template <class T>
struct Lanes {
  using Vector = typename Vector16<T>::type;
  static constexpr int kPerVector = static_cast<int>(16 / sizeof(T)), kVectors = kLanes / kPerVector;
  Vector v[kVectors];

  T get(int j) const { return v[j / kPerVector][j % kPerVector]; }
  void set(int j, T x) { v[j / kPerVector][j % kPerVector] = x; }
  // this[j] += x * w[j] for every lane j.
  void add_product(T x, const Lanes& w) {
    for (int q = 0; q < kVectors; ++q) v[q] += x * w.v[q];
  }
  // this[j] += o[j] for every lane j.
  void add(const Lanes& o) {
    for (int q = 0; q < kVectors; ++q) v[q] += o.v[q];
  }
};

// Channels in lane block b of `count` channels (kLanes, or fewer in the last block).
inline int64_t lanes_in_block(int64_t b, int64_t count) { return std::min<int64_t>(kLanes, count - b * kLanes); }
inline int64_t lane_blocks(int64_t count) { return (count + kLanes - 1) / kLanes; }

// One filter tap: input channel c, filter position r, and its input offset r * dilation.
struct Tap {
  int64_t c = 0;
  int64_t r[3] = {0, 0, 0};
  int64_t delta[3] = {0, 0, 0};
};

// A convolution's geometry with the loops' building blocks, and the output blend
// out = alpha * sum + beta * out (out not read when beta == 0).
template <class T>
struct ConvRows {
  const Geometry& g;
  T alpha, beta;

  int64_t taps() const { return g.C * g.k_volume(); }
  int64_t outs() const { return g.out_volume(); }

  // Tap t in (C, r) order, r row-major.
  Tap tap(int64_t t) const {
    Tap p;
    p.r[2] = t % g.k[2];
    p.r[1] = t / g.k[2] % g.k[1];
    p.r[0] = t / (g.k[1] * g.k[2]) % g.k[0];
    p.c = t / g.k_volume();
    for (int a = 0; a < 3; ++a) p.delta[a] = p.r[a] * g.dilation[a];
    return p;
  }
  // Filter offset of (k, tap), mirrored for CUDNN_CONVOLUTION.
  int64_t w_off(int64_t k, const Tap& p) const {
    int64_t off = k * g.ws[0] + p.c * g.ws[1];
    for (int a = 0; a < 3; ++a) off += (g.flip ? g.k[a] - 1 - p.r[a] : p.r[a]) * g.ws[2 + a];
    return off;
  }
  // The outputs o along axis a whose input coordinate o * stride - pad + delta lies in [0, in).
  Range valid(int a, int64_t delta) const {
    const int64_t s = g.stride[a], first = g.pad[a] - delta, last = g.in[a] - 1 + g.pad[a] - delta;
    Range r;
    r.lo = first <= 0 ? 0 : (first + s - 1) / s;
    r.hi = last < 0 ? 0 : std::min(g.out[a], last / s + 1);
    r.hi = std::max(r.hi, r.lo);
    return r;
  }
  // Calls f(o0, o1, i0, i1, r2) for every output row (o0, o1) whose input row (i0, i1) under
  // the tap offset delta lies inside the input; r2: the valid stretch of the last axis.
  template <class F>
  void rows(const int64_t* delta, F f) const {
    const Range r0 = valid(0, delta[0]), r1 = valid(1, delta[1]), r2 = valid(2, delta[2]);
    if (r2.size() <= 0) return;
    for (int64_t o0 = r0.lo; o0 < r0.hi; ++o0)
      for (int64_t o1 = r1.lo; o1 < r1.hi; ++o1)
        f(o0, o1, o0 * g.stride[0] - g.pad[0] + delta[0], o1 * g.stride[1] - g.pad[1] + delta[1], r2);
  }
  // Like rows, for the rows of one output plane o0 only (none when its input plane lies in
  // the padding).
  template <class F>
  void rows_of_plane(int64_t o0, const int64_t* delta, F f) const {
    const int64_t i0 = o0 * g.stride[0] - g.pad[0] + delta[0];
    if (i0 < 0 || i0 >= g.in[0]) return;
    const Range r1 = valid(1, delta[1]), r2 = valid(2, delta[2]);
    if (r2.size() <= 0) return;
    for (int64_t o1 = r1.lo; o1 < r1.hi; ++o1) f(o1, i0, o1 * g.stride[1] - g.pad[1] + delta[1], r2);
  }
  // The input coordinate along the last axis of output o2 under the tap offset delta2.
  int64_t input2(int64_t o2, int64_t delta2) const { return o2 * g.stride[2] - g.pad[2] + delta2; }

  // *out = alpha * sum + beta * *out (not read when beta == 0).
  void store(T* out, T sum) const { *out = beta == T(0) ? alpha * sum : alpha * sum + beta * *out; }
  // out[j * step] = alpha * sum[j] + beta * out[j * step] for j < n.
  void blend(T* out, int64_t step, const T* sum, int64_t n) const {
    for (int64_t j = 0; j < n; ++j) store(out + j * step, sum[j]);
  }
  // Blends a packed volume of sums (extent e) into out, whose spatial strides are s.
  void blend_volume(T* out, const int64_t* s, const std::array<int64_t, 3>& e, const T* sum) const {
    for (int64_t a0 = 0; a0 < e[0]; ++a0)
      for (int64_t a1 = 0; a1 < e[1]; ++a1) blend(out + a0 * s[0] + a1 * s[1], s[2], sum + (a0 * e[1] + a1) * e[2], e[2]);
  }

  // Fills col[t][o] (taps x output positions, packed) with sample n of x; zero in the padding.
  void im2col(const T* x, int64_t n, T* col) const {
    for (int64_t t = 0; t < taps(); ++t) {
      const Tap p = tap(t);
      T* row = col + t * outs();
      std::fill(row, row + outs(), T(0));
      const int64_t step = g.stride[2] * g.xs[4];
      rows(p.delta, [&](int64_t o0, int64_t o1, int64_t i0, int64_t i1, Range r2) {
        const T* src = x + n * g.xs[0] + p.c * g.xs[1] + i0 * g.xs[2] + i1 * g.xs[3] + input2(r2.lo, p.delta[2]) * g.xs[4];
        T* dst = row + (o0 * g.out[1] + o1) * g.out[2] + r2.lo;
        for (int64_t j = 0; j < r2.size(); ++j) dst[j] = src[j * step];
      });
    }
  }
};

// ---- The backward bodies (cudnn_emu_conv_backward.cpp), for T = float and double --------
// Backward data: dx from w and dy. ALGO_0 (atomics: `seed` draws the landing order) and
// ALGO_1 (the column matrix in `workspace`).
template <class T>
void backward_data_atomic(const ConvRows<T>& c, const T* w, const T* dy, T* dx, uint64_t seed);
template <class T>
void backward_data_columns(const ConvRows<T>& c, const T* w, const T* dy, T* dx, void* workspace);
// Backward filter: dw from x and dy, likewise.
template <class T>
void backward_filter_atomic(const ConvRows<T>& c, const T* x, const T* dy, T* dw, uint64_t seed);
template <class T>
void backward_filter_columns(const ConvRows<T>& c, const T* x, const T* dy, T* dw, void* workspace);

}  // namespace pn::cuda::emu::cudnn
