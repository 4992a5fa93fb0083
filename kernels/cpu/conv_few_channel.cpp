// Direct few-channel convolution backward-weight: see conv_few_channel.h.
#include "kernels/cpu/conv_few_channel.h"

#include <immintrin.h>

#include <algorithm>
#include <stdexcept>
#include <vector>

namespace pn::cpu {

namespace {

using kernels::ConvGeom;

constexpr int64_t kLanes = 16;   // floats per AVX-512 register
constexpr int64_t kCoBlock = 8;  // output channels per task (8 x 3 accumulators in registers)
constexpr int64_t kKw = 3;       // kernel width the register tile is built for

int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

// Output positions o in [lo, hi) whose input coordinate o + off lies in [0, n) (stride 1).
struct Range {
  int64_t lo, hi;
};
Range valid_range(int64_t out_n, int64_t in_n, int64_t off) {
  const int64_t lo = std::max<int64_t>(0, -off), hi = std::min(out_n, in_n - off);
  return {std::min(lo, std::max(hi, lo)), std::max(hi, lo)};
}

// Operands with every row padded so that the register tile reads whole 16-lane vectors:
// dy rows widened to wy = W_out rounded up to 16 (zeros after W_out) and its channels to a
// multiple of 8 (zero channels); x rows shifted by the width padding, wx = wy + 2 wide, zeros
// outside the input. Depth and height padding are not stored: rows outside are skipped.
struct Padded {
  int64_t wy = 0, wx = 0, co_pad = 0;
  std::vector<float> x, dy;
};

Padded pad_operands(const ConvGeom& g, const float* x, const float* dy) {
  Padded p;
  p.wy = round_up(g.out[2], kLanes), p.wx = p.wy + kKw - 1, p.co_pad = round_up(g.C_out, kCoBlock);
  const int64_t xrows = g.in[0] * g.in[1], yrows = g.out[0] * g.out[1], pw = g.pad[2];
  p.x.assign(static_cast<size_t>(g.N * g.C_in * xrows * p.wx), 0.f);
  p.dy.assign(static_cast<size_t>(g.N * p.co_pad * yrows * p.wy), 0.f);
  const int64_t lo = std::max<int64_t>(0, pw), src0 = std::max<int64_t>(0, -pw);
  const int64_t len = std::max<int64_t>(0, std::min(g.in[2] - src0, p.wx - lo));
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < g.N * g.C_in * xrows; ++r)
    std::copy(x + r * g.in[2] + src0, x + r * g.in[2] + src0 + len, p.x.data() + r * p.wx + lo);
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < g.N * g.C_out * yrows; ++r) {
    const int64_t n = r / (g.C_out * yrows), rest = r % (g.C_out * yrows);
    std::copy(dy + r * g.out[2], dy + (r + 1) * g.out[2], p.dy.data() + (n * p.co_pad * yrows + rest) * p.wy);
  }
  return p;
}

// One task's sums: out[c * 3 + kx] = dw[co0 + c, ci, kz, ky, kx] for c < 8 (all samples).
__attribute__((target("avx512f,fma"))) void tile_sums(const ConvGeom& g, const Padded& p, int64_t ci, int64_t kz,
                                                      int64_t ky, int64_t co0, float* out) {
  __m512 acc[kCoBlock][kKw];
  for (auto& row : acc)
    for (auto& a : row) a = _mm512_setzero_ps();
  const Range rd = valid_range(g.out[0], g.in[0], kz - g.pad[0]), rh = valid_range(g.out[1], g.in[1], ky - g.pad[1]);
  const int64_t yplane = g.out[0] * g.out[1] * p.wy;
  for (int64_t n = 0; n < g.N; ++n) {
    const float* xc = p.x.data() + (n * g.C_in + ci) * g.in[0] * g.in[1] * p.wx;
    const float* yc = p.dy.data() + (n * p.co_pad + co0) * yplane;
    for (int64_t od = rd.lo; od < rd.hi; ++od)
      for (int64_t oh = rh.lo; oh < rh.hi; ++oh) {
        const float* xr = xc + ((od + kz - g.pad[0]) * g.in[1] + oh + ky - g.pad[1]) * p.wx;
        const float* yr = yc + (od * g.out[1] + oh) * p.wy;
        for (int64_t ow = 0; ow < p.wy; ow += kLanes) {
          const __m512 x0 = _mm512_loadu_ps(xr + ow), x1 = _mm512_loadu_ps(xr + ow + 1),
                       x2 = _mm512_loadu_ps(xr + ow + 2);
#pragma GCC unroll 8
          for (int64_t c = 0; c < kCoBlock; ++c) {
            const __m512 d = _mm512_loadu_ps(yr + c * yplane + ow);
            acc[c][0] = _mm512_fmadd_ps(d, x0, acc[c][0]);
            acc[c][1] = _mm512_fmadd_ps(d, x1, acc[c][1]);
            acc[c][2] = _mm512_fmadd_ps(d, x2, acc[c][2]);
          }
        }
      }
  }
  alignas(64) float lanes[kLanes];
  for (int64_t c = 0; c < kCoBlock; ++c)
    for (int64_t kx = 0; kx < kKw; ++kx) {
      _mm512_store_ps(lanes, acc[c][kx]);
      float sum = 0.f;  // the lanes in a fixed order
      for (float v : lanes) sum += v;
      out[c * kKw + kx] = sum;
    }
}

}  // namespace

bool few_channel_bwdw_supported(const ConvGeom& g) {
  const bool stride1 = g.stride[0] == 1 && g.stride[1] == 1 && g.stride[2] == 1;
  const bool sized = g.N > 0 && g.C_in > 0 && g.C_out > 0 && g.out[0] > 0 && g.out[1] > 0 && g.out[2] > 0;
  return stride1 && sized && g.k[2] == kKw && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
}

bool few_channel_bwdw_preferred(const ConvGeom& g) {
  return few_channel_bwdw_supported(g) && g.C_in <= 8 && g.C_out <= 16;
}

void few_channel_conv_backward_weight(const ConvGeom& g, const float* x, const float* dy, float* dw) {
  if (!few_channel_bwdw_supported(g))
    throw std::invalid_argument(
        "few_channel_conv_backward_weight: needs stride 1, kernel width 3 and an AVX-512 CPU "
        "(check few_channel_bwdw_supported first; conv.h falls back to oneDNN or the reference)");
  const Padded p = pad_operands(g, x, dy);
  const int64_t kd = g.k[0], kh = g.k[1], blocks = p.co_pad / kCoBlock;
  const int64_t tasks = g.C_in * kd * kh * blocks;
#pragma omp parallel for schedule(dynamic)
  for (int64_t t = 0; t < tasks; ++t) {
    const int64_t b = t % blocks, ky = t / blocks % kh, kz = t / (blocks * kh) % kd, ci = t / (blocks * kh * kd);
    float out[kCoBlock * kKw];
    tile_sums(g, p, ci, kz, ky, b * kCoBlock, out);
    for (int64_t c = 0; c < kCoBlock && b * kCoBlock + c < g.C_out; ++c)
      for (int64_t kx = 0; kx < kKw; ++kx)
        dw[(((b * kCoBlock + c) * g.C_in + ci) * kd + kz) * kh * kKw + ky * kKw + kx] = out[c * kKw + kx];
  }
}

}  // namespace pn::cpu
