// Finite-difference gradient checks (float64) of the elementwise, reduction and matrix ops,
// and forward checks against direct computation.
#include <algorithm>
#include <cmath>

#include "autograd/ops/elementwise.h"
#include "autograd/ops/linalg.h"
#include "autograd/ops/reduce.h"
#include "test_util.h"

using namespace pn;
using test::rand_input;

namespace {
using UnaryOp = Tensor (*)(const Tensor&);
TensorFn unary_fn(UnaryOp op) {
  return [op](const std::vector<Tensor>& in) { return op(in[0]); };
}
}  // namespace

TEST_CASE("binary ops with broadcasting: gradcheck and gradgradcheck") {
  Generator gen(11);
  const std::vector<std::pair<Shape, Shape>> cases = {
      {{3, 4}, {3, 4}}, {{2, 3, 5}, {3, 1}}, {{2, 3, 2, 3, 2}, {1, 3, 1, 1, 1}}, {{4}, {}}, {{1, 5}, {3, 1}}};
  for (auto [sa, sb] : cases) {
    CAPTURE(shape_str(sa));
    CAPTURE(shape_str(sb));
    Tensor a = rand_input(sa, gen), b = rand_input(sb, gen, 0.5, 2.0);  // b away from 0 for div
    using BinaryOp = Tensor (*)(const Tensor&, const Tensor&);
    for (BinaryOp op : {BinaryOp(&pn::add), BinaryOp(&pn::sub), BinaryOp(&pn::mul), BinaryOp(&pn::div)}) {
      TensorFn f = [op](const std::vector<Tensor>& in) { return op(in[0], in[1]); };
      CHECK_GRADCHECK(f, (std::vector<Tensor>{a, b}));
      CHECK_GRADGRADCHECK(f, (std::vector<Tensor>{a, b}));
    }
  }
}

TEST_CASE("maximum routes the gradient to the larger operand") {
  Generator gen(12);
  Tensor a = rand_input({3, 4}, gen), b = rand_input({3, 4}, gen);
  TensorFn f = [](const std::vector<Tensor>& in) { return maximum(in[0], in[1]); };
  CHECK_GRADCHECK(f, (std::vector<Tensor>{a, b}));
}

TEST_CASE("unary ops: gradcheck and gradgradcheck on odd shapes") {
  Generator gen(13);
  for (Shape s : {Shape{7}, Shape{2, 3, 5}, Shape{2, 1, 3, 3, 3}}) {
    Tensor x = rand_input(s, gen);
    Tensor pos = rand_input(s, gen, 0.3, 2.0);  // positive for log, sqrt, pow
    Tensor kinked = test::rand_away_from_zero(s, gen);
    for (UnaryOp op : {UnaryOp(&pn::neg), UnaryOp(&pn::exp), UnaryOp(&pn::square), UnaryOp(&pn::tanh), UnaryOp(&pn::sigmoid)}) {
      CHECK_GRADCHECK(unary_fn(op), std::vector<Tensor>{x});
      CHECK_GRADGRADCHECK(unary_fn(op), std::vector<Tensor>{x});
    }
    for (UnaryOp op : {UnaryOp(&pn::log), UnaryOp(&pn::sqrt)}) {
      CHECK_GRADCHECK(unary_fn(op), std::vector<Tensor>{pos});
      CHECK_GRADGRADCHECK(unary_fn(op), std::vector<Tensor>{pos});
    }
    CHECK_GRADCHECK(unary_fn(&pn::abs), std::vector<Tensor>{kinked});
    CHECK_GRADCHECK(unary_fn(&pn::relu), std::vector<Tensor>{kinked});
    TensorFn leaky = [](const std::vector<Tensor>& in) { return leaky_relu(in[0], 0.02); };
    CHECK_GRADCHECK(leaky, std::vector<Tensor>{kinked});
    CHECK_GRADGRADCHECK(leaky, std::vector<Tensor>{kinked});
    TensorFn powf = [](const std::vector<Tensor>& in) { return pow(in[0], 2.5); };
    CHECK_GRADCHECK(powf, std::vector<Tensor>{pos});
    CHECK_GRADGRADCHECK(powf, std::vector<Tensor>{pos});
    TensorFn cl = [](const std::vector<Tensor>& in) { return clamp(in[0], -0.5, 0.7); };
    Tensor xc = test::rand_away_from_zero(s, gen);
    CHECK_GRADCHECK(cl, std::vector<Tensor>{xc});
    TensorFn sc = [](const std::vector<Tensor>& in) { return rsub_scalar(1.5, mul_scalar(add_scalar(in[0], 0.3), -2.0)); };
    CHECK_GRADCHECK(sc, std::vector<Tensor>{x});
  }
}

TEST_CASE("unary forward values match the C library") {
  Tensor x = Tensor::from_vector(std::vector<double>{-2.0, -0.5, 0.25, 3.0}, {4}, DType::Float64);
  auto e = exp(x).to_vector(), t = tanh(x).to_vector(), s = sigmoid(x).to_vector(), l = leaky_relu(x, 0.1).to_vector();
  auto xv = x.to_vector();
  for (size_t i = 0; i < xv.size(); ++i) {
    CHECK(e[i] == doctest::Approx(std::exp(xv[i])));
    CHECK(t[i] == doctest::Approx(std::tanh(xv[i])));
    CHECK(s[i] == doctest::Approx(1.0 / (1.0 + std::exp(-xv[i]))));
    CHECK(l[i] == doctest::Approx(xv[i] > 0 ? xv[i] : 0.1 * xv[i]));
  }
  // float32 sigmoid stays finite at the extremes.
  Tensor big = Tensor::from_vector(std::vector<float>{-1000.f, 1000.f}, {2});
  auto sb = sigmoid(big).to_vector();
  CHECK(sb[0] == 0.0);
  CHECK(sb[1] == 1.0);
}

TEST_CASE("sum and mean over axes: values and gradients") {
  Generator gen(14);
  Tensor x = rand_input({2, 3, 4, 5}, gen);
  auto xv = x.to_vector();
  // sum over axes {0, 2} against a direct loop.
  Tensor s = sum(x, {0, 2});
  REQUIRE(s.shape() == Shape{3, 5});
  auto sv = s.to_vector();
  for (int c = 0; c < 3; ++c)
    for (int w = 0; w < 5; ++w) {
      double ref = 0;
      for (int n = 0; n < 2; ++n)
        for (int h = 0; h < 4; ++h) ref += xv[((n * 3 + c) * 4 + h) * 5 + w];
      CHECK(sv[c * 5 + w] == doctest::Approx(ref));
    }
  CHECK(sum(x, {1, 3}, true).shape() == Shape{2, 1, 4, 1});
  CHECK(mean(x).item() == doctest::Approx(sum(x).item() / 120.0));
  for (std::vector<int> axes : {std::vector<int>{0}, {1, 3}, {-1}, {0, 1, 2, 3}}) {
    TensorFn fs = [axes](const std::vector<Tensor>& in) { return sum(in[0], axes); };
    TensorFn fm = [axes](const std::vector<Tensor>& in) { return mean(in[0], axes, true); };
    CHECK_GRADCHECK(fs, std::vector<Tensor>{x});
    CHECK_GRADCHECK(fm, std::vector<Tensor>{x});
  }
  CHECK_THROWS_WITH_AS(sum(x, {4}), doctest::Contains("sum: axis 4"), pn::Error);
}

TEST_CASE("sum over some axes: each output the double sum of its elements in memory order, exactly") {
  // The CPU reference's contract (kernels/cpu/reduce.h): reruns and other thread counts give
  // the same bits, and a faster loop may not reorder the additions.
  Generator gen(15);
  const Shape shape{2, 3, 4, 5, 6};
  Tensor x = rand_input(shape, gen);  // float64: a reordered sum shows in its last bits
  const auto xv = x.to_vector();
  for (std::vector<int> axes : {std::vector<int>{0, 2, 3, 4}, {2, 3, 4}, {0}, {1, 3}, {4}, {0, 4}, {0, 1, 3, 4}}) {
    CAPTURE(axes.size());
    CAPTURE(axes.front());
    std::vector<double> ref;
    std::vector<int64_t> index(xv.size());
    // Output index of each element: its coordinates on the kept axes.
    int64_t outputs = 1;
    for (int d = 0; d < 5; ++d)
      if (std::find(axes.begin(), axes.end(), d) == axes.end()) outputs *= shape[d];
    ref.assign(static_cast<size_t>(outputs), 0.0);
    for (size_t i = 0; i < xv.size(); ++i) {
      int64_t rem = static_cast<int64_t>(i), out = 0, scale = 1;
      for (int d = 4; d >= 0; --d) {
        const int64_t c = rem % shape[d];
        rem /= shape[d];
        if (std::find(axes.begin(), axes.end(), d) == axes.end()) out += c * scale, scale *= shape[d];
      }
      ref[static_cast<size_t>(out)] += xv[i];
    }
    const auto got = sum(x, axes).to_vector();
    REQUIRE(got.size() == ref.size());
    for (size_t o = 0; o < ref.size(); ++o) CHECK(got[o] == ref[o]);
  }
}

TEST_CASE("expand, sum_to, reshape, where, to(dtype)") {
  Generator gen(15);
  Tensor x = rand_input({3, 1}, gen);
  TensorFn fe = [](const std::vector<Tensor>& in) { return expand(in[0], {2, 3, 4}); };
  CHECK_GRADCHECK(fe, std::vector<Tensor>{x});
  CHECK_GRADGRADCHECK(fe, std::vector<Tensor>{x});
  Tensor y = rand_input({2, 3, 4}, gen);
  TensorFn fst = [](const std::vector<Tensor>& in) { return sum_to(in[0], {3, 1}); };
  CHECK_GRADCHECK(fst, std::vector<Tensor>{y});
  TensorFn fr = [](const std::vector<Tensor>& in) { return mul(in[0].reshape({4, -1}), in[0].reshape({4, 6})); };
  CHECK_GRADCHECK(fr, std::vector<Tensor>{y});
  Tensor cond = Tensor::from_vector(std::vector<double>{1, 0, 1, 0, 0, 1}, {2, 3}, DType::Float64);
  Tensor a = rand_input({2, 3}, gen), b = rand_input({2, 3}, gen);
  TensorFn fw = [cond](const std::vector<Tensor>& in) { return where(cond, in[0], in[1]); };
  CHECK_GRADCHECK(fw, (std::vector<Tensor>{a, b}));
  TensorFn fc = [](const std::vector<Tensor>& in) { return square(in[0].to(DType::Float32)).to(DType::Float64); };
  auto r = gradcheck(fc, {a}, GradcheckOptions{1e-3, 1e-3, 1e-2});
  CHECK(r.ok);
}

TEST_CASE("matmul with transposes and linear: values and gradients") {
  Generator gen(16);
  Tensor a = rand_input({3, 4}, gen), b = rand_input({4, 5}, gen);
  auto c = matmul(a, b).to_vector();
  auto av = a.to_vector(), bv = b.to_vector();
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 5; ++j) {
      double ref = 0;
      for (int k = 0; k < 4; ++k) ref += av[i * 4 + k] * bv[k * 5 + j];
      CHECK(c[i * 5 + j] == doctest::Approx(ref));
    }
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      Tensor x = rand_input(ta ? Shape{4, 3} : Shape{3, 4}, gen);
      Tensor y = rand_input(tb ? Shape{5, 4} : Shape{4, 5}, gen);
      TensorFn f = [ta, tb](const std::vector<Tensor>& in) { return matmul(in[0], in[1], ta, tb); };
      CHECK_GRADCHECK(f, (std::vector<Tensor>{x, y}));
      CHECK_GRADGRADCHECK(f, (std::vector<Tensor>{x, y}));
    }
  Tensor x = rand_input({2, 6}, gen), w = rand_input({3, 6}, gen), bias = rand_input({3}, gen);
  TensorFn fl = [](const std::vector<Tensor>& in) { return linear(in[0], in[1], in[2]); };
  CHECK_GRADCHECK(fl, (std::vector<Tensor>{x, w, bias}));
  CHECK_THROWS_WITH_AS(matmul(a, a), doctest::Contains("inner sizes differ"), pn::Error);
  CHECK_THROWS_WITH_AS(linear(x, rand_input({3, 5}, gen)), doctest::Contains("linear"), pn::Error);
}
