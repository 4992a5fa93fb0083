// Benchmark: one training iteration (discriminator/critic step + generator step, Adam) of
// each GAN of the study, on the CPU or a CUDA device (`--device`, as run.device): pix2pix +
// PatchGAN (least squares + L1), SPADE + PatchGAN, and the lesion WGAN-GP (critic step with
// gradient penalty + generator step), at a small size and, with --paper, at the paper's
// sizes. Prints seconds per iteration.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "bench/bench_device.h"
#include "bench/bench_util.h"
#include "models/gan_losses.h"
#include "models/lesion_wgan.h"
#include "models/patchgan.h"
#include "models/pix2pix.h"
#include "models/spade_generator.h"
#include "nn/optim.h"

using namespace pn;
using namespace pn::models;
using pn::bench::Clock;

namespace {

using bench::median_device_seconds;

nn::AdamOptions gan_adam() { return nn::AdamOptions{2e-4, 0.5, 0.999}; }

// One LSGAN + L1 iteration of a translator (image from labels, optionally z) against a PatchGAN.
void translation(const char* name, nn::Module& g, const std::function<Tensor()>& generate, PatchGan& d,
                 const Tensor& labels, const Tensor& real, int reps, Device device) {
  nn::Adam og(g.named_parameters(), gan_adam()), od(d.named_parameters(), gan_adam());
  auto step = [&] {
    od.zero_grad();
    Tensor fake = generate().detach();
    lsgan_discriminator_loss(d.forward(real, labels), d.forward(fake, labels)).backward();
    od.step();
    og.zero_grad();
    fake = generate();
    translation_generator_loss(d.forward(fake, labels), fake, real, 10.0).loss.backward();
    og.step();
  };
  std::printf("%-52s %8.3f s / iteration (batch %lld)\n", name, median_device_seconds(device, step, reps), (long long)real.size(0));
  std::fflush(stdout);
}

void wgan(const char* name, const LesionGanConfig& c, int reps, Device device) {
  Generator gen(1);
  LesionGenerator g(c, gen);
  LesionCritic k(c, gen);
  g.to(device), k.to(device);  // before the optimisers: they keep the parameters' handles
  nn::Adam og(g.named_parameters(), gan_adam()), ok(k.named_parameters(), gan_adam());
  Shape ms{1, 1, c.mask_size[0], c.mask_size[1], c.mask_size[2]};
  Tensor real = Tensor::rand(ms, gen).to(device), z = Tensor::randn({1, c.z_dim}, gen).to(device);
  auto step = [&] {
    ok.zero_grad();
    Tensor fake = g.forward(z).detach();
    Tensor e = Tensor::rand({1, 1, 1, 1, 1}, gen).to(device);
    wgan_gp_critic_loss([&k](const Tensor& x) { return k.forward(x); }, real, fake, e, 10.0).loss.backward();
    ok.step();
    og.zero_grad();
    wgan_generator_loss(k.forward(g.forward(z))).backward();
    og.step();
  };
  std::printf("%-52s %8.3f s / iteration (batch 1)\n", name, median_device_seconds(device, step, reps));
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  bool paper = false;
  int reps = 3;
  std::string setting = "cpu";
  pn::bench::Args("bench_gan_steps")
      .flag("--paper", &paper)
      .option("--reps", &reps)
      .choice("--device", &setting, {"auto", "cpu", "cuda"})
      .parse(argc, argv);
  return bench::guarded_main("bench_gan_steps", [&] {
    const Device device = bench::bench_device(setting);
    std::printf("GAN training iterations (float32, %s, median of %d after one warm-up)\n", device.str().c_str(), reps);
    Generator gen(2), aux(3);
    for (int64_t size : paper ? std::vector<int64_t>{32, 128} : std::vector<int64_t>{32}) {
      const bool full = size == 128;
      Tensor labels = Tensor::rand({1, 29, size, size}, gen).to(device);
      Tensor real = Tensor::rand({1, 1, size, size}, gen).to(device);
      Pix2PixConfig pc = Pix2PixConfig::paper_2d();
      if (!full) pc.base_filters = 16, pc.depth = 4;
      Pix2PixGenerator p(pc, gen, aux);
      PatchGan d(PatchGanConfig{}, gen, aux);
      p.to(device), d.to(device);
      translation(full ? "pix2pix 2-D 128x128 (paper)" : "pix2pix 2-D 32x32, base 16, depth 4", p,
                  [&] { return p.forward(labels); }, d, labels, real, reps, device);
      SpadeConfig sc;
      sc.out_size = {size, size};
      if (!full) sc.filters = {64, 32, 16}, sc.hidden = 32;
      SpadeGenerator s(sc, gen);
      s.to(device);
      Tensor z = Tensor::randn({1, sc.z_dim}, gen).to(device);
      translation(full ? "SPADE 2-D 128x128 (paper)" : "SPADE 2-D 32x32, blocks 64-32-16, hidden 32", s,
                  [&] { return s.forward(z, labels); }, d, labels, real, reps, device);
    }
    LesionGanConfig small;
    small.start = {1, 2, 2}, small.gen_filters = {32, 16, 8, 8}, small.mask_size = {16, 32, 32};
    small.critic_filters = {8, 16, 32, 64, 128}, small.critic_dense = 128;
    wgan("lesion WGAN-GP 16x32x32", small, reps, device);
    if (paper) wgan("lesion WGAN-GP 32x128x128 (paper)", LesionGanConfig{}, std::max(1, reps / 2), device);
    return 0;
  });
}
