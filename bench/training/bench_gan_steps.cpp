// Benchmark: one training iteration (discriminator/critic step + generator step, Adam) of
// each GAN of the study, on the CPU or a CUDA device (`--device`, as run.device): pix2pix +
// PatchGAN (least squares + L1), SPADE + PatchGAN, and the lesion WGAN-GP (critic step with
// gradient penalty + generator step), at a small size and, with --paper, at the paper's
// sizes. Prints seconds per iteration. With --forms, each translator also runs in its plain
// form (pix2pix upsampling then convolving, SPADE's gamma and beta as two convolutions) beside
// the default exact rewrites, and a 3-D pix2pix (32x64x64) is added, where the polyphase
// upsampling convolution saves most (216 multiplications instead of 512).
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

// The label map and the image of a translator at grid `size` (2-D or 3-D), on the device.
std::pair<Tensor, Tensor> translation_data(const Shape& size, Generator& gen, Device device) {
  Shape l{1, 29}, r{1, 1};
  l.insert(l.end(), size.begin(), size.end());
  r.insert(r.end(), size.begin(), size.end());
  return {Tensor::rand(l, gen).to(device), Tensor::rand(r, gen).to(device)};
}

// pix2pix with and (--forms) without the polyphase upsampling convolution.
void pix2pix(const char* name, Pix2PixConfig pc, const Shape& size, bool forms, int reps, Device device) {
  for (bool poly : forms ? std::vector<bool>{true, false} : std::vector<bool>{true}) {
    Generator gen(2), aux(3);
    auto [labels, real] = translation_data(size, gen, device);
    pc.polyphase_upsampling = poly;
    Pix2PixGenerator p(pc, gen, aux);
    PatchGanConfig dc;
    dc.dims = pc.dims;
    if (pc.dims == 3) dc.filters = {16, 32, 64, 64};  // the discriminator's share kept small in 3-D
    PatchGan d(dc, gen, aux);
    p.to(device), d.to(device);
    const std::string label = std::string(name) + (forms ? (poly ? ", polyphase" : ", plain") : "");
    translation(label.c_str(), p, [&] { return p.forward(labels); }, d, labels, real, reps, device);
  }
}

// SPADE with its gamma / beta convolutions joint and (--forms) separate.
void spade(const char* name, SpadeConfig sc, bool forms, int reps, Device device) {
  for (bool joint : forms ? std::vector<bool>{true, false} : std::vector<bool>{true}) {
    Generator gen(2), aux(3);
    auto [labels, real] = translation_data(sc.out_size, gen, device);
    sc.joint_affine = joint;
    SpadeGenerator s(sc, gen);
    PatchGan d(PatchGanConfig{}, gen, aux);
    s.to(device), d.to(device);
    Tensor z = Tensor::randn({1, sc.z_dim}, gen).to(device);
    const std::string label = std::string(name) + (forms ? (joint ? ", joint" : ", separate") : "");
    translation(label.c_str(), s, [&] { return s.forward(z, labels); }, d, labels, real, reps, device);
  }
}

}  // namespace

int main(int argc, char** argv) {
  bool paper = false, forms = false;
  int reps = 3;
  std::string setting = "cpu";
  pn::bench::Args("bench_gan_steps")
      .flag("--paper", &paper)
      .flag("--forms", &forms)
      .option("--reps", &reps)
      .choice("--device", &setting, {"auto", "cpu", "cuda"})
      .parse(argc, argv);
  return bench::guarded_main("bench_gan_steps", [&] {
    const Device device = bench::bench_device(setting);
    std::printf("GAN training iterations (float32, %s, median of %d after one warm-up)\n", device.str().c_str(), reps);
    for (int64_t size : paper ? std::vector<int64_t>{32, 128} : std::vector<int64_t>{32}) {
      const bool full = size == 128;
      Pix2PixConfig pc = Pix2PixConfig::paper_2d();
      if (!full) pc.base_filters = 16, pc.depth = 4;
      pix2pix(full ? "pix2pix 2-D 128x128 (paper)" : "pix2pix 2-D 32x32, base 16, depth 4", pc, {size, size}, forms,
              reps, device);
      SpadeConfig sc;
      sc.out_size = {size, size};
      if (!full) sc.filters = {64, 32, 16}, sc.hidden = 32;
      spade(full ? "SPADE 2-D 128x128 (paper)" : "SPADE 2-D 32x32, blocks 64-32-16, hidden 32", sc, forms, reps, device);
    }
    if (forms) {
      Pix2PixConfig p3 = Pix2PixConfig::paper_3d();
      p3.base_filters = 16, p3.depth = 3;
      pix2pix("pix2pix 3-D 32x64x64, base 16, depth 3", p3, {32, 64, 64}, forms, reps, device);
    }
    LesionGanConfig small;
    small.start = {1, 2, 2}, small.gen_filters = {32, 16, 8, 8}, small.mask_size = {16, 32, 32};
    small.critic_filters = {8, 16, 32, 64, 128}, small.critic_dense = 128;
    wgan("lesion WGAN-GP 16x32x32", small, reps, device);
    if (paper) wgan("lesion WGAN-GP 32x128x128 (paper)", LesionGanConfig{}, std::max(1, reps / 2), device);
    return 0;
  });
}
