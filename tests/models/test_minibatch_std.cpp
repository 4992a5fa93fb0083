// The lesion critic's minibatch standard-deviation feature (models/lesion_wgan.h,
// LesionGanConfig::minibatch_std): off, the critic is the paper's (its parameters and a
// pinned output); on, a sample's score depends on the rest of the batch; the feature's
// value on a hand-computed batch, its first and second derivatives against finite
// differences (the gradient penalty differentiates through it twice), and its error.
#include <doctest/doctest.h>

#include "autograd/grad_mode.h"
#include "autograd/gradcheck.h"
#include "autograd/ops/elementwise.h"
#include "models/lesion_wgan.h"
#include "test_util.h"

using namespace pn;
using namespace pn::models;

namespace {

LesionGanConfig tiny_critic(bool minibatch_std) {
  LesionGanConfig c;
  c.mask_size = {3, 6, 5}, c.critic_filters = {2, 3}, c.critic_dense = 4;
  c.minibatch_std = minibatch_std;
  return c;
}

// Weights of standard deviation 0.3 instead of the init's 0.02, so that scores are O(1) and
// a change in them is not lost in rounding.
void widen_weights(LesionCritic& k, uint64_t seed) {
  Generator g(seed);
  NoGrad no_grad;
  for (auto& [name, p] : k.named_parameters()) p.copy_(mul_scalar(Tensor::randn(p.shape(), g), 0.3));
}

}  // namespace

TEST_CASE("minibatch std off: the critic's parameters and output are the paper's") {
  Generator gen(21);
  LesionCritic k(tiny_critic(false), gen);
  // conv5 1->2 and 2->3 with bias; the grid 3x6x5 -> 2x3x3 -> 1x2x2: 12 features to the dense.
  const int64_t convs = (125 * 1 + 1) * 2 + (125 * 2 + 1) * 3, flat = 3 * 1 * 2 * 2;
  CHECK(k.num_parameters() == convs + (flat + 1) * 4 + (4 + 1) * 1);
  const auto params = k.named_parameters();
  REQUIRE(params.size() == 8);
  CHECK(params[4].first == "dense.weight");
  CHECK(params[4].second.shape() == Shape{4, flat});
  // Its output for fixed weights and input, pinned from the critic before the option
  // existed (models/lesion_wgan.cpp of main before this change gave the same digits).
  widen_weights(k, 3);
  Generator data(5);
  const auto y = k.forward(Tensor::rand({2, 1, 3, 6, 5}, data)).to_vector();
  CHECK(y[0] == doctest::Approx(0.00857257843).epsilon(1e-6));
  CHECK(y[1] == doctest::Approx(-0.03168950975).epsilon(1e-6));
}

TEST_CASE("minibatch std on: one more dense input, and sample 0's score sees sample 1") {
  Generator gen_off(21), gen_on(21);
  LesionCritic off(tiny_critic(false), gen_off), on(tiny_critic(true), gen_on);
  CHECK(on.num_parameters() == off.num_parameters() + 4);  // one dense input column
  CHECK(on.describe().find("minibatch std") != std::string::npos);
  widen_weights(off, 3), widen_weights(on, 3);
  Generator data(5);
  Tensor a = Tensor::rand({3, 1, 3, 6, 5}, data);
  Tensor b = a.clone();
  auto v = b.to_vector();
  for (size_t i = 90; i < 180; ++i) v[i] = 1.0 - v[i];  // sample 1 only (90 voxels each)
  b = Tensor::from_vector(v, b.shape(), b.dtype());
  CHECK(off.forward(a).to_vector()[0] == off.forward(b).to_vector()[0]);  // per sample, as the paper
  const double change = std::abs(on.forward(a).to_vector()[0] - on.forward(b).to_vector()[0]);
  CHECK(change > 1e-3);
  CHECK_THROWS_WITH_AS(on.forward(Tensor::rand({1, 1, 3, 6, 5}, data)), doctest::Contains("maskgan.batch >= 2"), Error);
}

TEST_CASE("append_minibatch_std: the value on a hand-computed batch, first and second derivatives") {
  // Columns (1, 3) and (2, 6): biased standard deviations 1 and 2, mean 1.5.
  Tensor h = Tensor::from_vector({1, 2, 3, 6}, {2, 2}, DType::Float64);
  const auto y = append_minibatch_std(h).to_vector();
  REQUIRE(y.size() == 6);
  CHECK(y[0] == 1);
  CHECK(y[4] == 6);
  CHECK(y[2] == doctest::Approx(1.5).epsilon(1e-7));
  CHECK(y[5] == doctest::Approx(1.5).epsilon(1e-7));
  Generator gen(8);
  Tensor x = Tensor::randn({3, 4}, gen, DType::Float64).requires_grad_();
  auto f = [](const std::vector<Tensor>& in) { return append_minibatch_std(in[0]); };
  CHECK_GRADCHECK(f, std::vector<Tensor>{x});
  CHECK_GRADGRADCHECK(f, std::vector<Tensor>{x});
}
