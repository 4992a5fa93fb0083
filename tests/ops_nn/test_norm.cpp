// batch_norm and instance_norm: forward and running statistics against a naive two-pass
// computation, gradients by finite differences (training and eval, 2-D and 3-D, with and
// without affine), the refused double backward, and errors.
#include <omp.h>

#include <cmath>

#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/norm.h"
#include "autograd/ops/reduce.h"
#include "test_util.h"

using namespace pn;
using pn::test::max_abs_diff;

namespace {

struct NaiveStats {
  std::vector<double> mean, var;  // biased variance, per group
  int64_t count = 0;
};

// Two-pass statistics per channel (per_instance = false) or per (n, c).
NaiveStats naive_stats(const Tensor& x, bool per_instance) {
  const auto v = x.to_vector();
  const int64_t n = x.size(0), c = x.size(1), s = x.numel() / (n * c);
  const int64_t groups = per_instance ? n * c : c;
  NaiveStats st{std::vector<double>(groups, 0.0), std::vector<double>(groups, 0.0), per_instance ? s : n * s};
  auto group_of = [&](int64_t i, int64_t j) { return per_instance ? i * c + j : j; };
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < c; ++j)
      for (int64_t k = 0; k < s; ++k) st.mean[group_of(i, j)] += v[(i * c + j) * s + k] / st.count;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < c; ++j)
      for (int64_t k = 0; k < s; ++k) {
        double d = v[(i * c + j) * s + k] - st.mean[group_of(i, j)];
        st.var[group_of(i, j)] += d * d / st.count;
      }
  return st;
}

// (x - mean) / sqrt(var + eps) * gamma + beta, elementwise in double.
std::vector<double> naive_normalise(const Tensor& x, const NaiveStats& st, bool per_instance, const Tensor& gamma,
                                    const Tensor& beta, double eps) {
  const auto v = x.to_vector();
  const int64_t n = x.size(0), c = x.size(1), s = x.numel() / (n * c);
  std::vector<double> ga = gamma.defined() ? gamma.to_vector() : std::vector<double>(c, 1.0);
  std::vector<double> be = beta.defined() ? beta.to_vector() : std::vector<double>(c, 0.0);
  std::vector<double> y(v.size());
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < c; ++j) {
      int64_t grp = per_instance ? i * c + j : j;
      for (int64_t k = 0; k < s; ++k) {
        int64_t e = (i * c + j) * s + k;
        y[e] = (v[e] - st.mean[grp]) / std::sqrt(st.var[grp] + eps) * ga[j] + be[j];
      }
    }
  return y;
}

Tensor per_channel(int64_t c, Generator& gen, double scale, double shift, bool grad = true) {
  return test::rand_input({c}, gen, scale, shift, grad);
}

}  // namespace

TEST_CASE("batch_norm training forward and running statistics match a naive computation") {
  Generator gen(21);
  for (Shape s : {Shape{4, 3, 5, 6}, Shape{2, 3, 3, 4, 5}, Shape{5, 4}}) {
    INFO("shape " << shape_str(s));
    const int64_t c = s[1];
    Tensor x = test::rand_input(s, gen, 2.0, 1.5, false);
    Tensor gamma = per_channel(c, gen, 0.5, 1.0, false), beta = per_channel(c, gen, 1.0, 0.0, false);
    Tensor rm = per_channel(c, gen, 1.0, 0.0, false), rv = per_channel(c, gen, 0.1, 1.0, false);
    auto rm0 = rm.to_vector(), rv0 = rv.to_vector();
    Tensor y = batch_norm(x, gamma, beta, rm, rv, true, 0.2, 1e-3);
    NaiveStats st = naive_stats(x, false);
    CHECK(max_abs_diff(y.to_vector(), naive_normalise(x, st, false, gamma, beta, 1e-3)) < 1e-12);
    auto rm1 = rm.to_vector(), rv1 = rv.to_vector();
    for (int64_t j = 0; j < c; ++j) {
      CHECK(rm1[j] == doctest::Approx(0.8 * rm0[j] + 0.2 * st.mean[j]).epsilon(1e-12));
      CHECK(rv1[j] == doctest::Approx(0.8 * rv0[j] + 0.2 * st.var[j] * st.count / (st.count - 1)).epsilon(1e-12));
    }
    // Without affine and without running statistics.
    Tensor y2 = batch_norm(x, {}, {}, {}, {}, true, 0.1, 1e-5);
    CHECK(max_abs_diff(y2.to_vector(), naive_normalise(x, st, false, {}, {}, 1e-5)) < 1e-12);
    // float32 agrees with the double reference to float precision.
    Tensor y3 = batch_norm(x.to(DType::Float32), gamma.to(DType::Float32), beta.to(DType::Float32), {}, {}, true);
    CHECK(max_abs_diff(y3.to_vector(), naive_normalise(x, st, false, gamma, beta, 1e-5)) < 2e-5);
  }
}

TEST_CASE("batch_norm statistics stay accurate when the mean dwarfs the spread") {
  Generator gen(22);
  Tensor x = test::rand_input({3, 2, 40, 40}, gen, 1.0, 0.0, false).to(DType::Float32);
  Tensor big = add_scalar(x, 1e4);  // float32 values near 1e4 with unit spread
  Tensor y = batch_norm(big, {}, {}, {}, {}, true);
  NaiveStats st = naive_stats(big, false);
  CHECK(max_abs_diff(y.to_vector(), naive_normalise(big, st, false, {}, {}, 1e-5)) < 1e-3);
}

TEST_CASE("norm kernels give the same bits on one thread and on several") {
  // Large enough for the threaded paths; work is split over groups only.
  Generator gen(29);
  Tensor x = test::rand_input({2, 4, 64, 65}, gen, 1.0, 0.5);
  Tensor gamma = per_channel(4, gen, 0.5, 1.0), beta = per_channel(4, gen, 1.0, 0.0);
  auto run = [&](int threads) {
    const int prev = omp_get_max_threads();
    omp_set_num_threads(threads);
    x.zero_grad();
    gamma.zero_grad();
    Tensor y = batch_norm(x, gamma, beta, {}, {}, true);
    Tensor z = instance_norm(x, gamma, beta);
    sum(mul(y, z)).backward();
    omp_set_num_threads(prev);
    return std::vector<std::vector<double>>{y.to_vector(), z.to_vector(), x.grad().to_vector(), gamma.grad().to_vector()};
  };
  auto one = run(1), two = run(2);
  CHECK(one == two);
  NaiveStats st = naive_stats(x, false);
  CHECK(max_abs_diff(one[0], naive_normalise(x, st, false, gamma, beta, 1e-5)) < 1e-12);
}

TEST_CASE("batch_norm in eval mode uses the running statistics and leaves them alone") {
  Generator gen(23);
  Tensor x = test::rand_input({3, 4, 3, 5}, gen, 1.0, 0.0, false);
  Tensor gamma = per_channel(4, gen, 0.5, 1.0, false), beta = per_channel(4, gen, 1.0, 0.0, false);
  Tensor rm = per_channel(4, gen, 1.0, 0.0, false), rv = per_channel(4, gen, 0.2, 1.0, false);
  auto rm0 = rm.to_vector(), rv0 = rv.to_vector();
  Tensor y = batch_norm(x, gamma, beta, rm, rv, false, 0.1, 1e-5);
  NaiveStats st{rm0, rv0, 0};
  CHECK(max_abs_diff(y.to_vector(), naive_normalise(x, st, false, gamma, beta, 1e-5)) < 1e-12);
  CHECK(rm.to_vector() == rm0);
  CHECK(rv.to_vector() == rv0);
}

TEST_CASE("instance_norm forward matches a naive computation (SPADE's parameter-free norm too)") {
  Generator gen(24);
  for (Shape s : {Shape{2, 3, 5, 7}, Shape{3, 2, 3, 4, 5}, Shape{1, 4, 9}}) {
    INFO("shape " << shape_str(s));
    Tensor x = test::rand_input(s, gen, 3.0, -2.0, false);
    Tensor gamma = per_channel(s[1], gen, 0.5, 1.0, false), beta = per_channel(s[1], gen, 1.0, 0.0, false);
    NaiveStats st = naive_stats(x, true);
    CHECK(max_abs_diff(instance_norm(x, gamma, beta, 1e-4).to_vector(), naive_normalise(x, st, true, gamma, beta, 1e-4)) < 1e-12);
    CHECK(max_abs_diff(instance_norm(x, {}, {}).to_vector(), naive_normalise(x, st, true, {}, {}, 1e-5)) < 1e-12);
  }
}

TEST_CASE("batch_norm gradients in training mode, 2-D and 3-D, with and without affine") {
  Generator gen(25);
  for (Shape s : {Shape{3, 3, 5, 3}, Shape{2, 2, 3, 3, 5}, Shape{5, 3}}) {
    INFO("shape " << shape_str(s));
    const int64_t c = s[1];
    Tensor x = test::rand_input(s, gen, 1.5, 0.5);
    Tensor gamma = per_channel(c, gen, 0.5, 1.0), beta = per_channel(c, gen, 1.0, 0.0);
    Tensor rm = Tensor::zeros({c}, DType::Float64), rv = Tensor::ones({c}, DType::Float64);
    TensorFn affine = [rm, rv](const std::vector<Tensor>& in) { return batch_norm(in[0], in[1], in[2], rm, rv, true); };
    TensorFn plain = [](const std::vector<Tensor>& in) { return batch_norm(in[0], {}, {}, {}, {}, true, 0.1, 1e-3); };
    CHECK_GRADCHECK(affine, (std::vector<Tensor>{x, gamma, beta}));
    CHECK_GRADCHECK(plain, std::vector<Tensor>{x});
    CHECK_FALSE(rm.requires_grad());
    // Only gamma needs a gradient; only beta is affine.
    TensorFn beta_only = [](const std::vector<Tensor>& in) { return batch_norm(in[0], {}, in[1], {}, {}, true); };
    CHECK_GRADCHECK(beta_only, (std::vector<Tensor>{x, beta}));
  }
}

TEST_CASE("batch_norm gradients in eval mode") {
  Generator gen(26);
  Tensor x = test::rand_input({3, 3, 4, 3}, gen);
  Tensor gamma = per_channel(3, gen, 0.5, 1.0), beta = per_channel(3, gen, 1.0, 0.0);
  Tensor rm = per_channel(3, gen, 1.0, 0.0, false), rv = per_channel(3, gen, 0.2, 1.0, false);
  TensorFn f = [rm, rv](const std::vector<Tensor>& in) { return batch_norm(in[0], in[1], in[2], rm, rv, false); };
  CHECK_GRADCHECK(f, (std::vector<Tensor>{x, gamma, beta}));
}

TEST_CASE("instance_norm gradients, 2-D and 3-D, with and without affine") {
  Generator gen(27);
  for (Shape s : {Shape{2, 3, 3, 5}, Shape{2, 2, 3, 2, 3}, Shape{3, 2, 7}}) {
    INFO("shape " << shape_str(s));
    Tensor x = test::rand_input(s, gen, 2.0, 1.0);
    Tensor gamma = per_channel(s[1], gen, 0.5, 1.0), beta = per_channel(s[1], gen, 1.0, 0.0);
    TensorFn affine = [](const std::vector<Tensor>& in) { return instance_norm(in[0], in[1], in[2], 1e-3); };
    TensorFn plain = [](const std::vector<Tensor>& in) { return instance_norm(in[0]); };
    CHECK_GRADCHECK(affine, (std::vector<Tensor>{x, gamma, beta}));
    CHECK_GRADCHECK(plain, std::vector<Tensor>{x});
  }
}

TEST_CASE("a second derivative through a norm is refused, naming the op") {
  Generator gen(28);
  Tensor x = test::rand_input({2, 3, 4}, gen);
  Tensor gamma = per_channel(3, gen, 0.5, 1.0);
  Tensor y = sum(square(batch_norm(x, gamma, {}, {}, {}, true)));
  auto g = grad({y}, {x, gamma}, {}, true);
  REQUIRE(g[0].requires_grad());
  CHECK_THROWS_WITH_AS(sum(g[0]).backward(), doctest::Contains("double backward of batch_norm is not supported"), pn::Error);
  Tensor z = sum(square(instance_norm(x)));
  auto gz = grad({z}, {x}, {}, true);
  CHECK_THROWS_WITH_AS(sum(gz[0]).backward(), doctest::Contains("double backward of instance_norm"), pn::Error);
  // A first-order backward is unaffected.
  Tensor w = sum(square(batch_norm(x, gamma, {}, {}, {}, true)));
  CHECK_NOTHROW(w.backward());
  CHECK(gamma.grad().defined());
}

TEST_CASE("running statistics update under NoGrad and never join the graph") {
  Tensor x = Tensor::from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, {3, 2}, DType::Float64).requires_grad_();
  Tensor rm = Tensor::zeros({2}, DType::Float64), rv = Tensor::ones({2}, DType::Float64);
  {
    NoGrad ng;
    batch_norm(x, {}, {}, rm, rv, true, 0.5);
  }
  // Channel 0 holds 1, 3, 5: mean 3, unbiased variance 4. Channel 1: mean 4, variance 4.
  CHECK(rm.to_vector() == std::vector<double>{1.5, 2.0});
  CHECK(rv.to_vector() == std::vector<double>{2.5, 2.5});
  Tensor y = batch_norm(x, {}, {}, rm, rv, true, 0.5);
  CHECK(y.requires_grad());
  CHECK_FALSE(rm.requires_grad());
  CHECK(y.grad_fn()->edges.size() == 3);  // x, gamma, beta: not the buffers
}

TEST_CASE("norm errors name the op and the shapes") {
  Tensor x = Tensor::ones({2, 3, 4});
  CHECK_THROWS_WITH_AS(batch_norm(x, Tensor::ones({4}), {}, {}, {}, true),
                       doctest::Contains("batch_norm: gamma must have shape [3] (channels of input float32[2, 3, 4] cpu), got float32[4]"),
                       pn::Error);
  CHECK_THROWS_WITH_AS(batch_norm(x, {}, {}, Tensor::zeros({3}), {}, true), doctest::Contains("both given"), pn::Error);
  CHECK_THROWS_WITH_AS(batch_norm(x, {}, {}, {}, {}, false), doctest::Contains("eval mode needs running statistics"),
                       pn::Error);
  CHECK_THROWS_WITH_AS(batch_norm(Tensor::ones({1, 3}), {}, {}, {}, {}, true),
                       doctest::Contains("more than one value per channel"), pn::Error);
  CHECK_THROWS_WITH_AS(batch_norm(x, Tensor::ones({3}, DType::Float64), {}, {}, {}, true),
                       doctest::Contains("dtype mismatch"), pn::Error);
  CHECK_THROWS_WITH_AS(instance_norm(Tensor::ones({2, 3})), doctest::Contains("instance_norm: expected an input of at least 3 dims"),
                       pn::Error);
  CHECK_THROWS_WITH_AS(instance_norm(Tensor::ones({2, 3, 1, 1})), doctest::Contains("more than one spatial element"),
                       pn::Error);
  CHECK_THROWS_WITH_AS(instance_norm(x, {}, Tensor::ones({2})), doctest::Contains("instance_norm: beta must have shape [3]"),
                       pn::Error);
}
