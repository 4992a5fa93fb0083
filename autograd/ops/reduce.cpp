#include "autograd/ops/reduce.h"

#include <algorithm>

#include "autograd/node.h"
#include "autograd/ops/elementwise.h"
#include "autograd/backend.h"

namespace pn {

Tensor sum(const Tensor& x, const std::vector<int>& axes_in, bool keepdim) {
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
  if (x.numel() == 0) y.fill_(0.0);
  else be.sum_reduce(x.dtype(), x.raw(), y.raw(), g);
  Shape xs = x.shape();
  Shape keep_shape_full = xs;
  for (int i = 0; i < n; ++i) if (red[i]) keep_shape_full[i] = 1;
  // The gradient is gr broadcast over the summed axes; it is handed on unexpanded (size 1
  // along them) and the engine expands it only for a consumer that needs it whole.
  record(y, "sum", {x}, [keep_shape_full](const Tensor& gr, const NeedMask&) -> Grads {
    return {gr.reshape(keep_shape_full)};
  });
  return y;
}

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
  return mul_scalar(sum(x, axes, keepdim), 1.0 / static_cast<double>(count));
}

Tensor mean(const Tensor& x) {
  PN_CHECK(x.numel() > 0, "mean: empty tensor {}", x.desc());
  return mul_scalar(sum(x), 1.0 / static_cast<double>(x.numel()));
}

}  // namespace pn
