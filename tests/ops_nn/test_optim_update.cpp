// Optimiser update kernels against scalar re-implementations of the PyTorch update rules
// written here independently (textbook bias-corrected form for Adam), convergence of Adam
// on a quadratic, and errors.
#include <cmath>

#include "autograd/ops/elementwise.h"
#include "autograd/ops/optim_update.h"
#include "autograd/ops/reduce.h"
#include "test_util.h"

using namespace pn;

namespace {

// Adam as in Kingma & Ba with PyTorch's weight decay: m_hat = m / (1 - b1^t),
// v_hat = v / (1 - b2^t), p -= lr m_hat / (sqrt(v_hat) + eps).
struct ScalarAdam {
  AdamHyper h;
  double m = 0, v = 0;
  int t = 0;
  double step(double p, double g) {
    ++t;
    if (h.decoupled) p -= h.lr * h.weight_decay * p;
    else g += h.weight_decay * p;
    m = h.beta1 * m + (1 - h.beta1) * g;
    v = h.beta2 * v + (1 - h.beta2) * g * g;
    const double m_hat = m / (1 - std::pow(h.beta1, t)), v_hat = v / (1 - std::pow(h.beta2, t));
    return p - h.lr * m_hat / (std::sqrt(v_hat) + h.eps);
  }
};

// torch.optim.SGD's step for one element.
struct ScalarSgd {
  SgdHyper h;
  double buf = 0;
  bool started = false;
  double step(double p, double g) {
    double d = g + h.weight_decay * p;
    if (h.momentum != 0) {
      buf = started ? h.momentum * buf + (1 - h.dampening) * d : d;
      started = true;
      d = h.nesterov ? d + h.momentum * buf : buf;
    }
    return p - h.lr * d;
  }
};

// Runs `steps` updates of a random parameter with random gradients through `update`, and
// through the scalar reference; returns the largest difference.
template <class Ref, class Update>
double compare_steps(DType dtype, int steps, Ref proto, Update update) {
  Generator gen(41);
  const Shape s{3, 5, 2};
  Tensor p = test::rand_input(s, gen, 1.0, 0.0, false).to(dtype);
  std::vector<double> ref = p.to_vector();
  std::vector<Ref> refs(ref.size(), proto);
  double worst = 0;
  for (int k = 1; k <= steps; ++k) {
    Tensor g = test::rand_input(s, gen, 0.5, 0.1 * k, false).to(dtype);
    update(p, g, k);
    auto gv = g.to_vector(), pv = p.to_vector();
    for (size_t i = 0; i < ref.size(); ++i) {
      ref[i] = refs[i].step(ref[i], gv[i]);
      worst = std::max(worst, std::abs(ref[i] - pv[i]));
    }
  }
  return worst;
}

double compare_adam(const AdamHyper& h, DType dtype) {
  Tensor m, v;
  return compare_steps(dtype, 6, ScalarAdam{h}, [&](Tensor& p, const Tensor& g, int k) {
    if (!m.defined()) { m = Tensor::zeros(p.shape(), dtype); v = Tensor::zeros(p.shape(), dtype); }
    adam_update_(p, g, m, v, k, h);
  });
}

double compare_sgd(const SgdHyper& h, DType dtype) {
  Tensor buf;
  return compare_steps(dtype, 6, ScalarSgd{h}, [&](Tensor& p, const Tensor& g, int k) {
    if (!buf.defined()) buf = Tensor::zeros(p.shape(), dtype);
    sgd_update_(p, g, buf, k, h);
  });
}

}  // namespace

TEST_CASE("adam_update_ follows PyTorch's Adam and AdamW") {
  AdamHyper plain;
  plain.lr = 0.05;
  AdamHyper l2 = plain;
  l2.weight_decay = 0.1;
  l2.beta1 = 0.5;
  AdamHyper adamw = l2;
  adamw.decoupled = true;
  adamw.eps = 1e-3;
  for (const AdamHyper& h : {plain, l2, adamw}) {
    INFO("weight decay " << h.weight_decay << " decoupled " << h.decoupled);
    CHECK(compare_adam(h, DType::Float64) < 1e-13);
    CHECK(compare_adam(h, DType::Float32) < 1e-5);
  }
  // L2 and decoupled weight decay really differ.
  Tensor p1 = Tensor::full({1}, 2.0, DType::Float64), p2 = p1.clone();
  Tensor g = Tensor::full({1}, 0.5, DType::Float64);
  Tensor m1 = Tensor::zeros({1}, DType::Float64), v1 = m1.clone(), m2 = m1.clone(), v2 = m1.clone();
  adam_update_(p1, g, m1, v1, 1, l2);
  adam_update_(p2, g, m2, v2, 1, adamw);
  CHECK(std::abs(p1.item() - p2.item()) > 1e-4);
}

TEST_CASE("sgd_update_ follows PyTorch's SGD: plain, momentum, dampening, Nesterov, weight decay") {
  SgdHyper plain;
  plain.lr = 0.1;
  SgdHyper mom = plain;
  mom.momentum = 0.9;
  SgdHyper damp = mom;
  damp.dampening = 0.3;
  damp.weight_decay = 0.05;
  SgdHyper nest = mom;
  nest.nesterov = true;
  nest.weight_decay = 0.01;
  for (const SgdHyper& h : {plain, mom, damp, nest}) {
    INFO("momentum " << h.momentum << " dampening " << h.dampening << " nesterov " << h.nesterov);
    CHECK(compare_sgd(h, DType::Float64) < 1e-13);
    CHECK(compare_sgd(h, DType::Float32) < 1e-5);
  }
  // Without momentum the buffer may be undefined.
  Tensor p = Tensor::ones({2}, DType::Float64), g = Tensor::full({2}, 2.0, DType::Float64), none;
  sgd_update_(p, g, none, 1, plain);
  CHECK(p.to_vector() == std::vector<double>{0.8, 0.8});
}

TEST_CASE("Adam minimises a small quadratic") {
  // f(p) = sum(a (p - c)^2) with different curvatures a per element.
  Tensor a = Tensor::from_vector(std::vector<double>{0.5, 2.0, 10.0, 1.0}, {4}, DType::Float64);
  Tensor c = Tensor::from_vector(std::vector<double>{1.0, -2.0, 0.5, 3.0}, {4}, DType::Float64);
  Tensor p = Tensor::zeros({4}, DType::Float64).requires_grad_();
  Tensor m = Tensor::zeros({4}, DType::Float64), v = Tensor::zeros({4}, DType::Float64);
  AdamHyper h;
  h.lr = 0.05;
  const double f0 = sum(mul(a, square(sub(p, c)))).item();
  for (int k = 1; k <= 600; ++k) {
    p.zero_grad();
    sum(mul(a, square(sub(p, c)))).backward();
    adam_update_(p, p.grad(), m, v, k, h);
  }
  CHECK_FALSE(p.grad_fn());  // updates are never recorded
  const double f1 = sum(mul(a, square(sub(p, c)))).item();
  CHECK(f1 < 1e-4 * f0);
  auto pv = p.to_vector(), cv = c.to_vector();
  for (size_t i = 0; i < pv.size(); ++i) CHECK(pv[i] == doctest::Approx(cv[i]).epsilon(1e-2));
}

TEST_CASE("optimiser update errors name the op and the shapes") {
  Tensor p = Tensor::zeros({2, 3}), g = Tensor::zeros({3, 2}), m = Tensor::zeros({2, 3}), v = Tensor::zeros({2, 3});
  AdamHyper h;
  CHECK_THROWS_WITH_AS(adam_update_(p, g, m, v, 1, h),
                       doctest::Contains("adam_update_: gradient float32[3, 2] cpu does not match parameter float32[2, 3] cpu"),
                       pn::Error);
  Tensor g_ok = Tensor::zeros({2, 3});
  CHECK_THROWS_WITH_AS(adam_update_(p, g_ok, m, v, 0, h), doctest::Contains("step must count from 1"), pn::Error);
  Tensor v64 = Tensor::zeros({2, 3}, DType::Float64);
  CHECK_THROWS_WITH_AS(adam_update_(p, g_ok, m, v64, 1, h), doctest::Contains("dtype mismatch"), pn::Error);
  SgdHyper s;
  s.momentum = 0.9;
  Tensor none;
  CHECK_THROWS_WITH_AS(sgd_update_(p, g_ok, none, 1, s), doctest::Contains("sgd_update_: momentum buffer is undefined"),
                       pn::Error);
  s.nesterov = true;
  s.dampening = 0.1;
  CHECK_THROWS_WITH_AS(sgd_update_(p, g_ok, m, 1, s), doctest::Contains("Nesterov"), pn::Error);
}
