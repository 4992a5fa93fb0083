// One training step of each of the study's networks on the GPU (a real one in tests/gpu,
// the emulated one in tests/emu_program) against the same step on the CPU reference: same initial weights (moved with Module::to), same data, the study's
// losses (models/gan_losses.h for the GANs); the loss and every parameter's gradient must
// agree (float32, cuDNN/cuBLAS accumulation orders differ from OpenBLAS's: relative
// tolerance 1e-3 on the loss, 2e-3 on each gradient tensor relative to its largest value, or
// to 1e-4 of the model's largest gradient for tensors whose gradient is zero by construction). Gradients, not weights after
// an Adam step: Adam moves a weight by about ±lr whatever the gradient's size, so a
// near-zero gradient whose sign differs between the backends would look like a large error.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>

#include "autograd/cuda/cuda_backend.h"
#include "autograd/ops/loss.h"
#include "autograd/ops/softmax.h"
#include "kernels/cuda/library_options.h"
#include "models/gan_losses.h"
#include "models/lesion_wgan.h"
#include "models/patchgan.h"
#include "models/pix2pix.h"
#include "models/spade_generator.h"
#include "models/unet.h"

using namespace pn;
using namespace pn::models;

namespace {

double max_abs(const Tensor& t) {
  double m = 0;
  for (double v : t.to_vector()) m = std::max(m, std::abs(v));
  return m;
}

// max |a - b| relative to max |b|, or to `floor` when b is smaller: a gradient that is zero
// by construction (a bias followed by a normalisation) holds only rounding noise, whose
// relative differences mean nothing.
double rel_diff(const Tensor& a, const Tensor& b, double floor) {
  auto va = a.to_vector(), vb = b.to_vector();
  REQUIRE(va.size() == vb.size());
  double d = 0;
  for (size_t i = 0; i < va.size(); ++i) d = std::max(d, std::abs(va[i] - vb[i]));
  return d / std::max(max_abs(b), floor);
}

// Builds the model twice from the same seed, moves one to the GPU, runs step(model,
// device) once on each (it returns the loss after calling backward), and compares the
// losses and every parameter's gradient; with cuDNN's default and deterministic algorithms.
template <class M, class Make>
void compare_step_with(const char* name, Make make, const std::function<Tensor(M&, Device)>& step,
                       bool deterministic) {
  const std::string what = std::string(name) + (deterministic ? ", deterministic algorithms" : ", default algorithms");
  INFO(what);
  cuda::ScopedLibraryOptions options({deterministic, false});
  REQUIRE(cuda::install_cuda_backend());
  Generator g1(11), g2(11);
  auto cpu = make(g1), gpu = make(g2);
  gpu->to(Device::cuda());
  Tensor lc = step(*cpu, Device::cpu()), lg = step(*gpu, Device::cuda());
  CHECK(std::abs(lc.item() - lg.item()) <= 1e-3 * std::max(1.0, std::abs(lc.item())));
  auto pc = cpu->named_parameters(), pg = gpu->named_parameters();
  REQUIRE(pc.size() == pg.size());
  double largest = 0;  // over the whole model: the scale below which a gradient is noise
  for (auto& [n, p] : pc) largest = std::max(largest, max_abs(p.grad()));
  const double floor = 1e-4 * largest;
  for (size_t i = 0; i < pc.size(); ++i) {
    INFO(pc[i].first);
    REQUIRE(pc[i].second.grad().defined());
    REQUIRE(pg[i].second.grad().defined());
    CHECK(pg[i].second.device() == Device::cuda());
    CHECK(pg[i].second.grad().device() == Device::cuda());
    CHECK(rel_diff(pg[i].second.grad(), pc[i].second.grad(), floor) < 2e-3);
  }
}

template <class M, class Make>
void compare_step(const char* name, Make make, const std::function<Tensor(M&, Device)>& step) {
  for (bool deterministic : {false, true}) compare_step_with<M>(name, make, step, deterministic);
}

Tensor data(const Shape& s, uint64_t seed, Device d) {
  Generator g(seed);
  return Tensor::rand(s, g, DType::Float32, d);
}

}  // namespace

TEST_CASE("segmentation U-Net: soft Dice gradients, GPU vs CPU") {
  compare_step<SegmentationUNet>(
      "unet",
      [](Generator& g) {
        return std::make_shared<SegmentationUNet>(
            UNetConfig{.dims = 3, .in_channels = 1, .classes = 2, .base_filters = 4, .depth = 2}, g);
      },
      [](SegmentationUNet& m, Device d) {
        Tensor loss = soft_dice_loss(softmax(m.forward(data({2, 1, 8, 16, 16}, 1, d)), 1), data({2, 2, 8, 16, 16}, 2, d), 1);
        loss.backward();
        return loss;
      });
}

TEST_CASE("pix2pix generator (L1) and PatchGAN (LSGAN discriminator loss): gradients, GPU vs CPU") {
  Pix2PixConfig pc;
  pc.label_channels = 3, pc.base_filters = 4, pc.depth = 3, pc.dropout = 0;
  compare_step<Pix2PixGenerator>(
      "pix2pix", [pc](Generator& g) { return std::make_shared<Pix2PixGenerator>(pc, g, g); },
      [](Pix2PixGenerator& m, Device d) {
        Tensor fake = m.forward(data({1, 3, 16, 16}, 3, d));
        Tensor loss = models::l1_reconstruction_loss(fake, data({1, 1, 16, 16}, 4, d)) * 10.0;
        loss.backward();
        return loss;
      });
  PatchGanConfig dc;
  dc.label_channels = 3, dc.filters = {4, 8, 8};
  compare_step<PatchGan>(
      "patchgan", [dc](Generator& g) { return std::make_shared<PatchGan>(dc, g, g); },
      [](PatchGan& m, Device d) {
        Tensor labels = data({1, 3, 16, 16}, 6, d);
        Tensor loss = models::lsgan_discriminator_loss(m.forward(data({1, 1, 16, 16}, 5, d), labels),
                                                       m.forward(data({1, 1, 16, 16}, 12, d), labels));
        loss.backward();
        return loss;
      });
}

TEST_CASE("SPADE generator (L1) gradients, GPU vs CPU") {
  SpadeConfig sc;
  sc.out_size = {16, 16}, sc.z_dim = 8, sc.label_channels = 3, sc.filters = {8, 4}, sc.hidden = 4;
  compare_step<SpadeGenerator>(
      "spade", [sc](Generator& g) { return std::make_shared<SpadeGenerator>(sc, g); },
      [](SpadeGenerator& m, Device d) {
        Tensor loss = models::l1_reconstruction_loss(m.forward(data({1, 8}, 7, d), data({1, 3, 16, 16}, 8, d)),
                                                     data({1, 1, 16, 16}, 9, d));
        loss.backward();
        return loss;
      });
}

TEST_CASE("lesion WGAN critic loss with gradient penalty (double backward): gradients, GPU vs CPU") {
  LesionGanConfig c;
  c.z_dim = 8, c.start = {1, 2, 2}, c.gen_filters = {6, 4}, c.mask_size = {4, 8, 8};
  c.critic_filters = {4, 6, 8}, c.critic_dense = 16;
  compare_step<LesionCritic>(
      "critic", [c](Generator& g) { return std::make_shared<LesionCritic>(c, g); },
      [](LesionCritic& k, Device d) {
        Tensor loss = models::wgan_gp_critic_loss([&k](const Tensor& x) { return k.forward(x); },
                                                  data({2, 1, 4, 8, 8}, 10, d), data({2, 1, 4, 8, 8}, 11, d),
                                                  data({2, 1, 1, 1, 1}, 13, d), 10.0)
                          .loss;
        loss.backward();
        return loss;
      });
}
