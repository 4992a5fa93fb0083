// Direct few-channel convolution backward-weight: see conv_few_channel.h.
#include "kernels/cpu/conv_few_channel.h"

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "kernels/cpu/conv_few_channel_rows.h"

namespace pn::cpu {

namespace {

using kernels::ConvGeom;

using few_channel::AlignedFloats;
using few_channel::kLanes;
using few_channel::round_up;
using few_channel::valid_range;

constexpr int64_t kCoBlock = 8;  // output channels per task (8 x 3 accumulators in registers)
constexpr int64_t kKw = 3;       // kernel width the register tile is built for
constexpr int64_t kGroups = 16;  // output planes (n, od) split into at most this many groups

// Operands with every row padded so that the register tile reads whole 16-lane vectors from
// rows that start on cache lines: dy rows widened to wy = W_out rounded up to 16 (zeros after
// W_out) and its channels to a multiple of 8 (zero channels); x rows shifted by the width
// padding, wx = wy + 16 wide, zeros outside the input. Depth and height padding are not
// stored: rows outside are skipped.
struct Padded {
  int64_t wy = 0, wx = 0, co_pad = 0;
  AlignedFloats x, dy;
};

Padded pad_operands(const ConvGeom& g, const float* x, const float* dy) {
  const int64_t yrows = g.out[0] * g.out[1], wy = round_up(g.out[2], kLanes), wx = wy + kLanes;
  const int64_t co_pad = round_up(g.C_out, kCoBlock);
  Padded p{wy, wx, co_pad,
           few_channel::padded_rows(x, g.N * g.C_in * g.in[0], g.in[1], g.in[2], g.in[1], wx, 0, g.pad[2]),
           AlignedFloats(g.N * co_pad * yrows * wy)};
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < g.N * g.C_out * yrows; ++r) {
    const int64_t n = r / (g.C_out * yrows), rest = r % (g.C_out * yrows);
    std::copy(dy + r * g.out[2], dy + (r + 1) * g.out[2], p.dy.data() + (n * p.co_pad * yrows + rest) * p.wy);
  }
  return p;
}

// partial[c][kx][16 lanes] += sum over `rows` rows of dy[co0 + c] (row stride wy, channel
// stride ychan) times the x row (row stride wx) shifted by kx: one (plane, ci, kz, ky) piece.
__attribute__((target("avx512f,fma"))) void row_tile(const float* yr, int64_t ychan, const float* xr, int64_t wy,
                                                     int64_t wx, int64_t rows, float* partial) {
  __m512 acc[kCoBlock][kKw];
  for (auto& row : acc)
    for (auto& a : row) a = _mm512_setzero_ps();
  for (int64_t r = 0; r < rows; ++r, yr += wy, xr += wx)
    for (int64_t ow = 0; ow < wy; ow += kLanes) {
      const __m512 x0 = _mm512_loadu_ps(xr + ow), x1 = _mm512_loadu_ps(xr + ow + 1), x2 = _mm512_loadu_ps(xr + ow + 2);
#pragma GCC unroll 8
      for (int64_t c = 0; c < kCoBlock; ++c) {
        const __m512 d = _mm512_loadu_ps(yr + c * ychan + ow);
        acc[c][0] = _mm512_fmadd_ps(d, x0, acc[c][0]);
        acc[c][1] = _mm512_fmadd_ps(d, x1, acc[c][1]);
        acc[c][2] = _mm512_fmadd_ps(d, x2, acc[c][2]);
      }
    }
  for (int64_t c = 0; c < kCoBlock; ++c)
    for (int64_t kx = 0; kx < kKw; ++kx) {
      float* q = partial + (c * kKw + kx) * kLanes;
      _mm512_storeu_ps(q, _mm512_add_ps(_mm512_loadu_ps(q), acc[c][kx]));
    }
}

// Lane partials of one group of output planes (n, od) for output channels co0..co0+7:
// partial[((ci * kd + kz) * kh + ky)][c][kx][16], accumulated plane by plane. A plane's dy
// (8 channels) stays in L1/L2 while every (ci, kz, ky) reads it.
void group_partials(const ConvGeom& g, const Padded& p, int64_t plane0, int64_t plane1, int64_t co0, float* partial) {
  const int64_t ychan = g.out[0] * g.out[1] * p.wy, tile = kCoBlock * kKw * kLanes;
  for (int64_t plane = plane0; plane < plane1; ++plane) {
    const int64_t n = plane / g.out[0], od = plane % g.out[0];
    const float* yp = p.dy.data() + (n * p.co_pad + co0) * ychan + od * g.out[1] * p.wy;
    for (int64_t ci = 0; ci < g.C_in; ++ci)
      for (int64_t kz = 0; kz < g.k[0]; ++kz) {
        const int64_t id = od + kz - g.pad[0];
        if (id < 0 || id >= g.in[0]) continue;
        const float* xp = p.x.data() + ((n * g.C_in + ci) * g.in[0] + id) * g.in[1] * p.wx;
        for (int64_t ky = 0; ky < g.k[1]; ++ky) {
          const few_channel::Range rh = valid_range(g.out[1], g.in[1], ky - g.pad[1]);
          if (rh.hi <= rh.lo) continue;
          row_tile(yp + rh.lo * p.wy, ychan, xp + (rh.lo + ky - g.pad[1]) * p.wx, p.wy, p.wx, rh.hi - rh.lo,
                   partial + ((ci * g.k[0] + kz) * g.k[1] + ky) * tile);
        }
      }
  }
}

}  // namespace

bool few_channel_bwdw_supported(const ConvGeom& g) {
  const bool stride1 = g.stride[0] == 1 && g.stride[1] == 1 && g.stride[2] == 1;
  const bool sized = g.N > 0 && g.C_in > 0 && g.C_out > 0 && g.out[0] > 0 && g.out[1] > 0 && g.out[2] > 0;
  return stride1 && sized && g.k[2] == kKw && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
}

bool few_channel_bwdw_preferred(const ConvGeom& g) {
  // Measured crossover (README): faster than oneDNN up to 16 -> 8 and 8 -> 16, slower from 16 -> 16
  // on; wider channel counts (e.g. 128 -> 1) were not measured and keep oneDNN.
  return few_channel_bwdw_supported(g) && g.C_in <= 16 && g.C_out <= 16 && g.C_in * g.C_out <= 128;
}

void few_channel_conv_backward_weight(const ConvGeom& g, const float* x, const float* dy, float* dw) {
  if (!few_channel_bwdw_supported(g))
    throw std::invalid_argument(
        "few_channel_conv_backward_weight: needs stride 1, kernel width 3 and an AVX-512 CPU "
        "(check few_channel_bwdw_supported first; conv.h falls back to oneDNN or the reference)");
  const Padded p = pad_operands(g, x, dy);
  const int64_t planes = g.N * g.out[0], groups = std::min(planes, kGroups), blocks = p.co_pad / kCoBlock;
  const int64_t taps = g.C_in * g.k[0] * g.k[1], tile = kCoBlock * kKw * kLanes;
  // One lane-partial buffer per (group, block): a fixed split, so the sums (groups added in
  // order below) do not depend on the thread count.
  std::vector<float> partial(static_cast<size_t>(groups * blocks * taps * tile), 0.f);
#pragma omp parallel for schedule(dynamic)
  for (int64_t t = 0; t < groups * blocks; ++t) {
    const int64_t grp = t / blocks, b = t % blocks;
    group_partials(g, p, planes * grp / groups, planes * (grp + 1) / groups, b * kCoBlock,
                   partial.data() + t * taps * tile);
  }
#pragma omp parallel for schedule(static)
  for (int64_t co = 0; co < g.C_out; ++co)
    for (int64_t tap = 0; tap < taps; ++tap)  // tap = (ci * kd + kz) * kh + ky: dw's own order
      for (int64_t kx = 0; kx < kKw; ++kx) {
        float sum = 0.f;
        for (int64_t grp = 0; grp < groups; ++grp) {
          const float* q = partial.data() + ((grp * blocks + co / kCoBlock) * taps + tap) * tile +
                           ((co % kCoBlock) * kKw + kx) * kLanes;
          for (int64_t l = 0; l < kLanes; ++l) sum += q[l];
        }
        dw[(co * taps + tap) * kKw + kx] = sum;
      }
}

}  // namespace pn::cpu
