// Optimiser wrappers: learning-rate schedules, and the SGD step on a module's parameters
// against the update written out by hand.
#include <doctest/doctest.h>

#include "autograd/ops/optim_update.h"
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

// Parameters of awkward sizes (empty, 1, odd, several of the CPU loop's 16384-element tiles),
// float32 and float64 (two groups of one multi-tensor call), and one left without a gradient.
NamedTensors adam_params(Generator& gen) {
  NamedTensors ps;
  const Shape shapes[] = {{0}, {1}, {37}, {5, 7}, {40000}, {3, 3, 3}};
  const char* names[] = {"empty", "one", "odd", "matrix", "tiles", "cube"};
  for (int k = 0; k < 6; ++k) {
    const DType dtype = k % 2 ? DType::Float64 : DType::Float32;
    ps.emplace_back(names[k], Tensor::randn(shapes[k], gen, dtype).requires_grad_());
  }
  ps.emplace_back("frozen", Tensor::randn({9}, gen).requires_grad_());
  return ps;
}

TEST_CASE("Adam's one multi-tensor step equals one adam_update_ per parameter, bit for bit") {
  for (bool decoupled : {false, true}) {
    Generator gen(5);
    NamedTensors multi = adam_params(gen), single;
    for (const auto& [n, p] : multi) single.emplace_back(n, p.detach().clone().requires_grad_());
    const AdamOptions o{3e-2, 0.8, 0.95, 1e-6, 0.05, decoupled};
    Adam opt(multi, o);
    std::vector<Tensor> m, v;
    for (const auto& [n, p] : single) {
      m.push_back(Tensor::zeros(p.shape(), p.dtype()));
      v.push_back(Tensor::zeros(p.shape(), p.dtype()));
    }
    for (int step = 1; step <= 4; ++step) {
      for (size_t i = 0; i + 1 < multi.size(); ++i) {  // the last ("frozen") gets no gradient
        Tensor g = Tensor::randn(multi[i].second.shape(), gen, multi[i].second.dtype());
        multi[i].second.set_grad(g);
        adam_update_(single[i].second, g, m[i], v[i], step,
                     AdamHyper{o.lr, o.beta1, o.beta2, o.eps, o.weight_decay, decoupled});
      }
      opt.step();
    }
    const NamedTensors state = opt.named_state();
    for (size_t i = 0; i < multi.size(); ++i) {
      INFO(multi[i].first, decoupled ? " (AdamW)" : " (Adam)");
      CHECK(multi[i].second.to_vector() == single[i].second.to_vector());
      if (i + 1 < multi.size()) {
        CHECK(state[2 * i].second.to_vector() == m[i].to_vector());
        CHECK(state[2 * i + 1].second.to_vector() == v[i].to_vector());
      }
    }
    CHECK(multi.back().second.to_vector() == single.back().second.to_vector());  // untouched
  }
}
