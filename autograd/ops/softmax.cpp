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
    Tensor s = output_for_backward(x, saved, axis, false);
    return {mul(s, sub(g, sum(mul(g, s), {axis}, true)))};
  });
  return y;
}

Tensor log_softmax(const Tensor& x, int axis) {
  Tensor y = softmax_raw(x, axis, true, "log_softmax");
  Tensor saved = y.detach();
  record(y, "log_softmax", {x}, [x, saved, axis](const Tensor& g, const NeedMask&) -> Grads {
    Tensor ls = output_for_backward(x, saved, axis, true);
    return {sub(g, mul(exp(ls), sum(g, {axis}, true)))};
  });
  return y;
}

}  // namespace pn
