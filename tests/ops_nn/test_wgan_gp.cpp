// The WGAN-GP gradient penalty end to end on a small critic (3-D conv stride 2, leaky
// ReLU 0.2, flatten, linear): penalty = mean_n((||d D(x_hat_n) / d x_hat_n||_2 - 1)^2) on
// interpolates x_hat = e real + (1 - e) fake, built with grad(create_graph = true). Its
// derivative w.r.t. the critic's weights, which goes through the backward of the conv, is
// checked by finite differences.
#include <cmath>

#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "autograd/ops/conv.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/linalg.h"
#include "autograd/ops/reduce.h"
#include "test_util.h"

using namespace pn;

namespace {

// w = {conv weight, conv bias, linear weight, linear bias}.
Tensor critic(const Tensor& x, const std::vector<Tensor>& w) {
  Tensor h = leaky_relu(conv(x, w[0], w[1], {2}, {1}), 0.2);
  return linear(h.flatten(1), w[2], w[3]);
}

Tensor gradient_penalty(const Tensor& x_hat_value, const std::vector<Tensor>& w) {
  // The inner gradient needs a graph even where the caller runs under NoGrad (gradcheck's
  // finite differences do): the penalty is defined through it.
  GradModeGuard on(true);
  Tensor x_hat = x_hat_value.detach().requires_grad_();
  Tensor d = critic(x_hat, w);
  Tensor g = grad({sum(d)}, {x_hat}, {}, true)[0];  // samples are independent: sum is fine
  Tensor norm = sqrt(sum(square(g), {1, 2, 3, 4}));  // per sample [N]
  return mean(square(add_scalar(norm, -1.0)));
}

}  // namespace

TEST_CASE("WGAN-GP penalty: d(penalty)/d(critic weights) matches finite differences") {
  Generator gen(51);
  const int64_t n = 2, c_out = 3;
  Tensor real = test::rand_input({n, 1, 5, 5, 5}, gen, 1.0, 0.0, false);
  Tensor fake = test::rand_input({n, 1, 5, 5, 5}, gen, 1.0, 0.0, false);
  Tensor e = Tensor::rand({n, 1, 1, 1, 1}, gen, DType::Float64);
  Tensor x_hat = add(mul(e, real), mul(rsub_scalar(1.0, e), fake));
  // 5^3 input, kernel 3, stride 2, padding 1: a 3^3 output per channel.
  std::vector<Tensor> w = {test::rand_input({c_out, 1, 3, 3, 3}, gen, 0.4), test::rand_input({c_out}, gen, 0.1),
                           test::rand_input({1, c_out * 27}, gen, 0.3), test::rand_input({1}, gen, 0.1)};
  TensorFn penalty = [x_hat](const std::vector<Tensor>& in) { return gradient_penalty(x_hat, in); };

  // The penalty is a real function of the weights: non-zero, and its gradient reaches the
  // conv and linear weights (but not the linear bias, which cannot move d D / d x).
  Tensor p = penalty(w);
  CHECK(p.item() > 0);
  p.backward();
  CHECK(test::max_abs_diff(w[0].grad(), Tensor::zeros(w[0].shape(), DType::Float64)) > 1e-3);
  CHECK(test::max_abs_diff(w[2].grad(), Tensor::zeros(w[2].shape(), DType::Float64)) > 1e-3);
  for (auto& t : w) t.zero_grad();

  CHECK_GRADCHECK(penalty, w);
}

TEST_CASE("WGAN-GP: the input gradient the penalty uses matches finite differences") {
  Generator gen(52);
  Tensor x = test::rand_input({2, 1, 5, 5, 5}, gen);
  std::vector<Tensor> w = {test::rand_input({2, 1, 3, 3, 3}, gen, 0.4, 0.0, false),
                           test::rand_input({2}, gen, 0.1, 0.0, false),
                           test::rand_input({1, 54}, gen, 0.3, 0.0, false), test::rand_input({1}, gen, 0.1, 0.0, false)};
  TensorFn d = [w](const std::vector<Tensor>& in) { return critic(in[0], w); };
  CHECK_GRADCHECK(d, std::vector<Tensor>{x});
}
