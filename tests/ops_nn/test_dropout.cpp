// dropout: identity in eval mode, inverted scaling and keep rate in training,
// reproducibility from the generator state, gradients, and errors.
#include <algorithm>
#include <cmath>

#include "autograd/ops/dropout.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/reduce.h"
#include "test_util.h"

using namespace pn;

TEST_CASE("dropout is the identity in eval mode and for p = 0") {
  Generator gen(1);
  Tensor x = test::rand_input({3, 4, 5}, gen);
  CHECK(dropout(x, 0.5, gen, false).same(x));
  CHECK(dropout(x, 0.0, gen, true).same(x));
  CHECK(gen.offset() == 60);  // no draws were taken by the identity cases
}

TEST_CASE("dropout keeps 1 - p of the elements, scaled by 1 / (1 - p)") {
  Generator gen(2);
  const double p = 0.3;
  Tensor x = Tensor::ones({4, 8, 25, 25});  // 20000 elements
  auto y = dropout(x, p, gen, true).to_vector();
  int64_t kept = 0, other = 0;
  for (double v : y) {
    const bool zero = v == 0.0, scaled = std::abs(v - 1.0 / (1.0 - p)) < 1e-6;
    kept += scaled;
    other += !zero && !scaled;
  }
  CHECK(other == 0);
  const double rate = static_cast<double>(kept) / static_cast<double>(y.size());
  CHECK(std::abs(rate - (1.0 - p)) < 0.015);  // 4.6 standard deviations
  // p = 1 drops everything.
  auto all = dropout(x, 1.0, gen, true).to_vector();
  CHECK(std::all_of(all.begin(), all.end(), [](double v) { return v == 0.0; }));
}

TEST_CASE("dropout masks are reproducible from the generator state and differ between draws") {
  Generator g1(77), g2(77);
  Tensor x = Tensor::ones({2, 3, 7, 5}, DType::Float64);
  auto a1 = dropout(x, 0.5, g1, true).to_vector();
  auto a2 = dropout(x, 0.5, g1, true).to_vector();
  auto b1 = dropout(x, 0.5, g2, true).to_vector();
  CHECK(a1 == b1);
  CHECK(a1 != a2);
  CHECK(g1.offset() == static_cast<uint64_t>(2 * x.numel()));
}

TEST_CASE("dropout gradient is the mask, checked by finite differences") {
  Generator gen(3);
  Tensor x = test::rand_input({2, 3, 3, 4}, gen);
  // A fresh generator per call draws the same mask every time, as finite differences need.
  TensorFn f = [](const std::vector<Tensor>& in) {
    Generator g(5);
    return dropout(in[0], 0.4, g, true);
  };
  CHECK_GRADCHECK(f, std::vector<Tensor>{x});
  TensorFn f2 = [](const std::vector<Tensor>& in) {
    Generator g(6);
    return square(dropout(in[0], 0.25, g, true));
  };
  CHECK_GRADGRADCHECK(f2, std::vector<Tensor>{x});
  // The gradient of sum(dropout(x)) is exactly y / x (0 or 1 / (1 - p)).
  Generator g(5);
  Tensor y = dropout(x, 0.4, g, true);
  sum(y).backward();
  auto gx = x.grad().to_vector(), yv = y.to_vector(), xv = x.to_vector();
  for (size_t i = 0; i < gx.size(); ++i) CHECK(gx[i] == doctest::Approx(yv[i] / xv[i]));
}

TEST_CASE("dropout rejects probabilities outside [0, 1]") {
  Generator gen(4);
  Tensor x = Tensor::ones({2, 3});
  CHECK_THROWS_WITH_AS(dropout(x, 1.5, gen, true), doctest::Contains("dropout: probability 1.5"), pn::Error);
  CHECK_THROWS_WITH_AS(dropout(x, -0.1, gen, false), doctest::Contains("float32[2, 3]"), pn::Error);
}
