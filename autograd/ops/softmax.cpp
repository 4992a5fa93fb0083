#include "autograd/ops/softmax.h"

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/reduce.h"
#include "autograd/backend.h"

namespace pn {

namespace {

Tensor softmax_raw(const Tensor& x, int axis, bool log, const char* op) {
  PN_CHECK(x.defined(), "{}: undefined input", op);
  PN_CHECK(x.dim() >= 1, "{}: needs at least one dimension, got {}", op, x.desc());
  Backend& be = backend_for(x.device(), op);
  PN_CHECK(axis >= -x.dim() && axis < x.dim(), "{}: axis {} out of range for input {}", op, axis, x.desc());
  const int a = normalize_axis(axis, x.dim(), op);
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < a; ++i) outer *= x.shape()[i];
  for (int i = a + 1; i < x.dim(); ++i) inner *= x.shape()[i];
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (x.numel() == 0) return y;
  be.softmax_forward(x.dtype(), x.raw(), y.raw(), outer, x.shape()[a], inner, log);
  return y;
}

// A 16-bit (bfloat16 / float16) tensor widened to float32 for a backward formula (the
// elementwise ops and sums run in float32), and the gradient rounded back to x's dtype.
Tensor widened(const Tensor& t) { return is_low_precision(t.dtype()) ? t.to(DType::Float32) : t; }
Tensor narrowed(const Tensor& g, const Tensor& x) { return g.dtype() == x.dtype() ? g : g.to(x.dtype()); }

// The forward output for a backward formula: the saved (detached) one for a first-order
// pass; recomputed from x when the backward is being recorded (create_graph), so that the
// formula is differentiable in x too. Capturing the output itself would make the node own it.
Tensor output_for_backward(const Tensor& x, const Tensor& saved, int axis, bool log) {
  if (GradMode::enabled() && x.requires_grad()) return log ? log_softmax(x, axis) : softmax(x, axis);
  return saved;
}

}  // namespace

Tensor softmax(const Tensor& x, int axis) {
  Tensor y = softmax_raw(x, axis, false, "softmax");
  Tensor saved = y.detach();
  record(y, "softmax", {x}, [x, saved, axis](const Tensor& g, const NeedMask&) -> Grads {
    const Tensor s = widened(output_for_backward(x, saved, axis, false)), gw = widened(g);
    return {narrowed(mul(s, sub(gw, sum(mul(gw, s), {axis}, true))), x)};
  });
  return y;
}

Tensor log_softmax(const Tensor& x, int axis) {
  Tensor y = softmax_raw(x, axis, true, "log_softmax");
  Tensor saved = y.detach();
  record(y, "log_softmax", {x}, [x, saved, axis](const Tensor& g, const NeedMask&) -> Grads {
    const Tensor ls = widened(output_for_backward(x, saved, axis, true)), gw = widened(g);
    return {narrowed(sub(gw, mul(exp(ls), sum(gw, {axis}, true))), x)};
  });
  return y;
}

}  // namespace pn
