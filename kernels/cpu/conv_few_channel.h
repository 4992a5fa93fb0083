// A direct, vectorised CPU convolution backward-weight for few-channel layers (float32):
//   dw[co, ci, kz, ky, kx] = sum_n sum_(od,oh,ow) dy[n, co, od, oh, ow] * x[n, ci, od+kz-pd, oh+ky-ph, ow+kx-pw]
// oneDNN runs these shapes (8-16 channels, e.g. the small U-Net's 16x32x32 levels) through
// its gemm fallback at ~5-11 GFLOP/s; this kernel keeps 8 output channels x 3 kx taps of
// 16-lane float accumulators in AVX-512 registers and, per output plane (n, od), streams the
// plane's rows once per (ci, kz, ky) while they sit in L1/L2, so it needs no column buffer.
// Work is split into at most 16 fixed groups of planes (x blocks of 8 output channels), each
// with its own lane partials, added in group order at the end: the result does not depend
// on the thread count.
// conv.h routes float32 backward-weight here where few_channel_bwdw_preferred(g) says so; the
// reference (conv_reference.h) stays the checked definition (tests/ops_conv/test_conv_few_channel.cpp).
#pragma once
#include "kernels/op_geometry.h"

namespace pn::cpu {

// Whether this kernel can run g: stride 1 in every dimension, kernel width 3 (any depth /
// height extent, any padding that leaves an output), and a CPU with AVX-512F.
bool few_channel_bwdw_supported(const kernels::ConvGeom& g);

// Whether conv.h should take this kernel over oneDNN for g: supported and within the channel
// range where it measured faster (kernels/cpu/README.md, "Few-channel backward-weight"):
// C_in, C_out <= 16 and C_in x C_out <= 128.
bool few_channel_bwdw_preferred(const kernels::ConvGeom& g);

// dw [C_out, C_in, k...] from x [N, C_in, in...] and dy [N, C_out, out...]: overwritten.
// requires: few_channel_bwdw_supported(g); throws std::invalid_argument otherwise.
void few_channel_conv_backward_weight(const kernels::ConvGeom& g, const float* x, const float* dy, float* dw);

}  // namespace pn::cpu
