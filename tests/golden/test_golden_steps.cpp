// Whole optimisation steps against PyTorch: from the same weights and data, Penumbra's
// weights after the step(s) must match PyTorch's (relative error below 1e-4):
// the U-Net with soft Dice and Adam (2 steps); pix2pix generator + PatchGAN with the
// least-squares GAN loss + 10 x L1 (a discriminator step, then a generator step); the
// lesion WGAN's critic step with gradient penalty (weight 10), then its generator step.
// The GAN losses are the trainers' own (models/gan_losses.h), not copies.
#include <doctest/doctest.h>

#include "autograd/ops/loss.h"
#include "autograd/ops/softmax.h"
#include "golden_util.h"
#include "models/gan_losses.h"
#include "models/lesion_wgan.h"
#include "models/patchgan.h"
#include "models/pix2pix.h"
#include "models/unet.h"
#include "nn/optim.h"

using namespace pn;
using namespace pn::models;
using namespace pn::golden;

TEST_CASE("U-Net: two Adam steps on the soft Dice loss match PyTorch") {
  auto f = load_fixture("unet_adam_step");
  Generator gen(1);
  SegmentationUNet net({.dims = 3, .in_channels = 1, .classes = 2, .base_filters = 4, .depth = 2}, gen);
  load_weights(net, f, "before.");
  nn::Adam opt(net.named_parameters(), nn::AdamOptions{1e-3});
  Tensor x = get32(f, "x"), target = get32(f, "target");
  net.train();
  for (int s = 0; s < 2; ++s) {
    opt.zero_grad();
    soft_dice_loss(softmax(net.forward(x), 1), target, 1).backward();
    opt.step();
  }
  check_weights(net, f, "after.");
}

TEST_CASE("pix2pix + PatchGAN: one least-squares discriminator step and one generator step match PyTorch") {
  auto f = load_fixture("pix2pix_lsgan_step");
  Generator gen(2), aux(3);
  Pix2PixConfig gc;
  gc.label_channels = 5, gc.base_filters = 4, gc.max_filters = 32, gc.depth = 3, gc.dropout = 0;
  Pix2PixGenerator g(gc, gen, aux);
  PatchGanConfig dc;
  dc.label_channels = 5, dc.filters = {4, 8, 8};
  PatchGan d(dc, gen, aux);
  load_weights(g, f, "before.g.");
  load_weights(d, f, "before.d.");
  nn::Adam og(g.named_parameters(), nn::AdamOptions{2e-4, 0.5, 0.999});
  nn::Adam od(d.named_parameters(), nn::AdamOptions{2e-4, 0.5, 0.999});
  Tensor labels = get32(f, "labels"), real = get32(f, "real");
  // Discriminator: real pairs are real (1), generated pairs fake (0).
  od.zero_grad();
  Tensor fake = g.forward(labels).detach();
  Tensor loss_d = lsgan_discriminator_loss(d.forward(real, labels), d.forward(fake, labels));
  loss_d.backward();
  od.step();
  // Generator: fool the updated discriminator, plus 10 x L1 to the real image.
  og.zero_grad();
  fake = g.forward(labels);
  Tensor loss_g = translation_generator_loss(d.forward(fake, labels), fake, real, 10.0).loss;
  loss_g.backward();
  og.step();
  CHECK(rel_error(loss_d.reshape({1}), get(f, "loss_d")) < kTol);
  CHECK(rel_error(loss_g.reshape({1}), get(f, "loss_g")) < kTol);
  check_weights(d, f, "after.d.");
  check_weights(g, f, "after.g.");
}

TEST_CASE("lesion WGAN-GP: one critic step with gradient penalty and one generator step match PyTorch") {
  auto f = load_fixture("wgan_gp_step");
  Generator gen(4);
  LesionGanConfig c;
  c.z_dim = 8, c.start = {1, 2, 2}, c.gen_filters = {6, 4}, c.mask_size = {4, 8, 8};
  c.critic_filters = {4, 6, 8}, c.critic_dense = 16;
  LesionGenerator g(c, gen);
  LesionCritic k(c, gen);
  load_weights(g, f, "before.g.");
  load_weights(k, f, "before.c.");
  nn::Adam og(g.named_parameters(), nn::AdamOptions{2e-4, 0.5, 0.999});
  nn::Adam oc(k.named_parameters(), nn::AdamOptions{2e-4, 0.5, 0.999});
  Tensor z = get32(f, "z"), real = get32(f, "real"), e = get32(f, "eps").reshape({2, 1, 1, 1, 1});
  oc.zero_grad();
  Tensor fake = g.forward(z).detach();
  auto critic = [&k](const Tensor& x) { return k.forward(x); };
  Tensor loss_c = wgan_gp_critic_loss(critic, real, fake, e, 10.0).loss;
  loss_c.backward();
  oc.step();
  og.zero_grad();
  Tensor loss_g = wgan_generator_loss(k.forward(g.forward(z)));
  loss_g.backward();
  og.step();
  CHECK(rel_error(loss_c.reshape({1}), get(f, "loss_c")) < kTol);
  CHECK(rel_error(loss_g.reshape({1}), get(f, "loss_g")) < kTol);
  check_weights(k, f, "after.c.");
  check_weights(g, f, "after.g.");
}
