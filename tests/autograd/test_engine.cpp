// The engine: accumulation, retain_graph, create_graph, grad(), NoGrad, detach, errors.
#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/reduce.h"
#include "test_util.h"

using namespace pn;

TEST_CASE("backward accumulates into leaves and sums over reuse") {
  Tensor x = Tensor::from_vector(std::vector<double>{1, 2, 3}, {3}, DType::Float64).requires_grad_();
  Tensor y = sum(mul(x, x)) + sum(x);  // dy/dx = 2x + 1
  y.backward();
  CHECK(x.grad().to_vector() == std::vector<double>{3, 5, 7});
  Tensor z = sum(x);
  z.backward();  // accumulates
  CHECK(x.grad().to_vector() == std::vector<double>{4, 6, 8});
  x.zero_grad();
  CHECK_FALSE(x.grad().defined());
}

TEST_CASE("backward twice without retain_graph names the op") {
  Tensor x = Tensor::from_vector(std::vector<double>{1, 2}, {2}, DType::Float64).requires_grad_();
  Tensor y = sum(exp(x));
  y.backward();
  CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("retain_graph"), pn::Error);
  Tensor y2 = sum(exp(x));
  y2.backward({}, true);
  CHECK_NOTHROW(y2.backward());
}

TEST_CASE("backward on a non-scalar without a gradient names the op and shape") {
  Tensor x = Tensor::ones({2, 3}, DType::Float64).requires_grad_();
  Tensor y = exp(x);
  CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("float64[2, 3]"), pn::Error);
  CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("exp"), pn::Error);
  CHECK_NOTHROW(y.backward(Tensor::ones({2, 3}, DType::Float64)));
}

TEST_CASE("shape, dtype and device mismatches name the op and shapes") {
  Tensor a = Tensor::ones({2, 3}), b = Tensor::ones({4, 3});
  CHECK_THROWS_WITH_AS(add(a, b), doctest::Contains("[2, 3] and [4, 3]"), pn::Error);
  Tensor c = Tensor::ones({2, 3}, DType::Float64);
  CHECK_THROWS_WITH_AS(mul(a, c), doctest::Contains("dtype mismatch"), pn::Error);
  CHECK_THROWS_WITH_AS(Tensor::ones({2}, DType::Float32, Device::cuda(0)), doctest::Contains("cuda:0"), pn::Error);
}

TEST_CASE("NoGrad and detach cut the graph") {
  Tensor x = Tensor::ones({2}, DType::Float64).requires_grad_();
  {
    NoGrad ng;
    Tensor y = mul(x, x);
    CHECK_FALSE(y.requires_grad());
  }
  Tensor d = mul(x, x).detach();
  CHECK_FALSE(d.requires_grad());
  CHECK_THROWS_AS(sum(d).backward(), pn::Error);
}

TEST_CASE("grad() returns gradients without touching .grad, also for intermediates") {
  Tensor x = Tensor::from_vector(std::vector<double>{0.5, -1.0}, {2}, DType::Float64).requires_grad_();
  Tensor h = mul(x, x);
  Tensor y = sum(exp(h));
  auto g = grad({y}, {x, h});
  CHECK_FALSE(x.grad().defined());
  auto gx = g[0].to_vector(), gh = g[1].to_vector();
  for (int i = 0; i < 2; ++i) {
    double xv = i == 0 ? 0.5 : -1.0;
    CHECK(gh[i] == doctest::Approx(std::exp(xv * xv)));
    CHECK(gx[i] == doctest::Approx(2 * xv * std::exp(xv * xv)));
  }
}

TEST_CASE("create_graph gives second derivatives") {
  // y = x^3: dy/dx = 3x^2, d2y/dx2 = 6x.
  Tensor x = Tensor::from_vector(std::vector<double>{2.0}, {1}, DType::Float64).requires_grad_();
  Tensor y = sum(mul(mul(x, x), x));
  auto g = grad({y}, {x}, {}, true);
  CHECK(g[0].item() == doctest::Approx(12.0));
  CHECK(g[0].requires_grad());
  sum(g[0]).backward();
  CHECK(x.grad().item() == doctest::Approx(12.0));
}

TEST_CASE("gradcheck can fail: a wrong backward is caught") {
  // A deliberately wrong op: forward x^2, backward claims 3x.
  Generator gen(3);
  Tensor x = test::rand_input({4}, gen);
  TensorFn wrong = [](const std::vector<Tensor>& in) {
    Tensor y = square(in[0]).detach();
    Tensor xi = in[0];
    record(y, "wrong_square", {xi}, [xi](const Tensor& g, const NeedMask&) -> Grads { return {mul(g, mul_scalar(xi, 3.0))}; });
    return y;
  };
  CHECK_FALSE(gradcheck(wrong, {x}).ok);
  TensorFn right = [](const std::vector<Tensor>& in) { return square(in[0]); };
  CHECK(gradcheck(right, {x}).ok);
}
