// vol2col + GEMM reference convolution: see conv_reference.h.
#include "kernels/cpu/conv_reference.h"

#include <algorithm>
#include <vector>

#include "kernels/cpu/gemm.h"

namespace pn::cpu::reference {

namespace {

using kernels::ConvGeom;

// Default bound on the column buffer, in elements (8 MiB of float: it stays in a typical L3
// and is re-read by the GEMM from there; measured best of 2^18..2^22). A chunk is a whole
// number of output rows (D_out * H_out rows of W_out voxels each), at least one.
constexpr int64_t kColBudget = int64_t{1} << 21;

// Output positions o in [lo, hi) whose input coordinate o * stride + off lies in [0, n).
struct Range {
  int64_t lo, hi;
};
Range valid_range(int64_t out_n, int64_t in_n, int64_t stride, int64_t off) {
  int64_t lo = off >= 0 ? 0 : (-off + stride - 1) / stride;
  int64_t hi = in_n - off <= 0 ? 0 : (in_n - off + stride - 1) / stride;
  hi = std::min(hi, out_n);
  return {std::min(lo, hi), hi};
}

// Output rows [r0, r1) of one sample: row r is (od, oh) = (r / H_out, r % H_out).
struct Chunk {
  int64_t r0, r1;
  int64_t cols(const ConvGeom& g) const { return (r1 - r0) * g.out[2]; }
};

// Row of the column matrix <-> (channel, kernel tap): row = ((c*kd + kz)*kh + ky)*kw + kx,
// the order of the weight's trailing dims, so W viewed as [C_out, C_in*k^3] lines up.
struct Tap {
  int64_t c, kz, ky, kx;
};
Tap tap_of(const ConvGeom& g, int64_t row) {
  Tap t{};
  t.kx = row % g.k[2], row /= g.k[2];
  t.ky = row % g.k[1], row /= g.k[1];
  t.kz = row % g.k[0];
  t.c = row / g.k[0];
  return t;
}

// Input row (depth id, height ih) of one channel that output row r reads through tap
// (kz, ky), or nullptr where that falls into the zero padding.
template <class T>
T* input_row(T* xc, const ConvGeom& g, int64_t r, const Tap& t) {
  const int64_t od = r / g.out[1], oh = r % g.out[1];
  const int64_t id = od * g.stride[0] - g.pad[0] + t.kz, ih = oh * g.stride[1] - g.pad[1] + t.ky;
  if (id < 0 || id >= g.in[0] || ih < 0 || ih >= g.in[1]) return nullptr;
  return xc + (id * g.in[1] + ih) * g.in[2];
}

// col[row, j] = x[c, od*s - p + kz, oh*s - p + ky, ow*s - p + kx] (0 in the padding) for
// the chunk's columns j = (r - r0) * W_out + ow. Parallel over rows: each writes its own.
template <class T>
void vol2col(const ConvGeom& g, const T* x, const Chunk& ch, T* col) {
  const int64_t cols = ch.cols(g), W_out = g.out[2], sw = g.stride[2];
#pragma omp parallel for schedule(static) if (g.col_rows() * cols > 32768)
  for (int64_t row = 0; row < g.col_rows(); ++row) {
    const Tap t = tap_of(g, row);
    const T* xc = x + t.c * g.in_volume();
    const int64_t off = t.kx - g.pad[2];
    const Range v = valid_range(W_out, g.in[2], sw, off);
    T* dst = col + row * cols;
    for (int64_t r = ch.r0; r < ch.r1; ++r, dst += W_out) {
      const T* src = input_row(xc, g, r, t);
      if (!src) { std::fill(dst, dst + W_out, T(0)); continue; }
      std::fill(dst, dst + v.lo, T(0));
      if (sw == 1) std::copy(src + v.lo + off, src + v.hi + off, dst + v.lo);
      else for (int64_t ow = v.lo; ow < v.hi; ++ow) dst[ow] = src[ow * sw + off];
      std::fill(dst + v.hi, dst + W_out, T(0));
    }
  }
}

// The adjoint of vol2col: dx[c, ...] += col[row, j] along the same index map. Parallel
// over channels, since the taps of one channel overlap in dx but channels never do.
template <class T>
void col2vol_add(const ConvGeom& g, const T* col, const Chunk& ch, T* dx) {
  const int64_t cols = ch.cols(g), W_out = g.out[2], sw = g.stride[2], kvol = g.k_volume();
#pragma omp parallel for schedule(static) if (g.col_rows() * cols > 32768)
  for (int64_t c = 0; c < g.C_in; ++c) {
    T* xc = dx + c * g.in_volume();
    for (int64_t row = c * kvol; row < (c + 1) * kvol; ++row) {
      const Tap t = tap_of(g, row);
      const int64_t off = t.kx - g.pad[2];
      const Range v = valid_range(W_out, g.in[2], sw, off);
      const T* src = col + row * cols;
      for (int64_t r = ch.r0; r < ch.r1; ++r, src += W_out) {
        T* dst = input_row(xc, g, r, t);
        if (!dst) continue;
        for (int64_t ow = v.lo; ow < v.hi; ++ow) dst[ow * sw + off] += src[ow];
      }
    }
  }
}

// Output rows per chunk: the whole sample when pointwise (no buffer is needed), else as
// many as fit the column budget.
int64_t chunk_rows(const ConvGeom& g) {
  const int64_t out_rows = g.out[0] * g.out[1];
  if (g.pointwise()) return out_rows;
  const int64_t per_row = std::max<int64_t>(1, g.col_rows() * g.out[2]);
  return std::clamp<int64_t>((g.col_budget > 0 ? g.col_budget : kColBudget) / per_row, 1, out_rows);
}

template <class T>
std::vector<T> column_buffer(const ConvGeom& g) {
  return std::vector<T>(g.pointwise() ? 0 : static_cast<size_t>(g.col_rows() * chunk_rows(g) * g.out[2]));
}

// Calls body(n, chunk) for every sample and chunk of output rows.
template <class F>
void for_each_chunk(const ConvGeom& g, F&& body) {
  const int64_t out_rows = g.out[0] * g.out[1], step = chunk_rows(g);
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t r0 = 0; r0 < out_rows; r0 += step) body(n, Chunk{r0, std::min(out_rows, r0 + step)});
}

// The chunk's column matrix [C_in*k^3, cols] of sample n: x[n] itself when pointwise.
template <class T>
const T* columns(const ConvGeom& g, const T* x, int64_t n, const Chunk& ch, std::vector<T>& buf) {
  const T* xn = x + n * g.C_in * g.in_volume();
  if (g.pointwise()) return xn;
  vol2col(g, xn, ch, buf.data());
  return buf.data();
}

}  // namespace

template <class T>
void conv_forward(const ConvGeom& g, const T* x, const T* w, T* y) {
  const int64_t ov = g.out_volume(), K = g.col_rows();
  auto buf = column_buffer<T>(g);
  for_each_chunk(g, [&](int64_t n, const Chunk& ch) {
    const int64_t cols = ch.cols(g);
    // y[n][:, chunk] = W [C_out, K] @ col [K, cols]
    cpu::gemm<T>(false, false, g.C_out, cols, K, T(1), w, K, columns(g, x, n, ch, buf), cols, T(0),
            y + n * g.C_out * ov + ch.r0 * g.out[2], ov);
  });
}

template <class T>
void conv_backward_input(const ConvGeom& g, const T* dy, const T* w, T* dx) {
  const int64_t ov = g.out_volume(), K = g.col_rows();
  if (g.pointwise()) {  // dx[n] = W^T @ dy[n], written straight into dx
    for (int64_t n = 0; n < g.N; ++n)
      cpu::gemm<T>(true, false, K, ov, g.C_out, T(1), w, K, dy + n * g.C_out * ov, ov, T(0), dx + n * g.C_in * ov, ov);
    return;
  }
  std::fill(dx, dx + g.N * g.C_in * g.in_volume(), T(0));
  auto buf = column_buffer<T>(g);
  for_each_chunk(g, [&](int64_t n, const Chunk& ch) {
    const int64_t cols = ch.cols(g);
    // col [K, cols] = W^T @ dy[n][:, chunk], then added back onto the input grid.
    cpu::gemm<T>(true, false, K, cols, g.C_out, T(1), w, K, dy + n * g.C_out * ov + ch.r0 * g.out[2], ov, T(0),
            buf.data(), cols);
    col2vol_add(g, buf.data(), ch, dx + n * g.C_in * g.in_volume());
  });
}

template <class T>
void conv_backward_weight(const ConvGeom& g, const T* x, const T* dy, T* dw) {
  const int64_t ov = g.out_volume(), K = g.col_rows();
  std::fill(dw, dw + g.C_out * K, T(0));
  auto buf = column_buffer<T>(g);
  for_each_chunk(g, [&](int64_t n, const Chunk& ch) {
    const int64_t cols = ch.cols(g);
    // dW [C_out, K] += dy[n][:, chunk] [C_out, cols] @ col^T [cols, K]
    cpu::gemm<T>(false, true, g.C_out, K, cols, T(1), dy + n * g.C_out * ov + ch.r0 * g.out[2], ov,
            columns(g, x, n, ch, buf), cols, T(1), dw, K);
  });
}

template void conv_forward<float>(const ConvGeom&, const float*, const float*, float*);
template void conv_forward<double>(const ConvGeom&, const double*, const double*, double*);
template void conv_backward_input<float>(const ConvGeom&, const float*, const float*, float*);
template void conv_backward_input<double>(const ConvGeom&, const double*, const double*, double*);
template void conv_backward_weight<float>(const ConvGeom&, const float*, const float*, float*);
template void conv_backward_weight<double>(const ConvGeom&, const double*, const double*, double*);

}  // namespace pn::cpu::reference
