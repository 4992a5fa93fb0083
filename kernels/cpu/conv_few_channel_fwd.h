// A direct, vectorised CPU convolution forward (and backward-input) for few-channel layers
// (float32):
//   y[n, co, od, oh, ow] = sum_ci sum_(kz,ky,kx) w[co, ci, kz, ky, kx] * x[n, ci, od+kz-pd, oh+ky-ph, ow+kx-pw]
// Backward-input of a stride-1 convolution is the same sum run on dy with the weights
// channel-transposed and flipped in every spatial dimension, and padding k-1-p:
//   dx[n, ci, i] = sum_co sum_k w[co, ci, k] * dy[n, co, i - k + p]
//                = sum_co sum_k' w[co, ci, k-1-k'] * dy[n, co, i + k' - (k-1-p)]
// oneDNN 2.6 runs the 8-channel layers at the small U-Net's 16x32x32 level at ~4-60 GFLOP/s
// (backward-input of 1 -> 8: 4); this kernel keeps 8 output channels x 3 output vectors (16 lanes along W
// each, from one row or several) of float accumulators in AVX-512 registers and adds, per input
// channel and tap, a broadcast weight times a plain load from input rows copied once per call
// into zero-padded rows (height padding stored as zero rows, width padding as zero columns,
// rows widened to whole vectors; conv_few_channel_rows.h), so it needs no column buffer and
// no tail code except masked stores at row ends. Work is split by (n, output plane, block of 8
// output channels); each output is written by one task, in one fixed order of sums: the
// result does not depend on the thread count.
// conv.h routes float32 forward / backward-input here where few_channel_fwd_preferred /
// few_channel_bwdi_preferred say so; the reference (conv_reference.h) stays the checked
// definition (tests/ops_conv/test_conv_few_channel_fwd.cpp).
#pragma once
#include "kernels/op_geometry.h"

namespace pn::cpu {

// Whether the forward kernel can run g: stride 1 in every dimension, kernel width 3 (any depth
// / height extent), padding >= 0 that leaves an output, and a CPU with AVX-512F.
bool few_channel_fwd_supported(const kernels::ConvGeom& g);
// Whether the backward-input kernel can run g: as above, and padding <= k - 1 in every
// dimension (so the equivalent forward's padding k-1-p is not negative) and in = out + 2p - k + 1
// there (g's sizes consistent).
bool few_channel_bwdi_supported(const kernels::ConvGeom& g);

// Whether conv.h should take these kernels over oneDNN for g: supported and within the channel
// range where they measured faster (kernels/cpu/README.md, "Few-channel forward"):
// C_in, C_out <= 16 and C_in x C_out <= 128, as for backward-weight; for forward, more than 8
// output channels also need an output width >= 32; and at least 8 tasks per sample (output
// depth planes x 8-channel blocks: so no 2-D layer), a bound that depends on neither the batch
// size nor the thread count.
bool few_channel_fwd_preferred(const kernels::ConvGeom& g);
bool few_channel_bwdi_preferred(const kernels::ConvGeom& g);

// y [N, C_out, out...] from x [N, C_in, in...] and w [C_out, C_in, k...]: overwritten.
// requires: few_channel_fwd_supported(g); throws std::invalid_argument otherwise.
void few_channel_conv_forward(const kernels::ConvGeom& g, const float* x, const float* w, float* y);

// dx [N, C_in, in...] from dy [N, C_out, out...] and w [C_out, C_in, k...]: overwritten.
// requires: few_channel_bwdi_supported(g); throws std::invalid_argument otherwise.
void few_channel_conv_backward_input(const kernels::ConvGeom& g, const float* dy, const float* w, float* dx);

}  // namespace pn::cpu
