// Direct few-channel convolution forward and backward-input: see conv_few_channel_fwd.h.
#include "kernels/cpu/conv_few_channel_fwd.h"

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

constexpr int64_t kCoBlock = 8;  // output channels per task
constexpr int64_t kKw = 3;       // kernel width the tile is unrolled for
constexpr int kTileVectors = 3;  // output vectors per tile: 8 x 3 accumulators in registers

// The input of one call: rows_per_plane = H_out + kh - 1 rows per (n, ci, id) plane, row j
// holding input row j - ph (zero rows above and below), each wx = round_up(W_out, 16) + 16
// floats wide, column j holding input column j - pw (zeros around). So the tap (ky, kx) of
// output (oh, ow) reads row oh + ky, column ow + kx of its plane: always inside the buffer.
struct PaddedInput {
  int64_t rows_per_plane, wx;
  AlignedFloats x;
};

PaddedInput pad_input(const ConvGeom& g, const float* x) {
  const int64_t rows = g.out[1] + g.k[1] - 1, wx = round_up(g.out[2], kLanes) + kLanes;
  return {rows, wx, few_channel::padded_rows(x, g.N * g.C_in * g.in[0], g.in[1], g.in[2], rows, wx, g.pad[1], g.pad[2])};
}

// Weights packed for the tile: packed[block][ci][tap][c] = weight(block * 8 + c, ci, tap)
// (zero past C_out), tap = (kz * kh + ky) * 3 + kx, so one tap's 8 channels are 32 bytes.
template <class Weight>
std::vector<float> pack_weights(const ConvGeom& g, Weight weight) {
  const int64_t blocks = round_up(g.C_out, kCoBlock) / kCoBlock, taps = g.k_volume();
  std::vector<float> packed(static_cast<size_t>(blocks * g.C_in * taps * kCoBlock), 0.f);
  for (int64_t co = 0; co < g.C_out; ++co)
    for (int64_t ci = 0; ci < g.C_in; ++ci)
      for (int64_t tap = 0; tap < taps; ++tap)
        packed[static_cast<size_t>((((co / kCoBlock) * g.C_in + ci) * taps + tap) * kCoBlock + co % kCoBlock)] =
            weight(co, ci, tap);
  return packed;
}

// What one tile walks: the input at (n, ci = 0, first valid depth tap's plane, padded row 0),
// the packed weights at (block, ci = 0, that depth tap's first tap), and the strides.
struct Walk {
  const float* x;
  const float* w;
  int64_t c_in, kz_n, kh, wx, x_plane, x_channel, w_channel;
};

// acc[c][v] = sum over ci, valid kz, ky, kx of w[c, ci, kz, ky, kx] * x row (kz, ky) at
// column offset xoff[v] + kx: V output vectors of 16 positions, 8 output channels.
template <int V>
__attribute__((target("avx512f,fma"))) void tile(const Walk& k, const int64_t (&xoff)[V],
                                                 __m512 (&acc)[kCoBlock][V]) {
  for (auto& row : acc)
    for (auto& a : row) a = _mm512_setzero_ps();
  for (int64_t ci = 0; ci < k.c_in; ++ci)
    for (int64_t kz = 0; kz < k.kz_n; ++kz) {
      const float* xr = k.x + ci * k.x_channel + kz * k.x_plane;
      const float* wr = k.w + ci * k.w_channel + kz * k.kh * kKw * kCoBlock;
      for (int64_t ky = 0; ky < k.kh; ++ky, xr += k.wx, wr += kKw * kCoBlock)
#pragma GCC unroll 3
        for (int64_t kx = 0; kx < kKw; ++kx) {
          __m512 xv[V];
          for (int v = 0; v < V; ++v) xv[v] = _mm512_loadu_ps(xr + xoff[v] + kx);
#pragma GCC unroll 8
          for (int64_t c = 0; c < kCoBlock; ++c) {
            const __m512 wv = _mm512_set1_ps(wr[kx * kCoBlock + c]);
            for (int v = 0; v < V; ++v) acc[c][v] = _mm512_fmadd_ps(wv, xv[v], acc[c][v]);
          }
        }
    }
}

// Output vectors v0 .. v0+V-1 of one plane (vector v: row v / per_row, columns from
// (v % per_row) * 16), 8 channels from co0: computed and stored, masked at the row's end.
template <int V>
__attribute__((target("avx512f,fma"))) void tile_and_store(const ConvGeom& g, const Walk& k, int64_t v0,
                                                           float* y, int64_t co_n) {
  const int64_t per_row = round_up(g.out[2], kLanes) / kLanes;
  int64_t xoff[V], yoff[V];
  __mmask16 mask[V];
  for (int v = 0; v < V; ++v) {
    const int64_t oh = (v0 + v) / per_row, ow = (v0 + v) % per_row * kLanes;
    xoff[v] = oh * k.wx + ow;
    yoff[v] = oh * g.out[2] + ow;
    const int64_t width = std::min(kLanes, g.out[2] - ow);
    mask[v] = static_cast<__mmask16>((1u << width) - 1u);
  }
  __m512 acc[kCoBlock][V];
  tile<V>(k, xoff, acc);
  const int64_t y_channel = g.out_volume();
  for (int64_t c = 0; c < co_n; ++c)
    for (int v = 0; v < V; ++v) _mm512_mask_storeu_ps(y + c * y_channel + yoff[v], mask[v], acc[c][v]);
}

// One task: output plane (n, od) of output channels block * 8 .. + 7, from the packed input.
void plane_block(const ConvGeom& g, const PaddedInput& in, const std::vector<float>& packed, int64_t n, int64_t od,
                 int64_t block, float* y) {
  const int64_t co0 = block * kCoBlock, co_n = std::min(kCoBlock, g.C_out - co0), taps = g.k_volume();
  const auto kz = valid_range(g.k[0], g.in[0], od - g.pad[0]);  // depth taps inside the input
  const int64_t x_plane = in.rows_per_plane * in.wx, id0 = kz.hi > kz.lo ? od + kz.lo - g.pad[0] : 0;
  const Walk k{in.x.data() + (n * g.C_in * g.in[0] + id0) * x_plane,
               packed.data() + (block * g.C_in * taps + kz.lo * g.k[1] * kKw) * kCoBlock,
               g.C_in, kz.hi - kz.lo, g.k[1], in.wx, x_plane, g.in[0] * x_plane, taps * kCoBlock};
  float* yp = y + ((n * g.C_out + co0) * g.out[0] + od) * g.out[1] * g.out[2];
  const int64_t vectors = g.out[1] * (round_up(g.out[2], kLanes) / kLanes);
  int64_t v0 = 0;
  for (; v0 + kTileVectors <= vectors; v0 += kTileVectors) tile_and_store<kTileVectors>(g, k, v0, yp, co_n);
  static_assert(kTileVectors == 3, "the tail below handles up to 2 vectors");
  if (vectors - v0 == 2) tile_and_store<2>(g, k, v0, yp, co_n);
  if (vectors - v0 == 1) tile_and_store<1>(g, k, v0, yp, co_n);
}

// y from x and the packed weights of g (a forward geometry): one task per (n, od, block), each
// output written by exactly one task.
void run_forward(const ConvGeom& g, const float* x, const std::vector<float>& packed, float* y) {
  const PaddedInput in = pad_input(g, x);
  const int64_t blocks = round_up(g.C_out, kCoBlock) / kCoBlock, tasks = g.N * g.out[0] * blocks;
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < tasks; ++t)
    plane_block(g, in, packed, t / (g.out[0] * blocks), t / blocks % g.out[0], t % blocks, y);
}

bool sized(const ConvGeom& g) {
  return g.N > 0 && g.C_in > 0 && g.C_out > 0 && g.k[0] > 0 && g.k[1] > 0 && g.in[0] > 0 && g.in[1] > 0 &&
         g.in[2] > 0 && g.out[0] > 0 && g.out[1] > 0 && g.out[2] > 0;
}

// Measured (README, "Few-channel forward"): with 8 or fewer channels on one side and at most
// 16 on the other, both passes ran 1.4-4x faster than oneDNN (except forward 8 -> 16 at
// 8x16x16: few_channel_fwd_preferred); from 16 -> 16 on the two are within ~15 % either way,
// and at 32 channels (4x8x8: 8 of 16 lanes idle) oneDNN is 2.5x ahead. The same channel range
// as the backward-weight kernel's (few_channel_bwdw_preferred).
bool channels_in_measured_range(const ConvGeom& g) { return g.C_in <= 16 && g.C_out <= 16 && g.C_in * g.C_out <= 128; }

// Whether a forward with `depth` output planes per sample and `channels` output channels has
// enough independent tasks per sample (plane x 8-channel block) to keep the threads busy: a
// 2-D layer has one plane, and at batch 1 oneDNN's spatial split measured faster (the small
// SPADE iteration, 2 threads: 25 ms with this kernel, 20 ms without). Counted per sample, not
// per batch, so that the choice, and with it the rounding, depends on neither the batch size
// (a batch of 128 gives each sample the bits a batch of 1 gives it) nor the thread count.
constexpr int64_t kMinTasks = 8;
bool enough_tasks(int64_t depth, int64_t channels) { return depth * ((channels + 7) / 8) >= kMinTasks; }

}  // namespace

bool few_channel_fwd_supported(const ConvGeom& g) {
  bool ok = sized(g) && g.k[2] == kKw && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
  for (int d = 0; d < 3; ++d) ok = ok && g.stride[d] == 1 && g.pad[d] >= 0;
  return ok;
}

bool few_channel_bwdi_supported(const ConvGeom& g) {
  bool ok = few_channel_fwd_supported(g);
  // The equivalent forward's output (conv_backward_input below) must be exactly dx's extent.
  for (int d = 0; d < 3; ++d) ok = ok && g.pad[d] <= g.k[d] - 1 && g.in[d] == g.out[d] - 2 * g.pad[d] + g.k[d] - 1;
  return ok;
}

bool few_channel_fwd_preferred(const ConvGeom& g) {
  // The one case in range measured slower (README): forward 8 -> 16 at 8x16x16, oneDNN ~12 %
  // ahead; two output-channel blocks on 16-wide rows keep oneDNN (8 -> 16 at 16x32x32, the same
  // kernel work as backward-input 16 -> 8 there, is 2x faster than oneDNN and stays here).
  const bool two_blocks_narrow = g.C_out > 8 && g.out[2] < 32;
  return few_channel_fwd_supported(g) && channels_in_measured_range(g) && !two_blocks_narrow &&
         enough_tasks(g.out[0], g.C_out);
}

bool few_channel_bwdi_preferred(const ConvGeom& g) {
  return few_channel_bwdi_supported(g) && channels_in_measured_range(g) && enough_tasks(g.in[0], g.C_in);
}

void few_channel_conv_forward(const ConvGeom& g, const float* x, const float* w, float* y) {
  if (!few_channel_fwd_supported(g))
    throw std::invalid_argument(
        "few_channel_conv_forward: needs stride 1, kernel width 3, padding >= 0 and an AVX-512 CPU "
        "(check few_channel_fwd_supported first; conv.h falls back to oneDNN or the reference)");
  const int64_t taps = g.k_volume();
  run_forward(g, x, pack_weights(g, [&](int64_t co, int64_t ci, int64_t tap) { return w[(co * g.C_in + ci) * taps + tap]; }),
              y);
}

void few_channel_conv_backward_input(const ConvGeom& g, const float* dy, const float* w, float* dx) {
  if (!few_channel_bwdi_supported(g))
    throw std::invalid_argument(
        "few_channel_conv_backward_input: needs stride 1, kernel width 3, 0 <= padding <= k - 1 and an "
        "AVX-512 CPU (check few_channel_bwdi_supported first; conv.h falls back to oneDNN or the reference)");
  // The equivalent forward: dy's C_out channels in, C_in out, padding k-1-p, output = g's input.
  ConvGeom f = ConvGeom::make(g.N, g.C_out, g.C_in, g.out, g.k, {1, 1, 1},
                              {g.k[0] - 1 - g.pad[0], g.k[1] - 1 - g.pad[1], g.k[2] - 1 - g.pad[2]});
  const int64_t taps = g.k_volume();  // its weight: w transposed in channels, flipped in space
  run_forward(f, dy, pack_weights(f, [&](int64_t ci, int64_t co, int64_t tap) {
                return w[(co * g.C_in + ci) * taps + taps - 1 - tap];
              }),
              dx);
}

}  // namespace pn::cpu
