#include "models/gan_losses.h"

#include <cmath>
#include <numeric>
#include <vector>

#include "autograd/engine.h"
#include "autograd/error.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/loss.h"
#include "autograd/ops/reduce.h"

namespace pn::models {

namespace {
// Every axis but the batch axis: what a per-sample sum reduces over.
std::vector<int> sample_axes(const Tensor& x) {
  std::vector<int> axes(static_cast<size_t>(x.dim() - 1));
  std::iota(axes.begin(), axes.end(), 1);
  return axes;
}
}  // namespace

Tensor lsgan_discriminator_loss(const Tensor& real_scores, const Tensor& fake_scores) {
  return mul_scalar(mean(square(add_scalar(real_scores, -1.0))) + mean(square(fake_scores)), 0.5);
}

Tensor lsgan_generator_loss(const Tensor& fake_scores) { return mean(square(add_scalar(fake_scores, -1.0))); }

Tensor l1_reconstruction_loss(const Tensor& generated, const Tensor& real) { return l1_loss(generated, real); }

Tensor wgan_critic_loss(const Tensor& real_scores, const Tensor& fake_scores) {
  return mean(fake_scores) - mean(real_scores);
}

Tensor wgan_generator_loss(const Tensor& fake_scores) { return neg(mean(fake_scores)); }

Tensor mask_presence_loss(const Tensor& masks, double threshold, double min_voxels) {
  constexpr double kSharpness = 10.0;  // k of the formula (gan_losses.h)
  PN_CHECK(masks.dim() >= 2, "mask_presence_loss: masks {} need a batch axis and at least one more", masks.desc());
  PN_CHECK(min_voxels > 0, "mask_presence_loss: min_voxels {} must be > 0", min_voxels);
  const Tensor soft_volume = sum(sigmoid(mul_scalar(add_scalar(masks, -threshold), kSharpness)), sample_axes(masks));
  return mean(relu(rsub_scalar(1.0, mul_scalar(soft_volume, 1.0 / min_voxels))));
}

Tensor mask_peak_presence_loss(const Tensor& masks, double threshold) {
  constexpr double kBeta = 20.0, kMargin = 0.5;  // β and δ of the formula (gan_losses.h)
  PN_CHECK(masks.dim() >= 2, "mask_peak_presence_loss: masks {} need a batch axis and at least one more", masks.desc());
  const Tensor soft_max =
      add_scalar(mul_scalar(log(sum(exp(mul_scalar(add_scalar(masks, -1.0), kBeta)), sample_axes(masks))), 1.0 / kBeta),
                 1.0);
  return mean(relu(rsub_scalar(threshold + kMargin, soft_max)));
}

Tensor wgan_interpolate(const Tensor& real, const Tensor& fake, const Tensor& eps) {
  PN_CHECK(real.shape() == fake.shape(), "wgan_interpolate: real {} and fake {} differ in shape", real.desc(),
           fake.desc());
  PN_CHECK(eps.dim() == real.dim() && eps.size(0) == real.size(0) && eps.numel() == eps.size(0),
           "wgan_interpolate: eps {} must hold one weight per sample of {} ([N, 1, 1, ...])", eps.desc(), real.desc());
  return (eps * real + rsub_scalar(1.0, eps) * fake).detach();
}

Tensor critic_input_gradient(const Critic& critic, const Tensor& xhat, double inner_scale) {
  PN_CHECK(inner_scale > 0 && std::isfinite(inner_scale), "gradient_penalty: inner_scale {} must be finite and > 0",
           inner_scale);
  Tensor x = xhat.detach().requires_grad_();
  Tensor total = sum(critic(x));
  if (inner_scale == 1.0) return grad({total}, {x}, {}, /*create_graph=*/true)[0];
  const Tensor scaled = grad({mul_scalar(total, inner_scale)}, {x}, {}, /*create_graph=*/true)[0];
  return mul_scalar(scaled, 1.0 / inner_scale);  // unscaled in x's dtype (float32 or float64)
}

Tensor gradient_penalty(const Critic& critic, const Tensor& xhat, double inner_scale) {
  PN_CHECK(xhat.dim() >= 2, "gradient_penalty: x̂ {} needs a batch axis and at least one more", xhat.desc());
  const Tensor g = critic_input_gradient(critic, xhat, inner_scale);
  Tensor norm = sqrt(add_scalar(sum(square(g), sample_axes(xhat)), 1e-12));
  return mean(square(add_scalar(norm, -1.0)));
}

WganGpCriticLoss wgan_gp_critic_loss(const Critic& critic, const Tensor& real, const Tensor& fake, const Tensor& eps,
                                     double gp_weight, double inner_scale) {
  WganGpCriticLoss out;
  out.penalty = gradient_penalty(critic, wgan_interpolate(real, fake, eps), inner_scale);
  Tensor critic_loss = wgan_critic_loss(critic(real), critic(fake));
  out.loss = critic_loss + mul_scalar(out.penalty, gp_weight);
  out.wasserstein = neg(critic_loss.detach());
  return out;
}

TranslationGeneratorLoss translation_generator_loss(const Tensor& fake_scores, const Tensor& generated,
                                                    const Tensor& real, double l1_weight) {
  TranslationGeneratorLoss out;
  out.gan = lsgan_generator_loss(fake_scores);
  out.l1 = l1_reconstruction_loss(generated, real);
  out.loss = out.gan + mul_scalar(out.l1, l1_weight);
  return out;
}

}  // namespace pn::models
