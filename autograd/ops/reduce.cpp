#include "autograd/ops/reduce.h"

#include <algorithm>

#include "autograd/node.h"
#include "autograd/ops/elementwise.h"
#include "autograd/backend.h"

namespace pn {

namespace {

// scale * (the sum of x over axes_in), rounded once to x's dtype (kernels/cpu/reduce.h).
Tensor scaled_sum(const Tensor& x, const std::vector<int>& axes_in, bool keepdim, double scale) {
  PN_CHECK(x.defined(), "sum: undefined input");
  Backend& be = backend_for(x.device(), "sum");
  const int n = x.dim();
  std::vector<bool> red(n, false);
  for (int a : axes_in) red[normalize_axis(a, n, "sum")] = true;
  Shape kept_shape, out_shape;
  for (int i = 0; i < n; ++i) {
    if (red[i]) { if (keepdim) kept_shape.push_back(1); }
    else kept_shape.push_back(x.shape()[i]);
  }
  out_shape = kept_shape;
  Tensor y = Tensor::empty(out_shape, x.dtype(), x.device());
  // Merge adjacent dims with the same reduce flag; drop size-1 dims.
  kernels::ReduceGeom g;
  for (int i = 0; i < n; ++i) {
    if (x.shape()[i] == 1) continue;
    if (g.ndim > 0 && g.reduce[g.ndim - 1] == red[i]) g.shape[g.ndim - 1] *= x.shape()[i];
    else {
      PN_CHECK(g.ndim < kernels::kMaxDims, "sum: too many dims in {}", x.desc());
      g.shape[g.ndim] = x.shape()[i];
      g.reduce[g.ndim] = red[i];
      ++g.ndim;
    }
  }
  if (g.ndim == 0) { g.ndim = 1; g.shape[0] = 1; g.reduce[0] = true; }
  g.scale = scale;
  if (x.numel() == 0) y.fill_(0.0);
  else be.sum_reduce(x.dtype(), x.raw(), y.raw(), g);
  Shape xs = x.shape();
  Shape keep_shape_full = xs;
  for (int i = 0; i < n; ++i) if (red[i]) keep_shape_full[i] = 1;
  // The gradient is (scale times) gr broadcast over the summed axes; it is handed on unexpanded
  // (size 1 along them) and the engine expands it only for a consumer that needs it whole.
  record(y, scale == 1 ? "sum" : "mean", {x}, [keep_shape_full, scale](const Tensor& gr, const NeedMask&) -> Grads {
    return {scale == 1 ? gr.reshape(keep_shape_full) : mul_scalar(gr.reshape(keep_shape_full), scale)};
  });
  return y;
}

// mean = sum / count. A 16-bit mean is scaled before its one rounding, as PyTorch does; float32
// and float64 round the sum, then scale it (within an ulp; the values the study was measured with).
Tensor mean_of(const Tensor& x, const std::vector<int>& axes, bool keepdim, int64_t count) {
  const double scale = 1.0 / static_cast<double>(count);
  if (is_low_precision(x.dtype())) return scaled_sum(x, axes, keepdim, scale);
  return mul_scalar(scaled_sum(x, axes, keepdim, 1.0), scale);
}

}  // namespace

Tensor sum(const Tensor& x, const std::vector<int>& axes, bool keepdim) { return scaled_sum(x, axes, keepdim, 1.0); }

Tensor sum(const Tensor& x) {
  std::vector<int> all(x.dim());
  for (int i = 0; i < x.dim(); ++i) all[i] = i;
  return sum(x, all, false);
}

Tensor mean(const Tensor& x, const std::vector<int>& axes, bool keepdim) {
  int64_t count = 1;
  std::vector<bool> seen(x.dim(), false);
  for (int a : axes) {
    int k = normalize_axis(a, x.dim(), "mean");
    if (!seen[k]) count *= x.shape()[k];
    seen[k] = true;
  }
  PN_CHECK(count > 0, "mean: reducing zero elements of {}", x.desc());
  return mean_of(x, axes, keepdim, count);
}

Tensor mean(const Tensor& x) {
  PN_CHECK(x.numel() > 0, "mean: empty tensor {}", x.desc());
  std::vector<int> all(x.dim());
  for (int i = 0; i < x.dim(); ++i) all[i] = i;
  return mean_of(x, all, false, x.numel());
}

}  // namespace pn
