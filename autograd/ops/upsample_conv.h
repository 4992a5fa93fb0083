// Nearest upsampling followed by a stride-1 "same" convolution (the decoder step of the
// pix2pix generator), computed on the small grid: one convolution with f^d times the output
// channels, then a pixel shuffle. The same function as upsample_nearest then conv, with
// fewer multiplications (2-D, k = 4, f = 2: 36 instead of 64 per small-grid pixel and
// channel pair; 3-D: 216 instead of 512) and no upsampled or padded copy of the input.
//
// The polyphase identity, per spatial dim. Upsampled U[u] = x[u / f]; the "same"
// convolution pads k - 1 in total, pl = (k - 1) / 2 of it before:
//   y[o] = sum_t w[t] U[o + t - pl],   t = 0 .. k-1.
// Write o = f m + a (a = o mod f, the phase). Then U[f m + a + t - pl] = x[m + delta(a, t)]
// with delta(a, t) = floor((a + t - pl) / f), zero outside the grid on both sides alike, so
//   y[f m + a] = sum_j W_a[j] x[m + j - P],   W_a[j] = sum of w[t] over t with delta(a, t) = j - P:
// a convolution of x with kernel W_a (K = 2P + 1 taps, padding P) for each phase a. Stacking
// the phases' kernels as output channels c * f^d + phase makes them one convolution, and
// pixel_shuffle puts each phase's output where it belongs. P must be the same on both sides
// (-min delta = max delta); polyphase_applies says when it is (every odd k, and k = 4 with
// f = 2, pix2pix's case).
//
// The combined kernel is built from w by recorded ops: one matmul of w's taps with a constant
// 0/1 matrix (which taps each phase's tap sums), an axis swap and reshapes; so the gradients to
// x, w and bias, and the double backward, come from autograd. Results equal the
// upsample-then-convolve form up to float rounding: W_a sums taps before multiplying.
#pragma once
#include "autograd/tensor.h"

namespace pn {

// Whether the polyphase form exists for kernel size k and upsampling factor f (both >= 1):
// the taps' offsets on the small grid reach as far before as after.
bool polyphase_applies(int kernel, int factor);

// The phases' combined kernel for w [C_out, C_in, k...]: [C_out * f^d, C_in, K...], output
// channel c * f^d + phase (phase row-major over the spatial dims, pixel_shuffle's order).
// requires: polyphase_applies(k, factor), w's spatial sizes all k.
Tensor polyphase_weight(const Tensor& w, int factor);

// conv(upsample_nearest(x, factor), w, bias) with stride 1 and "same" padding (nn::Conv),
// computed as pixel_shuffle(conv(x, polyphase_weight(w), bias repeated, padding P)).
// x [N, C_in, s...] (2-D or 3-D), w [C_out, C_in, k...], bias [C_out] or undefined;
// y [N, C_out, s * factor...]. requires: polyphase_applies(k, factor).
Tensor upsample_conv_same(const Tensor& x, const Tensor& w, const Tensor& bias, int factor);

}  // namespace pn
