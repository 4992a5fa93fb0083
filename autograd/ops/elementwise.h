// Elementwise ops with NumPy broadcasting, scalar variants and the activations that are
// plain per-element functions. All differentiable, twice (backward uses these same ops).
#pragma once
#include "autograd/tensor.h"

namespace pn {

Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor maximum(const Tensor& a, const Tensor& b);  // gradient goes to the larger (a on ties)

Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor square(const Tensor& x);
Tensor pow(const Tensor& x, double p);
Tensor abs(const Tensor& x);
Tensor clamp(const Tensor& x, double lo, double hi);
Tensor add_scalar(const Tensor& x, double s);
Tensor mul_scalar(const Tensor& x, double s);
Tensor rsub_scalar(double s, const Tensor& x);  // s - x

Tensor relu(const Tensor& x);
Tensor leaky_relu(const Tensor& x, double slope);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);

// Broadcasts x to shape (differentiable; backward sums back with sum_to).
Tensor expand(const Tensor& x, const Shape& shape);
// Sums x down to shape, the reverse of broadcasting (differentiable).
Tensor sum_to(const Tensor& x, const Shape& shape);
// where(cond, a, b) with cond a 0/1 constant of the same shape as a and b.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);

// Non-recorded helpers for masks and constants inside backward formulas.
namespace detail {
Tensor unary_raw(const char* op_name, int op, const Tensor& x, double p0 = 0, double p1 = 0);
void check_same(const Tensor& a, const Tensor& b, const char* op);  // dtype and device
}  // namespace detail

}  // namespace pn
