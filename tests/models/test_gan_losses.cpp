// The GAN losses (models/gan_losses.h) against their formulas on hand-computed values, and
// the gradient penalty's double backward against its closed form for a linear critic, and the
// mask presence penalty on empty and non-empty masks, with its finite-difference check.
#include <doctest/doctest.h>

#include <cmath>

#include "autograd/gradcheck.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/reduce.h"
#include "models/gan_losses.h"

using namespace pn;
using namespace pn::models;

namespace {
Tensor vec(const std::vector<double>& v, const Shape& s) { return Tensor::from_vector(v, s, DType::Float64); }
}  // namespace

TEST_CASE("least-squares GAN losses and L1: the formulas") {
  Tensor real = vec({1.5, 0.5, 1.0, 0.0}, {2, 1, 2}), fake = vec({0.25, -0.5}, {2, 1});
  // ½ [mean((r − 1)²) + mean(f²)] = ½ [(0.25 + 0.25 + 0 + 1) / 4 + (0.0625 + 0.25) / 2]
  CHECK(lsgan_discriminator_loss(real, fake).item() == doctest::Approx(0.5 * (1.5 / 4 + 0.3125 / 2)));
  // mean((f − 1)²) = (0.5625 + 2.25) / 2
  CHECK(lsgan_generator_loss(fake).item() == doctest::Approx(1.40625));
  CHECK(l1_reconstruction_loss(vec({1, -2, 3}, {3}), vec({0, 0, 1}, {3})).item() == doctest::Approx(5.0 / 3));
  TranslationGeneratorLoss t = translation_generator_loss(fake, vec({1, -2, 3}, {3}), vec({0, 0, 1}, {3}), 10.0);
  CHECK(t.gan.item() == doctest::Approx(1.40625));
  CHECK(t.l1.item() == doctest::Approx(5.0 / 3));
  CHECK(t.loss.item() == doctest::Approx(1.40625 + 50.0 / 3));
}

TEST_CASE("WGAN losses and the interpolation: the formulas") {
  Tensor real = vec({2, 4}, {2, 1}), fake = vec({-1, 0, 1}, {3, 1});
  CHECK(wgan_critic_loss(real, fake).item() == doctest::Approx(0.0 - 3.0));  // mean(fake) − mean(real)
  CHECK(wgan_generator_loss(fake).item() == doctest::Approx(0.0));
  CHECK(wgan_generator_loss(vec({1, 2}, {2})).item() == doctest::Approx(-1.5));
  Tensor x = vec({1, 1, 2, 2}, {2, 2}), g = vec({3, 3, 0, 0}, {2, 2}), eps = vec({0.25, 1}, {2, 1});
  CHECK(wgan_interpolate(x, g, eps).to_vector() == std::vector<double>{2.5, 2.5, 2, 2});
  const Tensor per_voxel = vec({0.5, 0.5, 0.5, 0.5}, {2, 2});
  CHECK_THROWS_WITH_AS(wgan_interpolate(x, g, per_voxel), doctest::Contains("one weight per sample"), Error);
}

TEST_CASE("gradient penalty of a linear critic: (‖w‖ − 1)², and its gradient in w by double backward") {
  // C(x)_n = Σ_v w_v x_nv: ∇_x C = w for every sample, so GP = (‖w‖ − 1)² and
  // dGP/dw = 2 (‖w‖ − 1) w / ‖w‖, which only a backward through the gradient gives.
  Tensor w = vec({0.6, -1.2, 2.0, 0.4}, {1, 1, 2, 2}).requires_grad_();
  Critic critic = [&w](const Tensor& x) { return sum(x * w, {1, 2, 3}); };
  Tensor xhat = vec({1, 2, 3, 4, -1, 0, 5, 2, 0, 0, 1, 1}, {3, 1, 2, 2});
  Tensor gp = gradient_penalty(critic, xhat);
  const double norm = std::sqrt(0.36 + 1.44 + 4.0 + 0.16);
  CHECK(gp.item() == doctest::Approx((norm - 1) * (norm - 1)).epsilon(1e-9));
  gp.backward();
  const auto dw = w.grad().to_vector(), wv = w.to_vector();
  for (size_t i = 0; i < wv.size(); ++i) CHECK(dw[i] == doctest::Approx(2 * (norm - 1) * wv[i] / norm).epsilon(1e-9));

  // The WGAN-GP critic objective: L_C + λ GP, with W = −L_C reported.
  Tensor real = vec({1, 0, 0, 0, 0, 1, 0, 0}, {2, 1, 2, 2}), fake = vec({0, 0, 1, 0, 0, 0, 0, 1}, {2, 1, 2, 2});
  WganGpCriticLoss c = wgan_gp_critic_loss(critic, real, fake, vec({0.5, 0.25}, {2, 1, 1, 1}), 10.0);
  const double c_real = (0.6 - 1.2) / 2, c_fake = (2.0 + 0.4) / 2;
  CHECK(c.wasserstein.item() == doctest::Approx(c_real - c_fake));
  CHECK(c.penalty.item() == doctest::Approx((norm - 1) * (norm - 1)).epsilon(1e-9));
  CHECK(c.loss.item() == doctest::Approx(c_fake - c_real + 10 * (norm - 1) * (norm - 1)));
}

TEST_CASE("mask presence: max(0, 1 − S/m) per sample, zero for non-empty masks, a gradient for empty ones") {
  auto sigma = [](double z) { return 1 / (1 + std::exp(-z)); };
  // Sample 0 is empty (every voxel well below t = 0), sample 1 has two voxels at +1.
  Tensor masks = vec({-1, -0.5, -0.8, -1, 1, 1, -1, -1}, {2, 1, 2, 2}).requires_grad_();
  const double s0 = 2 * sigma(-10) + sigma(-5) + sigma(-8), s1 = 2 * sigma(10) + 2 * sigma(-10);
  Tensor loss = mask_presence_loss(masks, 0.0, 2.0);
  // The mean over the two samples; sample 1's soft volume is σ(10) + σ(−10) twice = 2 = m.
  const double expected = (std::max(0.0, 1 - s0 / 2) + std::max(0.0, 1 - s1 / 2)) / 2;
  CHECK(loss.item() == doctest::Approx(expected).epsilon(1e-12));
  loss.backward();
  const auto g = masks.grad().to_vector();
  // dL/dx_v = −k σ′(k x_v) / (m · N) in the empty sample: largest at its highest voxel (−0.5).
  CHECK(g[1] == doctest::Approx(-10 * sigma(-5) * (1 - sigma(-5)) / 4).epsilon(1e-9));
  CHECK(g[1] < g[2]);
  CHECK(g[2] < g[0]);
  CHECK(g[0] < 0);
  // A sample well above m voxels is left to the critic: no gradient at all.
  Tensor big = vec({1, 1, 1, -1}, {1, 1, 2, 2}).requires_grad_();
  mask_presence_loss(big, 0.0, 2.0).backward();
  for (double v : big.grad().to_vector()) CHECK(v == 0.0);
  CHECK(mask_presence_loss(big, 0.0, 2.0).item() == 0.0);
  // The threshold moves with maskgan.threshold: at t = 1.5 the same mask is empty again.
  CHECK(mask_presence_loss(big, 1.5, 2.0).item() > 0.9);
  CHECK_THROWS_WITH_AS(mask_presence_loss(big, 0.0, 0.0), doctest::Contains("min_voxels"), Error);

  // Finite differences in float64 (a mask between empty and m voxels, so the hinge is active).
  Tensor x = vec({-0.3, 0.1, -0.2, -0.6, 0.05, -0.1, -0.4, -0.9}, {2, 1, 2, 2}).requires_grad_();
  const GradcheckResult r = gradcheck([](const std::vector<Tensor>& in) { return mask_presence_loss(in[0], 0.0, 3.0); }, {x});
  CHECK_MESSAGE(r.ok, r.message);
}

TEST_CASE("mask presence on the peak: max(0, t + 0.5 − soft max) per sample, its push on the strongest voxels") {
  // M = 1 + log Σ exp(20 (x − 1)) / 20, computed here directly.
  auto soft_max = [](std::vector<double> x) {
    double s = 0;
    for (double v : x) s += std::exp(20 * (v - 1));
    return 1 + std::log(s) / 20;
  };
  // Sample 0 is empty (peak −0.2), sample 1 has a clear peak (0.9 > t + 0.5).
  Tensor masks = vec({-1, -0.2, -0.3, -1, 0.9, -1, -1, -1}, {2, 1, 2, 2}).requires_grad_();
  const double m0 = soft_max({-1, -0.2, -0.3, -1}), m1 = soft_max({0.9, -1, -1, -1});
  CHECK(m1 > 0.5);
  CHECK(m0 == doctest::Approx(-0.2).epsilon(0.1));  // within ln(4)/20 of the true max
  Tensor loss = mask_peak_presence_loss(masks, 0.0);
  CHECK(loss.item() == doctest::Approx((0.5 - m0) / 2).epsilon(1e-12));
  loss.backward();
  const auto g = masks.grad().to_vector();
  // dL/dx_v = −softmax(20 x)_v / N in the empty sample: nearly all of it on its peak.
  const double z = std::exp(20 * -0.2) + std::exp(20 * -0.3) + 2 * std::exp(20 * -1.0);
  CHECK(g[1] == doctest::Approx(-std::exp(20 * -0.2) / z / 2).epsilon(1e-9));
  CHECK(g[1] < g[2]);
  CHECK(g[2] < g[0]);
  CHECK(g[1] < -0.4);
  for (size_t v = 4; v < 8; ++v) CHECK(g[v] == 0.0);  // a clear peak is left to the critic
  // The threshold moves the bar: at t = 0.5 sample 1 is short of its margin too.
  CHECK(mask_peak_presence_loss(masks, 0.5).item() > mask_peak_presence_loss(masks, 0.0).item());
  CHECK_THROWS_WITH_AS(mask_peak_presence_loss(vec({1, 2}, {2}), 0.0), doctest::Contains("batch axis"), Error);

  Tensor x = vec({-0.3, 0.1, -0.2, -0.6, 0.05, -0.1, -0.4, -0.9}, {2, 1, 2, 2}).requires_grad_();
  const GradcheckResult r = gradcheck([](const std::vector<Tensor>& in) { return mask_peak_presence_loss(in[0], 0.0); }, {x});
  CHECK_MESSAGE(r.ok, r.message);
}
