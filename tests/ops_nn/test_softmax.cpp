// softmax / log_softmax: forward against a naive per-row computation, stability on large
// logits, first and second derivatives by finite differences, and errors.
#include <cmath>

#include "autograd/ops/elementwise.h"
#include "autograd/ops/softmax.h"
#include "test_util.h"

using namespace pn;
using pn::test::max_abs_diff;

namespace {

// Naive softmax (or log-softmax) of a contiguous array along `axis`, in long double.
std::vector<double> naive_softmax(const std::vector<double>& x, const Shape& s, int axis, bool log) {
  int64_t outer = 1, inner = 1, len = s[axis];
  for (int i = 0; i < axis; ++i) outer *= s[i];
  for (size_t i = axis + 1; i < s.size(); ++i) inner *= s[i];
  std::vector<double> y(x.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      auto at = [&](int64_t a) { return (o * len + a) * inner + i; };
      long double mx = x[at(0)], z = 0;
      for (int64_t a = 1; a < len; ++a) mx = std::max<long double>(mx, x[at(a)]);
      for (int64_t a = 0; a < len; ++a) z += std::exp(static_cast<long double>(x[at(a)]) - mx);
      for (int64_t a = 0; a < len; ++a) {
        long double v = static_cast<long double>(x[at(a)]) - mx;
        y[at(a)] = static_cast<double>(log ? v - std::log(z) : std::exp(v) / z);
      }
    }
  return y;
}

}  // namespace

TEST_CASE("softmax and log_softmax match a naive computation on every axis") {
  Generator gen(11);
  for (Shape s : {Shape{2, 5, 3, 4}, Shape{3, 4, 2, 3, 5}, Shape{7, 3}}) {
    Tensor x = test::rand_input(s, gen, 3.0, 0.0, false);
    for (int axis = 0; axis < static_cast<int>(s.size()); ++axis) {
      INFO("shape " << shape_str(s) << " axis " << axis);
      CHECK(max_abs_diff(softmax(x, axis).to_vector(), naive_softmax(x.to_vector(), s, axis, false)) < 1e-14);
      CHECK(max_abs_diff(log_softmax(x, axis).to_vector(), naive_softmax(x.to_vector(), s, axis, true)) < 1e-13);
    }
    // Negative axes count from the end; float32 agrees to float precision.
    CHECK(max_abs_diff(softmax(x, -1).to_vector(), naive_softmax(x.to_vector(), s, static_cast<int>(s.size()) - 1, false)) < 1e-14);
    CHECK(max_abs_diff(softmax(x.to(DType::Float32), 1).to_vector(), naive_softmax(x.to_vector(), s, 1, false)) < 1e-6);
  }
}

TEST_CASE("softmax on a volume large enough for the threaded path") {
  Generator gen(14);
  const Shape s{2, 3, 10, 30, 21};
  Tensor x = test::rand_input(s, gen, 2.0, 0.0, false).to(DType::Float32);
  CHECK(max_abs_diff(softmax(x, 1).to_vector(), naive_softmax(x.to_vector(), s, 1, false)) < 1e-6);
  CHECK(max_abs_diff(log_softmax(x, 1).to_vector(), naive_softmax(x.to_vector(), s, 1, true)) < 1e-5);
}

TEST_CASE("softmax rows sum to one and stay finite on huge logits") {
  Tensor x = Tensor::from_vector(std::vector<double>{1000, 999, -1000, -1e4, 0, 1e4}, {2, 3}, DType::Float32);
  auto y = softmax(x, 1).to_vector();
  auto ly = log_softmax(x, 1).to_vector();
  for (double v : y) CHECK(std::isfinite(v));
  for (double v : ly) CHECK(std::isfinite(v));
  CHECK(y[0] + y[1] + y[2] == doctest::Approx(1.0));
  CHECK(y[0] == doctest::Approx(1.0 / (1.0 + std::exp(-1.0))));
  CHECK(ly[1] == doctest::Approx(-1.0 - std::log1p(std::exp(-1.0))));
  CHECK(ly[3] == doctest::Approx(-2e4).epsilon(1e-6));
  CHECK(y[5] == doctest::Approx(1.0));
}

TEST_CASE("softmax and log_softmax gradients, first and second order") {
  Generator gen(12);
  struct Case { Shape s; int axis; };
  for (Case c : {Case{{3, 4, 5}, 1}, Case{{2, 3, 2, 3, 3}, 1}, Case{{2, 3, 5}, -1}, Case{{3, 2, 3}, 0}}) {
    INFO("shape " << shape_str(c.s) << " axis " << c.axis);
    Tensor x = test::rand_input(c.s, gen, 2.0);
    int axis = c.axis;
    TensorFn sm = [axis](const std::vector<Tensor>& in) { return softmax(in[0], axis); };
    TensorFn lsm = [axis](const std::vector<Tensor>& in) { return log_softmax(in[0], axis); };
    CHECK_GRADCHECK(sm, std::vector<Tensor>{x});
    CHECK_GRADCHECK(lsm, std::vector<Tensor>{x});
    CHECK_GRADGRADCHECK(sm, std::vector<Tensor>{x});
    CHECK_GRADGRADCHECK(lsm, std::vector<Tensor>{x});
  }
}

TEST_CASE("softmax composed inside a larger graph keeps its second derivative") {
  // tanh(x) -> softmax -> square: the backward must differentiate through the saved output.
  Generator gen(13);
  Tensor x = test::rand_input({2, 3, 4}, gen);
  TensorFn f = [](const std::vector<Tensor>& in) { return square(softmax(tanh(in[0]), 1)); };
  CHECK_GRADCHECK(f, std::vector<Tensor>{x});
  CHECK_GRADGRADCHECK(f, std::vector<Tensor>{x});
}

TEST_CASE("softmax errors name the op and shape") {
  Tensor x = Tensor::ones({2, 3});
  CHECK_THROWS_WITH_AS(softmax(x, 2), doctest::Contains("softmax: axis 2 out of range for input float32[2, 3]"), pn::Error);
  CHECK_THROWS_WITH_AS(log_softmax(x, -3), doctest::Contains("log_softmax"), pn::Error);
  CHECK_THROWS_AS(softmax(Tensor(), 1), pn::Error);
}
