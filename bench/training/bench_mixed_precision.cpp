// Benchmark: float32 against mixed precision (autograd/autocast.h) on the CPU, in one run
// with the precisions' repeats interleaved (so that load from other programs falls on all
// of them alike), printing the median time and the peak tensor memory a call adds (the
// most live bytes of tensor storage during it above those live before it:
// autograd/cpu_block_cache.h; oneDNN's and the widening paths' work buffers are not
// tensors and not counted) of:
//   * a U-Net training step (forward and Dice + cross-entropy loss under autocast,
//     backward, Adam), medium size by default, the paper's with --paper;
//   * the paper's first-level 3-D convolution, 32 -> 32 channels, 3x3x3, at 32x128x128:
//     forward, and forward + both backward passes, on float32 tensors and on bfloat16 ones.
//   * with --gans, one training iteration of the GANs whose activations stay 16-bit between
//     blocks (autograd/autocast.h rule 2): pix2pix (2-D, the paper's 128x128, depth 6) against
//     its PatchGAN (least squares + L1), SPADE (2-D, the paper's 128x128) against the same
//     PatchGAN, and the lesion WGAN-GP (critic step with the
//     penalty's double backward, then generator step; and the generator step alone) at 16x64x64.
// --fp16 adds float16 (computed by widening to float32 on this CPU: slower, by design).
#include <algorithm>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "autograd/autocast.h"
#include "autograd/cpu_block_cache.h"
#include "autograd/ops/conv.h"
#include "autograd/ops/reduce.h"
#include "bench/bench_util.h"
#include "kernels/cpu/conv.h"
#include "kernels/cpu/conv_dnnl.h"
#include "models/gan_losses.h"
#include "models/lesion_wgan.h"
#include "models/patchgan.h"
#include "models/pix2pix.h"
#include "models/seg_losses.h"
#include "models/spade_generator.h"
#include "models/unet.h"
#include "nn/optim.h"

using namespace pn;

namespace {

struct Measured {
  std::vector<double> seconds;
  size_t peak_bytes = 0;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Runs every case once as a warm-up, then `reps` rounds of every case in turn.
std::vector<Measured> interleaved(const std::vector<std::function<void()>>& cases, int reps) {
  std::vector<Measured> m(cases.size());
  for (const auto& c : cases) c();
  for (int r = 0; r < reps; ++r)
    for (size_t i = 0; i < cases.size(); ++i) {
      cpu_block_reset_peak();
      const size_t before = cpu_block_cache_stats().live_bytes;
      const auto t0 = bench::Clock::now();
      cases[i]();
      m[i].seconds.push_back(bench::seconds_since(t0));
      m[i].peak_bytes = std::max(m[i].peak_bytes, cpu_block_cache_stats().peak_live_bytes - before);
    }
  return m;
}

void report(const std::string& what, const std::vector<std::string>& names, const std::vector<Measured>& m) {
  const double base = median(m[0].seconds);
  for (size_t i = 0; i < m.size(); ++i)
    std::printf("%-44s %-5s %9.3f s  (x%5.2f vs fp32)  peak added %8.1f MiB\n", i == 0 ? what.c_str() : "",
                names[i].c_str(), median(m[i].seconds), base / median(m[i].seconds),
                static_cast<double>(m[i].peak_bytes) / (1024.0 * 1024.0));
  std::fflush(stdout);
}

// One U-Net (same weights for every precision) and its optimiser; step(p) trains once.
struct UNetBench {
  Generator gen{1};
  models::SegmentationUNet net;
  nn::Adam opt;
  Tensor x, mask;
  UNetBench(const models::UNetConfig& cfg, const Shape& input)
      : net(cfg, gen), opt(net.named_parameters(), nn::AdamOptions{1e-6}) {
    x = Tensor::randn(input, gen);
    Shape ms = input;
    ms[1] = 1;
    mask = Tensor::zeros(ms);
    net.train();
  }
  void step(Precision p) {
    opt.zero_grad();
    Tensor loss;
    {
      AutocastScope mixed(p);
      loss = models::segmentation_loss(models::SegLoss::DiceCe, net.forward(x), mask);
    }
    loss.backward();
    opt.step();
  }
};

void unet_step(const char* what, const models::UNetConfig& cfg, const Shape& input, const std::vector<Precision>& ps,
               int reps) {
  UNetBench b(cfg, input);
  std::vector<std::function<void()>> cases;
  std::vector<std::string> names;
  for (Precision p : ps) {
    cases.push_back([&b, p] { b.step(p); });
    names.push_back(precision_name(p));
  }
  report(what, names, interleaved(cases, reps));
}

// The first-level convolution: fwd only, or fwd + backward (input and weight gradients).
void conv_level(const std::vector<Precision>& ps, int reps) {
  Generator gen(2);
  const Tensor x32 = Tensor::randn({1, 32, 32, 128, 128}, gen), w32 = Tensor::randn({32, 32, 3, 3, 3}, gen);
  for (bool with_backward : {false, true}) {
    std::vector<std::function<void()>> cases;
    std::vector<std::string> names;
    for (Precision p : ps) {
      const DType t = autocast_dtype(p);
      Tensor x = x32.to(t).detach().requires_grad_(with_backward), w = w32.to(t).detach().requires_grad_(with_backward);
      cases.push_back([x, w, with_backward] {
        Tensor y = conv(x, w, {}, {1}, {1});
        if (!with_backward) return;
        Tensor xx = x, ww = w;
        xx.zero_grad(), ww.zero_grad();
        y.backward(Tensor::ones(y.shape(), y.dtype()));
      });
      names.push_back(dtype_name(t));
    }
    report(with_backward ? "conv3d 32->32 k3 at 32x128x128, fwd+bwd" : "conv3d 32->32 k3 at 32x128x128, forward",
           names, interleaved(cases, reps));
  }
}

// Cases of `ps` running `iteration(p)`, reported under `what`.
void precision_cases(const char* what, const std::vector<Precision>& ps, const std::function<void(Precision)>& iteration,
                     int reps) {
  std::vector<std::function<void()>> cases;
  std::vector<std::string> names;
  for (Precision p : ps) {
    cases.push_back([&iteration, p] { iteration(p); });
    names.push_back(precision_name(p));
  }
  report(what, names, interleaved(cases, reps));
}

// One translator iteration as `translate` runs it: the PatchGAN's least-squares step on real
// and generated images, then the generator's step (least squares + L1); `generate` makes the
// image from the labels under the current autocast scope.
void translation_iteration(const char* what, const std::vector<Precision>& ps, int reps, nn::Module& g,
                           const std::function<Tensor(const Tensor&)>& generate, Generator& gen) {
  Generator aux(4);
  models::PatchGan d(models::PatchGanConfig{}, gen, aux);
  nn::Adam og(g.named_parameters(), nn::AdamOptions{1e-6}), od(d.named_parameters(), nn::AdamOptions{1e-6});
  const Tensor labels = Tensor::rand({1, 29, 128, 128}, gen), real = Tensor::rand({1, 1, 128, 128}, gen);
  precision_cases(what, ps, [&](Precision p) {
    od.zero_grad();
    Tensor loss;
    {
      AutocastScope mixed(p);
      loss = models::lsgan_discriminator_loss(d.forward(real, labels), d.forward(generate(labels).detach(), labels));
    }
    loss.backward();
    od.step(), og.zero_grad();
    {
      AutocastScope mixed(p);
      Tensor fake = generate(labels);
      loss = models::translation_generator_loss(d.forward(fake, labels), fake, real, 10.0).loss;
    }
    loss.backward();
    og.step();
  }, reps);
}

// pix2pix (2-D, the paper's) against its PatchGAN at 128x128.
void pix2pix_iteration(const std::vector<Precision>& ps, int reps) {
  Generator gen(3), aux(4);
  models::Pix2PixGenerator g(models::Pix2PixConfig::paper_2d(), gen, aux);
  translation_iteration("pix2pix + PatchGAN iteration 128x128 (paper)", ps, reps, g,
                        [&](const Tensor& labels) { return g.forward(labels); }, gen);
}

// SPADE (2-D, the paper's) against the same PatchGAN at 128x128.
void spade_iteration(const std::vector<Precision>& ps, int reps) {
  Generator gen(6);
  models::SpadeGenerator g(models::SpadeConfig{}, gen);
  const Tensor z = Tensor::randn({1, g.config().z_dim}, gen);
  translation_iteration("SPADE + PatchGAN iteration 128x128 (paper)", ps, reps, g,
                        [&](const Tensor& labels) { return g.forward(z, labels); }, gen);
}

// One lesion WGAN-GP iteration (critic step with the gradient penalty, then generator step).
void wgan_iteration(const std::vector<Precision>& ps, int reps) {
  models::LesionGanConfig c;
  c.start = {1, 2, 2}, c.gen_filters = {64, 32, 16, 8, 8}, c.mask_size = {16, 64, 64};
  c.critic_filters = {8, 16, 32, 64, 128}, c.critic_dense = 128;
  Generator gen(5);
  models::LesionGenerator g(c, gen);
  models::LesionCritic k(c, gen);
  nn::Adam og(g.named_parameters(), nn::AdamOptions{1e-6}), ok(k.named_parameters(), nn::AdamOptions{1e-6});
  const Tensor real = Tensor::rand({2, 1, 16, 64, 64}, gen), z = Tensor::randn({2, c.z_dim}, gen);
  const Tensor e = Tensor::rand({2, 1, 1, 1, 1}, gen);
  auto critic = [&k](const Tensor& x) { return k.forward(x); };
  precision_cases("lesion WGAN-GP iteration 16x64x64, batch 2", ps, [&](Precision p) {
    ok.zero_grad();
    Tensor loss;
    {
      AutocastScope mixed(p);
      loss = models::wgan_gp_critic_loss(critic, real, g.forward(z).detach(), e, 10.0).loss;
    }
    loss.backward();
    ok.step(), og.zero_grad();
    {
      AutocastScope mixed(p);
      loss = models::wgan_generator_loss(k.forward(g.forward(z)));
    }
    loss.backward();
    og.step();
  }, reps);
  precision_cases("  of which the generator step alone", ps, [&](Precision p) {
    og.zero_grad();
    Tensor loss;
    {
      AutocastScope mixed(p);
      loss = models::wgan_generator_loss(k.forward(g.forward(z)));
    }
    loss.backward();
    og.step();
  }, reps);
}

}  // namespace

int main(int argc, char** argv) {
  bool paper = false, fp16 = false, conv_only = false, gans = false;
  int reps = 5;
  bench::Args("bench_mixed_precision")
      .flag("--paper", &paper)
      .flag("--fp16", &fp16)
      .flag("--conv-only", &conv_only)
      .flag("--gans", &gans)
      .option("--reps", &reps)
      .parse(argc, argv);
  std::vector<Precision> ps{Precision::FP32, Precision::BF16};
  if (fp16) ps.push_back(Precision::FP16);
  std::printf("mixed precision on the CPU: conv %s, oneDNN bf16 %s; median of %d interleaved repeats after a warm-up\n",
              cpu::conv_impl_name(cpu::conv_impl()),
              cpu::dnnl_bf16_native() ? "native (AVX512-BF16/AMX)" : "not native (bf16 widened to fp32)", reps);
  if (gans) {
    pix2pix_iteration(ps, reps);
    spade_iteration(ps, reps);
    wgan_iteration(ps, reps);
    return 0;
  }
  conv_level(ps, reps);
  if (conv_only) return 0;
  unet_step("U-Net step 32x64x64, base 16, depth 3", {.dims = 3, .in_channels = 1, .classes = 2, .base_filters = 16,
                                                      .depth = 3},
            {1, 1, 32, 64, 64}, ps, reps);
  if (paper)
    unet_step("U-Net step 32x128x128, base 32, depth 4 (paper)",
              {.dims = 3, .in_channels = 1, .classes = 2, .base_filters = 32, .depth = 4}, {1, 1, 32, 128, 128}, ps,
              reps);
  return 0;
}
