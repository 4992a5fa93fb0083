#include "autograd/ops/upsample_conv.h"

#include "autograd/autocast.h"
#include "autograd/ops/concat.h"
#include "autograd/ops/conv.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/linalg.h"

namespace pn {

namespace {

int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// The small-grid offset of tap t for phase a (header: delta(a, t)).
int64_t tap_offset(int a, int t, int kernel, int factor) { return floor_div(a + t - (kernel - 1) / 2, factor); }

// P: how far the taps reach on the small grid (before = after when polyphase_applies).
int reach(int kernel, int factor) { return static_cast<int>(tap_offset(factor - 1, kernel - 1, kernel, factor)); }

// The fold as a matrix: Bt[t, phase * K^d + j] = 1 where original tap t (row-major over the
// d spatial dims, k each) lands on tap j (K each) of phase `phase` (f per dim), else 0.
Tensor fold_matrix(int dims, int kernel, int factor, DType dtype, Device device) {
  const int p = reach(kernel, factor), taps = 2 * p + 1;
  int64_t k_all = 1, taps_all = 1, phases = 1;
  for (int d = 0; d < dims; ++d) k_all *= kernel, taps_all *= taps, phases *= factor;
  std::vector<double> bt(static_cast<size_t>(k_all * phases * taps_all), 0.0);
  for (int64_t t = 0; t < k_all; ++t)
    for (int64_t ph = 0; ph < phases; ++ph) {
      int64_t j = 0, tr = t, pr = ph, scale = 1;
      for (int d = dims - 1; d >= 0; --d, tr /= kernel, pr /= factor, scale *= taps)
        j += (tap_offset(static_cast<int>(pr % factor), static_cast<int>(tr % kernel), kernel, factor) + p) * scale;
      bt[static_cast<size_t>(t * phases * taps_all + ph * taps_all + j)] = 1.0;
    }
  return Tensor::from_vector(bt, {k_all, phases * taps_all}, dtype).to(device);
}

}  // namespace

bool polyphase_applies(int kernel, int factor) {
  if (kernel < 1 || factor < 1) return false;
  return -tap_offset(0, 0, kernel, factor) == reach(kernel, factor);
}

Tensor polyphase_weight(const Tensor& w, int factor) {
  PN_CHECK(w.defined() && (w.dim() == 4 || w.dim() == 5), "polyphase_weight: w {} must be 4-D or 5-D",
           w.defined() ? w.desc() : "undefined");
  const int k = static_cast<int>(w.size(2));
  for (int ax = 2; ax < w.dim(); ++ax)
    PN_CHECK(w.size(ax) == k, "polyphase_weight: w {} must have the same size along every spatial dim", w.desc());
  PN_CHECK(polyphase_applies(k, factor),
           "polyphase_weight: no polyphase form for kernel {} and factor {} (the taps reach further after than "
           "before); upsample then convolve instead",
           k, factor);
  const int dims = w.dim() - 2, taps = 2 * reach(k, factor) + 1;
  const Tensor bt = fold_matrix(dims, k, factor, w.dtype(), w.device());
  const int64_t c_out = w.size(0), c_in = w.size(1);
  // [C_out * C_in, k^d] @ Bt = [C_out, C_in, phase, K^d] (in float32 under autocast: the sums of
  // taps are the master weights'), then the phase moved next to C_out.
  Tensor folded;
  {
    const AutocastScope exact(DType::Float32);
    folded = matmul(w.reshape({c_out * c_in, bt.size(0)}), bt);
  }
  int64_t taps_all = 1;
  for (int d = 0; d < dims; ++d) taps_all *= taps;
  const int64_t f_all = bt.size(1) / taps_all;
  Shape out{c_out * f_all, c_in};
  for (int d = 0; d < dims; ++d) out.push_back(taps);
  return swap_axes(folded.reshape({c_out, c_in, f_all, taps_all}), 1).reshape(out);
}

Tensor upsample_conv_same(const Tensor& x, const Tensor& w, const Tensor& bias, int factor) {
  PN_CHECK(x.defined() && w.defined() && x.dim() == w.dim(),
           "upsample_conv_same: x {} and w {} must have the same rank",
           x.defined() ? x.desc() : "undefined", w.defined() ? w.desc() : "undefined");
  const Tensor big_w = polyphase_weight(w, factor);
  const int64_t phases = big_w.size(0) / w.size(0);
  Tensor big_bias;
  if (bias.defined()) {
    const Tensor column = bias.reshape({bias.numel(), 1});
    big_bias = concat(std::vector<Tensor>(static_cast<size_t>(phases), column), 1).reshape({bias.numel() * phases});
  }
  const Tensor y = conv(x, big_w, big_bias, {1}, {reach(static_cast<int>(w.size(2)), factor)});
  return pixel_shuffle(y, factor);
}

}  // namespace pn
