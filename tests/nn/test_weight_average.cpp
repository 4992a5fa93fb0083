// nn::WeightAverage (the generator EMA): the average after a few updates against the
// recurrence written out by hand, the warm-up schedule, buffers copied, and clear errors
// for modules of different architectures.
#include <doctest/doctest.h>

#include <cmath>

#include "autograd/grad_mode.h"
#include "nn/layers.h"
#include "nn/weight_average.h"
#include "tests/experiments/error_text.h"

using namespace pn;
using namespace pn::nn;

namespace {
// A Linear followed by a batch norm (which has buffers), as one module.
struct LinearNorm : UnaryModule {
  std::shared_ptr<Linear> fc;
  std::shared_ptr<BatchNorm> bn;
  LinearNorm(int64_t in, int64_t out, Generator& gen) {
    fc = register_module("fc", std::make_shared<Linear>(in, out, gen));
    bn = register_module("bn", std::make_shared<BatchNorm>(out));
  }
  Tensor forward(const Tensor& x) override { return bn->forward(fc->forward(x)); }
  std::string describe() const override { return "LinearNorm"; }
};
}  // namespace

TEST_CASE("WeightAverage: the warm-up schedule d_t = min(decay, (1 + t) / (10 + t))") {
  CHECK(WeightAverage::decay_at(0.999, 0) == doctest::Approx(0.1));
  CHECK(WeightAverage::decay_at(0.999, 8) == doctest::Approx(0.5));
  CHECK(WeightAverage::decay_at(0.9, 1000) == doctest::Approx(0.9));  // capped at decay
  CHECK(WeightAverage::decay_at(0.0, 5) == 0.0);
}

TEST_CASE("WeightAverage: the average follows avg <- d_t avg + (1 - d_t) w; buffers are copied") {
  Generator gen(3);
  LinearNorm src(3, 2, gen), avg(3, 2, gen);
  const double decay = 0.8;
  WeightAverage ema(src, avg, decay);
  const Tensor w = src.fc->named_parameters()[0].second;
  std::vector<double> expect = w.to_vector();  // reset: the source's weights
  CHECK(avg.fc->named_parameters()[0].second.to_vector() == expect);
  for (int64_t t = 0; t < 40; ++t) {
    // A new source weight each step: w <- w + 0.1 (t + 1), every element.
    std::vector<double> v = w.to_vector();
    for (double& x : v) x += 0.1 * static_cast<double>(t + 1);
    Tensor(w).copy_(Tensor::from_vector(v, w.shape()));
    const double d = std::min(decay, (1.0 + t) / (10.0 + t));
    for (size_t i = 0; i < v.size(); ++i) expect[i] = d * expect[i] + (1 - d) * v[i];
    ema.update(t);
  }
  const std::vector<double> got = avg.fc->named_parameters()[0].second.to_vector();
  for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == doctest::Approx(expect[i]).epsilon(1e-5));
  // The average lags the source (it is not a copy).
  CHECK(got[0] < w.to_vector()[0] - 1.0);
  // Buffers: the source's running mean after a training forward, copied by the next update.
  src.train();
  {
    NoGrad ng;
    src.forward(Tensor::from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, Shape{2, 3}));
  }
  ema.update(40);
  CHECK(avg.named_buffers()[0].second.to_vector() == src.named_buffers()[0].second.to_vector());
  CHECK(src.named_buffers()[0].second.to_vector() != std::vector<double>(2, 0.0));
}

TEST_CASE("WeightAverage: modules of different shapes or a decay outside [0, 1) are refused") {
  Generator gen(1);
  LinearNorm a(3, 2, gen), b(4, 2, gen);
  CHECK_ERROR_HAS(WeightAverage(a, b, 0.9), "WeightAverage", "fc.weight", "same configuration");
  LinearNorm c(3, 2, gen);
  CHECK_ERROR_HAS(WeightAverage(a, c, 1.0), "decay 1 must lie in [0, 1)");
}
