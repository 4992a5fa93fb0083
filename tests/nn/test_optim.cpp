// Optimiser wrappers: learning-rate schedules, and the SGD step on a module's parameters
// against the update written out by hand.
#include <doctest/doctest.h>

#include "autograd/ops/reduce.h"
#include "nn/layers.h"
#include "nn/optim.h"

using namespace pn;
using namespace pn::nn;

TEST_CASE("learning-rate schedules: constant, and linear decay to zero") {
  LrSchedule c;
  CHECK(c.factor(0) == 1.0);
  CHECK(c.factor(1000000) == 1.0);
  LrSchedule d{LrSchedule::Kind::LinearDecay, 100, 200};
  CHECK(d.factor(0) == 1.0);
  CHECK(d.factor(99) == 1.0);
  CHECK(d.factor(100) == 1.0);
  CHECK(d.factor(150) == doctest::Approx(0.5));
  CHECK(d.factor(200) == 0.0);
  CHECK(d.factor(500) == 0.0);
  Generator gen(1);
  Linear l(3, 2, gen);
  Adam opt(l.named_parameters(), AdamOptions{2e-4, 0.5, 0.999, 1e-8, 0.0, false, d});
  CHECK(opt.lr() == doctest::Approx(2e-4));
  opt.set_steps(150);
  CHECK(opt.lr() == doctest::Approx(1e-4));
}

TEST_CASE("SGD with momentum on a module follows the update written out by hand") {
  Generator gen(2);
  Linear l(4, 1, gen);
  const double lr = 0.1, mu = 0.9;
  Sgd opt(l.named_parameters(), SgdOptions{lr, mu});
  Tensor x = Tensor::randn({5, 4}, gen);
  auto w0 = l.weight.to_vector();
  std::vector<double> buf(w0.size(), 0.0), w = w0;
  for (int s = 0; s < 3; ++s) {
    opt.zero_grad();
    sum(l.forward(x)).backward();  // d/dw = column sums of x, the same every step
    auto g = l.weight.grad().to_vector();
    for (size_t i = 0; i < w.size(); ++i) {
      buf[i] = s == 0 ? g[i] : mu * buf[i] + g[i];
      w[i] -= lr * buf[i];
    }
    opt.step();
  }
  auto got = l.weight.to_vector();
  for (size_t i = 0; i < w.size(); ++i) CHECK(got[i] == doctest::Approx(w[i]).epsilon(1e-5));
}
