#include "autograd/ops/elementwise.h"

#include "autograd/backend.h"
#include "autograd/node.h"
#include "autograd/ops/reduce.h"

namespace pn {

using math::Binary;
using math::Unary;

namespace detail {

void check_same(const Tensor& a, const Tensor& b, const char* op) {
  PN_CHECK(a.defined() && b.defined(), "{}: undefined operand", op);
  // No implicit promotion (a float32 operand never meets a 16-bit one silently): the caller casts.
  PN_CHECK(a.dtype() == b.dtype(), "{}: dtype mismatch between {} and {}; cast one operand to the other's dtype "
           "(Tensor::to) first", op, a.desc(), b.desc());
  PN_CHECK(a.device() == b.device(), "{}: device mismatch between {} and {}", op, a.desc(), b.desc());
}

Tensor unary_raw(const char* op_name, int op, const Tensor& x, double p0, double p1) {
  PN_CHECK(x.defined(), "{}: undefined input", op_name);
  Backend& be = backend_for(x.device(), op_name);
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  be.unary(x.dtype(), static_cast<Unary>(op), x.raw(), y.raw(), x.numel(), p0, p1);
  return y;
}

}  // namespace detail

namespace {

// Broadcast geometry: aligns shapes right, drops size-1 output dims, merges runs of
// dims that broadcast the same way so the kernel's inner loop is as long as possible.
kernels::BroadcastGeom make_geom(const Shape& a, const Shape& b, const Shape& out) {
  const int n = static_cast<int>(out.size());
  std::vector<int64_t> sh, sa, sb;
  auto strides_of = [&](const Shape& s) {
    std::vector<int64_t> st(n, 0);
    int64_t acc = 1;
    for (int i = n - 1; i >= 0; --i) {
      int j = i - (n - static_cast<int>(s.size()));
      if (j < 0) continue;
      st[i] = s[j] == 1 ? 0 : acc;
      acc *= s[j];
    }
    return st;
  };
  auto ta = strides_of(a), tb = strides_of(b);
  for (int i = 0; i < n; ++i) {
    if (out[i] == 1) continue;
    if (!sh.empty()) {
      size_t k = sh.size() - 1;
      bool merge_a = ta[i] * out[i] == sa[k] || (ta[i] == 0 && sa[k] == 0);
      bool merge_b = tb[i] * out[i] == sb[k] || (tb[i] == 0 && sb[k] == 0);
      if (merge_a && merge_b) {
        sh[k] *= out[i];
        sa[k] = ta[i];
        sb[k] = tb[i];
        continue;
      }
    }
    sh.push_back(out[i]);
    sa.push_back(ta[i]);
    sb.push_back(tb[i]);
  }
  if (sh.empty()) { sh.push_back(1); sa.push_back(0); sb.push_back(0); }
  PN_CHECK(sh.size() <= kernels::kMaxDims, "broadcast: too many dims in {}", shape_str(out));
  kernels::BroadcastGeom g;
  g.ndim = static_cast<int>(sh.size());
  for (int i = 0; i < g.ndim; ++i) { g.shape[i] = sh[i]; g.stride_a[i] = sa[i]; g.stride_b[i] = sb[i]; }
  return g;
}

Tensor binary_raw(Binary op, const Tensor& a, const Tensor& b) {
  const char* name = math::binary_name(op);
  detail::check_same(a, b, name);
  Backend& be = backend_for(a.device(), name);
  Shape out_shape = broadcast_shapes(a.shape(), b.shape(), name);
  Tensor y = Tensor::empty(out_shape, a.dtype(), a.device());
  if (y.numel() == 0) return y;
  auto g = make_geom(a.shape(), b.shape(), out_shape);
  be.binary(a.dtype(), op, a.raw(), b.raw(), y.raw(), g);
  return y;
}

Tensor unary_op(Unary op, const Tensor& x, double p0 = 0, double p1 = 0) {
  return detail::unary_raw(math::unary_name(op), static_cast<int>(op), x, p0, p1);
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor y = binary_raw(Binary::Add, a, b);
  Shape sa = a.shape(), sb = b.shape();
  record(y, "add", {a, b}, [sa, sb](const Tensor& g, const NeedMask& need) -> Grads {
    return {need[0] ? sum_to(g, sa) : Tensor(), need[1] ? sum_to(g, sb) : Tensor()};
  });
  return y;
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor y = binary_raw(Binary::Sub, a, b);
  Shape sa = a.shape(), sb = b.shape();
  record(y, "sub", {a, b}, [sa, sb](const Tensor& g, const NeedMask& need) -> Grads {
    return {need[0] ? sum_to(g, sa) : Tensor(), need[1] ? sum_to(neg(g), sb) : Tensor()};
  });
  return y;
}

// x summed or broadcast to `shape`: the gradient of an operand of that shape from g · other,
// where g may be a broadcast gradient (Node::takes_broadcast_grad) smaller than the output.
Tensor reduce_or_broadcast_to(const Tensor& x, const Shape& shape) {
  return sum_to(expand(x, broadcast_shapes(x.shape(), shape, "mul backward")), shape);
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor y = binary_raw(Binary::Mul, a, b);
  // With g a broadcast gradient (sum(a · b)'s), g · b is made at full size once, never
  // g expanded first and then multiplied. da = g · b needs b only when a takes a gradient,
  // db = g · a needs a only when b does: the node keeps no operand it will not read, so
  // x · c with a constant c lets x go when its last user does (PyTorch's mul saves so too).
  const Tensor keep_b = a.requires_grad() ? b : Tensor(), keep_a = b.requires_grad() ? a : Tensor();
  record(y, "mul", {a, b}, [keep_a, keep_b, sa = a.shape(), sb = b.shape()](const Tensor& g, const NeedMask& need) -> Grads {
    return {need[0] ? reduce_or_broadcast_to(mul(g, keep_b), sa) : Tensor(),
            need[1] ? reduce_or_broadcast_to(mul(g, keep_a), sb) : Tensor()};
  });
  if (y.grad_fn()) y.grad_fn()->takes_broadcast_grad = true;
  return y;
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor y = binary_raw(Binary::Div, a, b);
  record(y, "div", {a, b}, [a, b](const Tensor& g, const NeedMask& need) -> Grads {
    Tensor ga, gb;
    if (need[0]) ga = sum_to(div(g, b), a.shape());
    if (need[1]) gb = sum_to(neg(div(mul(g, a), mul(b, b))), b.shape());  // -g a / b^2
    return {ga, gb};
  });
  return y;
}

Tensor maximum(const Tensor& a, const Tensor& b) {
  Tensor y = binary_raw(Binary::Max, a, b);
  record(y, "maximum", {a, b}, [a, b, y](const Tensor& g, const NeedMask& need) -> Grads {
    // mask_a = (a >= b): 1 where a won (ties to a).
    Tensor ea = expand(a.detach(), y.shape()), eb = expand(b.detach(), y.shape());
    Tensor mask_a = unary_op(Unary::GreaterScalar, binary_raw(Binary::Sub, eb, ea), 0.0);
    mask_a = unary_op(Unary::RsubScalar, mask_a, 1.0);
    Tensor ga, gb;
    if (need[0]) ga = sum_to(mul(g, mask_a), a.shape());
    if (need[1]) gb = sum_to(mul(g, unary_op(Unary::RsubScalar, mask_a, 1.0)), b.shape());
    return {ga, gb};
  });
  return y;
}

Tensor neg(const Tensor& x) {
  Tensor y = unary_op(Unary::Neg, x);
  record(y, "neg", {x}, [](const Tensor& g, const NeedMask&) -> Grads { return {neg(g)}; });
  return y;
}

Tensor exp(const Tensor& x) {
  Tensor y = unary_op(Unary::Exp, x);
  // d exp(x) = g exp(x), recomputed from x: capturing y would make the node own its output.
  record(y, "exp", {x}, [x](const Tensor& g, const NeedMask&) -> Grads { return {mul(g, exp(x))}; });
  return y;
}

Tensor log(const Tensor& x) {
  Tensor y = unary_op(Unary::Log, x);
  record(y, "log", {x}, [x](const Tensor& g, const NeedMask&) -> Grads { return {div(g, x)}; });
  return y;
}

Tensor sqrt(const Tensor& x) {
  Tensor y = unary_op(Unary::Sqrt, x);
  record(y, "sqrt", {x}, [x](const Tensor& g, const NeedMask&) -> Grads {
    return {div(g, mul_scalar(sqrt(x), 2.0))};
  });
  return y;
}

Tensor square(const Tensor& x) {
  Tensor y = unary_op(Unary::Square, x);
  record(y, "square", {x}, [x](const Tensor& g, const NeedMask&) -> Grads { return {mul(g, mul_scalar(x, 2.0))}; });
  return y;
}

Tensor pow(const Tensor& x, double p) {
  Tensor y = unary_op(Unary::PowScalar, x, p);
  record(y, "pow", {x}, [x, p](const Tensor& g, const NeedMask&) -> Grads {
    return {mul(g, mul_scalar(pow(x, p - 1.0), p))};
  });
  return y;
}

Tensor abs(const Tensor& x) {
  Tensor y = unary_op(Unary::Abs, x);
  record(y, "abs", {x}, [x](const Tensor& g, const NeedMask&) -> Grads {
    return {mul(g, unary_op(Unary::Sign, x.detach()))};
  });
  return y;
}

Tensor clamp(const Tensor& x, double lo, double hi) {
  PN_CHECK(lo <= hi, "clamp: lower bound {} above upper bound {}", lo, hi);
  Tensor y = unary_op(Unary::Clamp, x, lo, hi);
  record(y, "clamp", {x}, [x, lo, hi](const Tensor& g, const NeedMask&) -> Grads {
    return {mul(g, unary_op(Unary::ClampMask, x.detach(), lo, hi))};
  });
  return y;
}

Tensor add_scalar(const Tensor& x, double s) {
  Tensor y = unary_op(Unary::AddScalar, x, s);
  record(y, "add_scalar", {x}, [](const Tensor& g, const NeedMask&) -> Grads { return {g}; });
  return y;
}

Tensor mul_scalar(const Tensor& x, double s) {
  Tensor y = unary_op(Unary::MulScalar, x, s);
  record(y, "mul_scalar", {x}, [s](const Tensor& g, const NeedMask&) -> Grads { return {mul_scalar(g, s)}; });
  return y;
}

Tensor rsub_scalar(double s, const Tensor& x) {
  Tensor y = unary_op(Unary::RsubScalar, x, s);
  record(y, "rsub_scalar", {x}, [](const Tensor& g, const NeedMask&) -> Grads { return {neg(g)}; });
  return y;
}

Tensor relu(const Tensor& x) { return leaky_relu(x, 0.0); }

Tensor leaky_relu(const Tensor& x, double slope) {
  Tensor y = unary_op(Unary::LeakyRelu, x, slope);
  record(y, slope == 0.0 ? "relu" : "leaky_relu", {x}, [x, slope](const Tensor& g, const NeedMask&) -> Grads {
    return {mul(g, unary_op(Unary::LeakyMask, x.detach(), slope))};
  });
  return y;
}

Tensor tanh(const Tensor& x) {
  Tensor y = unary_op(Unary::Tanh, x);
  record(y, "tanh", {x}, [x](const Tensor& g, const NeedMask&) -> Grads {
    return {mul(g, rsub_scalar(1.0, square(tanh(x))))};  // 1 - tanh^2
  });
  return y;
}

Tensor sigmoid(const Tensor& x) {
  Tensor y = unary_op(Unary::Sigmoid, x);
  record(y, "sigmoid", {x}, [x](const Tensor& g, const NeedMask&) -> Grads {
    Tensor s = sigmoid(x);
    return {mul(g, mul(s, rsub_scalar(1.0, s)))};  // s (1 - s)
  });
  return y;
}

Tensor expand(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  Shape out = broadcast_shapes(x.shape(), shape, "expand");
  PN_CHECK(out == shape, "expand: cannot broadcast {} to {}", x.desc(), shape_str(shape));
  Tensor one = Tensor::ones({}, x.dtype(), x.device());
  Backend& be = backend_for(x.device(), "expand");  // after ones' fill_: the op profile's label
  Tensor big = Tensor::empty(shape, x.dtype(), x.device());
  {
    auto g = make_geom(x.shape(), Shape{}, shape);
    be.binary(x.dtype(), Binary::Mul, x.raw(), one.raw(), big.raw(), g);
  }
  Shape xs = x.shape();
  record(big, "expand", {x}, [xs](const Tensor& g, const NeedMask&) -> Grads { return {sum_to(g, xs)}; });
  return big;
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  // 16-bit gradients of broadcast operands are summed as they are stored: each element widened,
  // the sum rounded once to x's dtype (sum_reduce's contract), with no float32 copy of x.
  const int n = x.dim(), m = static_cast<int>(shape.size());
  PN_CHECK(m <= n, "sum_to: cannot reduce {} to {}", x.desc(), shape_str(shape));
  std::vector<int> axes;
  for (int i = 0; i < n; ++i) {
    int j = i - (n - m);
    if (j < 0) axes.push_back(i);
    else if (shape[j] == 1 && x.shape()[i] != 1) axes.push_back(i);
    else PN_CHECK(shape[j] == x.shape()[i], "sum_to: cannot reduce {} to {}", x.desc(), shape_str(shape));
  }
  return sum(x, axes, true).reshape(shape);
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  detail::check_same(a, b, "where");
  detail::check_same(cond, a, "where");
  PN_CHECK(cond.shape() == a.shape() && a.shape() == b.shape(), "where: shapes {}, {}, {} differ",
           cond.desc(), a.desc(), b.desc());
  Backend& be = backend_for(a.device(), "where");
  Tensor y = Tensor::empty(a.shape(), a.dtype(), a.device());
  be.where(a.dtype(), cond.raw(), a.raw(), b.raw(), y.raw(), y.numel());
  Tensor c = cond.detach();
  record(y, "where", {a, b}, [c](const Tensor& g, const NeedMask& need) -> Grads {
    Tensor zero = Tensor::zeros(g.shape(), g.dtype(), g.device());
    return {need[0] ? where(c, g, zero) : Tensor(), need[1] ? where(c, zero, g) : Tensor()};
  });
  return y;
}

// Operators.
Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator-(const Tensor& a) { return neg(a); }
Tensor operator+(const Tensor& a, double s) { return add_scalar(a, s); }
Tensor operator-(const Tensor& a, double s) { return add_scalar(a, -s); }
Tensor operator*(const Tensor& a, double s) { return mul_scalar(a, s); }
Tensor operator/(const Tensor& a, double s) { return mul_scalar(a, 1.0 / s); }
Tensor operator+(double s, const Tensor& a) { return add_scalar(a, s); }
Tensor operator-(double s, const Tensor& a) { return rsub_scalar(s, a); }
Tensor operator*(double s, const Tensor& a) { return mul_scalar(a, s); }

}  // namespace pn
