// The engine: accumulation, retain_graph, create_graph, grad(), NoGrad, detach, errors.
#include "autograd/cpu_block_cache.h"
#include "autograd/engine.h"
#include "autograd/generator.h"
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

// A sum's gradient is broadcast over the summed axes. It reaches a product unexpanded
// (Node::takes_broadcast_grad), so the backward of sum(x · w) makes one tensor of x's size,
// x's gradient, not an expanded one first; every other consumer, a leaf's .grad and grad()
// still get it whole.
namespace {
// Two 1 MiB float32 operands: x takes a gradient, w does not.
struct MiBOperands {
  static constexpr int64_t rows = 64, cols = 4096;
  static constexpr size_t bytes = static_cast<size_t>(rows * cols) * 4;
  Tensor x, w;
  explicit MiBOperands(uint64_t seed) {
    Generator gen(seed);
    x = Tensor::randn({rows, cols}, gen, DType::Float32).requires_grad_();
    w = Tensor::randn({rows, cols}, gen, DType::Float32);
  }
};
}  // namespace

TEST_CASE("a product keeps only the operands its gradient reads") {
  MiBOperands ops(8);
  const size_t bytes = MiBOperands::bytes;
  Tensor x = ops.x, c = ops.w;
  Tensor loss;
  {
    Tensor h = exp(x);  // an intermediate that only the product reads
    cpu_block_reset_peak();
    const size_t before = cpu_block_cache_stats().live_bytes;
    loss = sum(mul(h, c));
    CHECK(cpu_block_cache_stats().peak_live_bytes - before >= bytes);  // the product, freed after the sum
    h = Tensor();
    // d(h · c)/dh = c: the product's node does not keep h, so h goes with its last handle
    // (exp's node keeps x, a leaf that lives anyway). Keeping both operands held it.
    CHECK(cpu_block_cache_stats().live_bytes + bytes / 2 <= before);
  }
  loss.backward();
  const std::vector<double> xv = x.to_vector(), cv = c.to_vector(), gv = x.grad().to_vector();
  for (size_t i = 0; i < xv.size(); i += 997) CHECK(gv[i] == doctest::Approx(std::exp(xv[i]) * cv[i]).epsilon(1e-5));
  // Both operands taking gradients: each keeps the other; c's gradient is x.
  Tensor a = Tensor::from_vector(std::vector<double>{1, 2}, {2}, DType::Float64).requires_grad_();
  Tensor b = Tensor::from_vector(std::vector<double>{3, 5}, {2}, DType::Float64).requires_grad_();
  sum(mul(a, b)).backward();
  CHECK(a.grad().to_vector() == std::vector<double>{3, 5});
  CHECK(b.grad().to_vector() == std::vector<double>{1, 2});
  // Only the constant-free side of a double backward: d/da Σ (d/da Σ a² c) = Σ 2c.
  Tensor k = Tensor::from_vector(std::vector<double>{7, 11}, {2}, DType::Float64);
  const Tensor g1 = grad({sum(mul(mul(a, a), k))}, {a}, {}, true)[0];
  a.zero_grad();
  sum(g1).backward();
  CHECK(a.grad().to_vector() == std::vector<double>{14, 22});
}

TEST_CASE("a sum's broadcast gradient reaches a product unexpanded and everyone else whole") {
  MiBOperands ops(7);
  const int64_t rows = MiBOperands::rows, cols = MiBOperands::cols;
  const size_t bytes = MiBOperands::bytes;
  Tensor x = ops.x, w = ops.w;
  Tensor loss = sum(mul(x, w));
  cpu_block_reset_peak();
  const size_t before = cpu_block_cache_stats().live_bytes;
  loss.backward();
  const size_t added = cpu_block_cache_stats().peak_live_bytes - before;
  CHECK(added >= bytes);
  CHECK(added < bytes + bytes / 2);  // x.grad only; expanding first needed two
  CHECK(x.grad().shape() == Shape{rows, cols});
  CHECK(x.grad().to_vector() == w.to_vector());

  // Operands that both broadcast: s [2, 1] · t [1, 3] summed; ds = Σ_j t_j, dt = Σ_i s_i.
  Tensor s = Tensor::from_vector(std::vector<double>{1, 2}, {2, 1}, DType::Float64).requires_grad_();
  Tensor t = Tensor::from_vector(std::vector<double>{3, 4, 5}, {1, 3}, DType::Float64).requires_grad_();
  sum(mul(s, t)).backward();
  CHECK(s.grad().to_vector() == std::vector<double>{12, 12});
  CHECK(t.grad().to_vector() == std::vector<double>{3, 3, 3});
  // A sum over some axes into a non-product (exp): expanded for it; into a leaf: whole.
  Tensor a = Tensor::from_vector(std::vector<double>{0, 1, 2, 3, 4, 5}, {2, 3}, DType::Float64).requires_grad_();
  sum(sum(exp(a), {1})).backward();
  for (size_t i = 0; i < 6; ++i) CHECK(a.grad().to_vector()[i] == doctest::Approx(std::exp(static_cast<double>(i))));
  a.zero_grad();
  sum(a, {0}).backward(Tensor::from_vector(std::vector<double>{1, 2, 3}, {3}, DType::Float64));
  CHECK(a.grad().shape() == Shape{2, 3});
  CHECK(a.grad().to_vector() == std::vector<double>{1, 2, 3, 1, 2, 3});
  // grad() of a leaf and of an intermediate: whole shapes.
  Tensor h = mul(a, a);
  const auto gs = grad({sum(h)}, {a, h});
  CHECK(gs[0].to_vector() == std::vector<double>{0, 2, 4, 6, 8, 10});
  CHECK(gs[1].shape() == Shape{2, 3});
  CHECK(gs[1].to_vector() == std::vector<double>(6, 1.0));
  // Double backward through the product's broadcast path: d/da Σ (d/da Σ a³) = Σ 6a.
  const Tensor g1 = grad({sum(mul(mul(a, a), a))}, {a}, {}, true)[0];
  a.zero_grad();
  sum(g1).backward();
  CHECK(a.grad().to_vector() == std::vector<double>{0, 6, 12, 18, 24, 30});
}
