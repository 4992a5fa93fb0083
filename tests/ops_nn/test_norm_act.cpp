// batch_norm_act and instance_norm_act (the norm fused with a ReLU / leaky ReLU): float32
// results and gradients against the unfused composite leaky_relu(norm(x)), float64 gradients by
// finite differences, the node keeping only the output (live tensor bytes), the same bits on one
// thread and on two, and the refusals (negative slope, 16-bit input with 16-bit statistics, double
// backward).
#include <omp.h>

#include <algorithm>
#include <cmath>

#include "autograd/cpu_block_cache.h"
#include "autograd/engine.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/norm.h"
#include "autograd/ops/reduce.h"
#include "test_util.h"

using namespace pn;

namespace {

// max |a - b| / max |b|: the error relative to the result's scale.
double relative_diff(const Tensor& a, const Tensor& b) {
  const auto vb = b.to_vector();
  double scale = 0;
  for (double v : vb) scale = std::max(scale, std::abs(v));
  return test::max_abs_diff(a.to_vector(), vb) / std::max(scale, 1e-30);
}

Tensor float_input(const Shape& s, Generator& gen, double scale, double shift, bool grad = true) {
  return test::rand_input(s, gen, scale, shift, false).to(DType::Float32).requires_grad_(grad);
}

// One norm case: the fused op or the composite, on inputs {x, gamma, beta} (gamma/beta may be
// undefined), slope, and for batch norm the mode.
struct NormCase {
  bool instance, training;
  double slope;
  Tensor operator()(const std::vector<Tensor>& in, bool fused) const {
    const Tensor& x = in[0];
    const Tensor gamma = in.size() > 1 ? in[1] : Tensor(), beta = in.size() > 2 ? in[2] : Tensor();
    const int64_t c = x.size(1);
    // Eval mode's running statistics: fixed, not all 0 / 1.
    Tensor rm = Tensor::full({c}, 0.3, x.dtype()), rv = Tensor::full({c}, 1.7, x.dtype());
    if (instance)
      return fused ? instance_norm_act(x, gamma, beta, slope, 1e-3) : leaky_relu(instance_norm(x, gamma, beta, 1e-3), slope);
    if (fused) return batch_norm_act(x, gamma, beta, rm, rv, training, slope, 0.1, 1e-3);
    return leaky_relu(batch_norm(x, gamma, beta, rm, rv, training, 0.1, 1e-3), slope);
  }
};

const NormCase kCases[] = {{false, true, 0.0}, {false, true, 0.2}, {false, false, 0.0},
                           {true, true, 0.2},  {true, true, 0.0}};

}  // namespace

TEST_CASE("fused norm + activation equals the unfused composite on float32 (forward and gradients)") {
  Generator gen(71);
  for (const NormCase& nc : kCases) {
    for (Shape s : {Shape{3, 5, 37}, Shape{2, 4, 3, 8, 8}}) {
      INFO("instance " << nc.instance << " training " << nc.training << " slope " << nc.slope << " shape "
                       << shape_str(s));
      Tensor x = float_input(s, gen, 2.0, 1.5);
      Tensor gamma = float_input({s[1]}, gen, 0.4, 1.0), beta = float_input({s[1]}, gen, 0.5, 0.0);
      Tensor gy = float_input(s, gen, 1.0, 0.0, false);
      auto run = [&](bool fused) {
        for (Tensor* t : {&x, &gamma, &beta}) t->zero_grad();
        Tensor y = nc({x, gamma, beta}, fused);
        sum(mul(y, gy)).backward();
        return std::vector<Tensor>{y.detach(), x.grad(), gamma.grad(), beta.grad()};
      };
      const auto fused = run(true), composite = run(false);
      CHECK(relative_diff(fused[0], composite[0]) <= 1e-6);
      for (int i = 1; i < 4; ++i) CHECK(relative_diff(fused[i], composite[i]) <= 1e-6);
    }
  }
}

TEST_CASE("fused norm + activation gradients by finite differences (float64)") {
  Generator gen(72);
  for (const NormCase& nc : kCases) {
    INFO("instance " << nc.instance << " training " << nc.training << " slope " << nc.slope);
    Tensor x = test::rand_input({3, 3, 2, 5}, gen, 1.5, 0.3);
    Tensor gamma = test::rand_input({3}, gen, 0.5, 1.0), beta = test::rand_input({3}, gen, 0.5, 0.2);
    TensorFn affine = [nc](const std::vector<Tensor>& in) { return nc(in, true); };
    CHECK_GRADCHECK(affine, (std::vector<Tensor>{x, gamma, beta}));
    TensorFn plain = [nc](const std::vector<Tensor>& in) { return nc({in[0]}, true); };
    CHECK_GRADCHECK(plain, std::vector<Tensor>{x});
  }
}

TEST_CASE("the fused node keeps its output, not the pre-activation (live tensor bytes)") {
  Generator gen(73);
  Tensor x = float_input({2, 4, 32, 64}, gen, 1.0, 0.0);  // 64 KiB
  Tensor gamma = float_input({4}, gen, 0.3, 1.0), beta = float_input({4}, gen, 0.3, 0.0);
  const size_t bytes = static_cast<size_t>(x.numel()) * sizeof(float);
  auto held = [&](bool fused) {
    const size_t before = cpu_block_cache_stats().live_bytes;
    Tensor y = NormCase{false, true, 0.2}({x, gamma, beta}, fused);
    return cpu_block_cache_stats().live_bytes - before;  // y, what its graph keeps, statistics
  };
  const size_t fused = held(true), composite = held(false);
  // The composite keeps the norm's output for leaky_relu's backward besides y.
  CHECK(fused < bytes + bytes / 8);
  CHECK(composite >= 2 * bytes);
}

TEST_CASE("fused norm + activation gives the same bits on one thread and on two") {
  Generator gen(74);
  Tensor x = float_input({2, 4, 64, 65}, gen, 1.0, 0.5);  // above the kernels' threading threshold
  Tensor gamma = float_input({4}, gen, 0.5, 1.0), beta = float_input({4}, gen, 1.0, 0.0);
  auto run = [&](int threads) {
    const int prev = omp_get_max_threads();
    omp_set_num_threads(threads);
    for (Tensor* t : {&x, &gamma, &beta}) t->zero_grad();
    Tensor y = batch_norm_act(x, gamma, beta, {}, {}, true, 0.0);
    Tensor z = instance_norm_act(x, gamma, beta, 0.2);
    sum(mul(y, z)).backward();
    omp_set_num_threads(prev);
    return std::vector<std::vector<double>>{y.to_vector(), z.to_vector(), x.grad().to_vector(),
                                            gamma.grad().to_vector(), beta.grad().to_vector()};
  };
  CHECK(run(1) == run(2));
}

TEST_CASE("fused norm + activation refuses what batch_norm refuses, and a negative slope") {
  Generator gen(75);
  Tensor x = test::rand_input({2, 3, 4}, gen);
  Tensor gamma = test::rand_input({3}, gen, 0.5, 1.0);
  CHECK_THROWS_WITH_AS(batch_norm_act(x, gamma, {}, {}, {}, true, -0.1), doctest::Contains("batch_norm_act: the slope must be >= 0"),
                       pn::Error);
  CHECK_THROWS_WITH_AS(instance_norm_act(x, {}, Tensor::ones({2}, DType::Float64), 0.0),
                       doctest::Contains("instance_norm_act: beta must have shape [3]"), pn::Error);
  // 16-bit storage: the statistics and parameters must be float32 (mixed precision; autograd/ops/norm.h).
  Tensor half = Tensor::ones({2, 3, 4}).to(DType::BFloat16);
  Tensor rm = Tensor::zeros({3}, DType::BFloat16), rv = Tensor::ones({3}, DType::BFloat16);
  CHECK_THROWS_WITH_AS(batch_norm_act(half, {}, {}, rm, rv, false, 0.0),
                       doctest::Contains("batch_norm_act: with a bfloat16 input bfloat16[2, 3, 4] cpu, running_mean "
                                         "must be float32"),
                       pn::Error);
  CHECK_THROWS_WITH_AS(instance_norm(half, Tensor::ones({3}, DType::Float64)),
                       doctest::Contains("instance_norm: with a bfloat16 input"), pn::Error);
  // Double backward: refused naming the op, like the norms'.
  Tensor y = sum(square(batch_norm_act(x, gamma, {}, {}, {}, true, 0.2)));
  auto g = grad({y}, {x}, {}, true);
  CHECK_THROWS_WITH_AS(sum(g[0]).backward(), doctest::Contains("double backward of batch_norm_act is not supported"),
                       pn::Error);
}
