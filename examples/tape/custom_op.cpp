// Chapter 1: the tape from the inside. Prints the graph that record() builds for a small
// expression, defines a new op (cube) with its own kernel loop and a backward written with
// Tensor ops, and checks it with gradcheck and gradgradcheck; then shows that gradcheck
// catches a wrong backward, that a freed graph cannot be walked twice, that NoGrad records
// nothing and that .grad accumulates.
#include <cstdio>
#include <string>

#include "autograd/engine.h"
#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "autograd/gradcheck.h"
#include "autograd/node.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/reduce.h"
#include "examples/example_check.h"

using namespace pn;
using pn::examples::check;

namespace {

// Prints the node that made t and, indented, the nodes and leaves it came from.
void print_graph(const std::shared_ptr<Node>& n, int depth = 0) {
  std::printf("%*s%s -> %s\n", 2 * depth, "", n->op.c_str(), shape_str(n->out_shape).c_str());
  for (const Edge& e : n->edges) {
    if (e.fn) print_graph(e.fn, depth + 1);
    else if (e.leaf) std::printf("%*sleaf %s\n", 2 * depth + 2, "", shape_str(e.leaf->shape).c_str());
    else std::printf("%*s(constant: no gradient wanted)\n", 2 * depth + 2, "");
  }
}

// y = x^3, computed by a plain loop (the "kernel"), with its backward recorded as a
// closure. slope is the factor of the derivative: 3 is right, anything else is a bug.
Tensor cube(const Tensor& x, double slope = 3.0) {
  Tensor y = Tensor::empty(x.shape(), DType::Float64);
  const double* px = x.data<double>();
  double* py = y.data<double>();
  for (int64_t i = 0; i < x.numel(); ++i) py[i] = px[i] * px[i] * px[i];
  // The closure keeps x alive until backward runs; it uses Tensor ops, so with
  // create_graph its own derivative (6 x g) is recorded too.
  record(y, "cube", {x}, [x, slope](const Tensor& g, const NeedMask&) -> Grads {
    return {g * (square(x) * slope)};
  });
  return y;
}

}  // namespace

int main() {
  Generator gen(7);
  Tensor a = Tensor::randn({2, 3}, gen, DType::Float64).requires_grad_();
  Tensor b = Tensor::randn({3}, gen, DType::Float64).requires_grad_();
  Tensor c = Tensor::randn({2, 3}, gen, DType::Float64);  // a constant: no requires_grad

  std::printf("the graph of z = sum(exp(a * b) + c):\n");
  Tensor z = sum(exp(a * b) + c);
  print_graph(z.grad_fn());
  z.backward();
  // dz/da = exp(a b) b, with b broadcast over a's rows; dz/db sums over those rows.
  Tensor want_a = exp(a.detach() * b.detach()) * b.detach();
  Tensor want_b = sum(exp(a.detach() * b.detach()) * a.detach(), {0});
  double err_a = 0, err_b = 0;
  for (size_t i = 0; i < 6; ++i) err_a = std::max(err_a, std::abs(a.grad().to_vector()[i] - want_a.to_vector()[i]));
  for (size_t i = 0; i < 3; ++i) err_b = std::max(err_b, std::abs(b.grad().to_vector()[i] - want_b.to_vector()[i]));
  check(err_a < 1e-14 && err_b < 1e-14, "backward gives exp(a b) b for a and sum over rows of exp(a b) a for b");

  TensorFn f = [](const std::vector<Tensor>& in) { return cube(in[0]); };
  TensorFn wrong = [](const std::vector<Tensor>& in) { return cube(in[0], 2.0); };
  Tensor x = Tensor::randn({5}, gen, DType::Float64).requires_grad_();
  check(gradcheck(f, {x}).ok, "gradcheck: cube's backward matches finite differences");
  check(gradgradcheck(f, {x}).ok, "gradgradcheck: so does the derivative of its backward");
  const GradcheckResult r = gradcheck(wrong, {x});
  std::printf("%s", r.message.c_str());
  check(!r.ok, "gradcheck rejects a backward that says 2 x^2 instead of 3 x^2");

  Tensor y = sum(cube(x));
  y.backward();  // retain_graph = false: the closures (and what they keep) are freed
  std::string error;
  try {
    y.backward();
  } catch (const Error& e) {
    error = e.what();
  }
  std::printf("second backward: %s\n", error.c_str());
  check(error.find("already freed") != std::string::npos, "walking a freed graph again is an error that says why");

  {
    NoGrad off;
    check(!cube(x).requires_grad(), "under NoGrad nothing is recorded");
  }
  Tensor w = Tensor::from_vector(std::vector<double>{2.0}, {1}, DType::Float64).requires_grad_();
  Tensor loss = sum(cube(w));
  loss.backward({}, /*retain_graph=*/true);
  loss.backward();
  check(w.grad().item() == 24.0, "two backward passes accumulate into .grad: 2 x 3 x 2^2 = 24");
  return pn::examples::exit_status();
}
