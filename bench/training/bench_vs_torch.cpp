// bench_vs_torch: the Penumbra half of the CPU comparison with PyTorch
// (tools/bench/compare_torch.py runs it interleaved with tools/bench/torch_workloads.py,
// which builds the same networks from tools/golden's PyTorch definitions). One workload
// per process; it prints one line per timed row,
//   BENCH row=<name> ms=<t1>,<t2>,...      (each repetition after one warm-up)
// and, at the end, the peak resident memory above what the process held before the
// workload was built (the runtime itself):
//   BENCH peak_mb=<MiB> cache_hits=<n> cache_misses=<n> cache_evicted_mb=<MiB>  (autograd/cpu_block_cache.h)
// Workloads (float32, batch as in the study's presets; `--list` prints them):
//   unet_small      U-Net step (forward, soft Dice, backward, Adam), batch 4, 16x32x32, base 8, depth 2
//   conv_l0         conv3d 32->32 at 32x128x128, forward + backward (the paper's first level)
//   conv_l0_cl      the same with channels-last activations (MemoryFormat::channels_last;
//                   PyTorch's channels_last_3d for input, weight and gradient)
//   conv_small      conv3d 8->8 at 16x32x32, forward + backward
//   pix2pix_small / spade_small / wgan_small   one GAN iteration (bench_gan_steps' small sizes)
//   unet_paper      U-Net step at the paper's size (1x1x32x128x128, base 32, depth 4)
//   unet_paper_cl / unet_small_cl   the same steps with channels-last activations
//                   (UNetConfig::channels_last; PyTorch's channels_last_3d model and input)
//   conv_levels     every 3x3x3 conv of the paper U-Net's encoder: forward, backward-input,
//                   backward-weight separately
//   bn_pool         batch norm and 2x max-pool, forward + backward, at 32 x 32x128x128
//   pix2pix_256 / spade_256   the paper's 2-D translators at 256x256 with the PatchGAN
//
// Each loss is built in a statement of its own and then differentiated, never
// `sum(f(x) * gy).backward()` in one: C++ keeps a full expression's temporaries (f(x) and the
// product, full-size tensors) until its end, through the backward pass, where Python frees
// them as soon as they are consumed. So both runtimes hold the same tensors in the peak.
//
//   bench_vs_torch --workload NAME [--reps N] [--plain-upsampling] [--separate-affine]
// --plain-upsampling: pix2pix's decoder upsamples, then convolves (Pix2PixConfig::
// polyphase_upsampling off), to time the polyphase form (autograd/ops/upsample_conv.h) against it;
// --separate-affine: SPADE's gamma and beta as two convolutions (SpadeConfig::joint_affine off).
// With PN_PROFILE=1 it also prints the op profile of the timed repetitions to stderr at exit.
#include <sys/resource.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "autograd/cpu_block_cache.h"
#include "autograd/engine.h"
#include "autograd/ops/conv.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/loss.h"
#include "autograd/ops/norm.h"
#include "autograd/ops/pool.h"
#include "autograd/ops/reduce.h"
#include "autograd/ops/softmax.h"
#include "autograd/profile.h"
#include "bench/bench_util.h"
#include "kernels/cpu/conv.h"
#include "models/lesion_wgan.h"
#include "models/patchgan.h"
#include "models/pix2pix.h"
#include "models/spade_generator.h"
#include "models/unet.h"
#include "nn/optim.h"

using namespace pn;
using namespace pn::models;
using pn::bench::Clock;

namespace {

int g_reps = 3;
bool g_plain_upsampling = false;  // --plain-upsampling
bool g_separate_affine = false;   // --separate-affine

// "1.234,5.678,...": milliseconds, comma-separated.
std::string join_ms(const std::vector<double>& ms) {
  std::string s;
  char buf[32];
  for (size_t i = 0; i < ms.size(); ++i) {
    std::snprintf(buf, sizeof buf, i ? ",%.3f" : "%.3f", ms[i]);
    s += buf;
  }
  return s;
}

// With PN_PROFILE=1 (autograd/profile.h) the op profile printed at exit covers the timed
// repetitions only: it restarts after the warm-up.
void warmed_up() {
  if (profile::enabled()) profile::reset();
}

// Times fn: one warm-up run, then g_reps runs, printed as one row.
void row(const std::string& name, const std::function<void()>& fn) {
  fn();
  warmed_up();
  std::vector<double> ms;
  for (int r = 0; r < g_reps; ++r) {
    const auto t0 = Clock::now();
    fn();
    ms.push_back(bench::seconds_since(t0) * 1e3);
  }
  std::printf("BENCH row=%s ms=%s\n", name.c_str(), join_ms(ms).c_str());
  std::fflush(stdout);
}

// A U-Net step timed as a whole and split into forward and backward + Adam.
void unet_step(const std::string& prefix, UNetConfig cfg, Shape input) {
  Generator gen(1);
  SegmentationUNet net(cfg, gen);
  nn::Adam opt(net.named_parameters(), nn::AdamOptions{1e-4});
  Tensor x = Tensor::randn(input, gen);
  Shape ts = input;
  ts[1] = cfg.classes;
  Tensor target = Tensor::zeros(ts);
  std::vector<double> fwd, rest;
  auto step = [&](bool keep) {
    const auto t0 = Clock::now();
    Tensor loss = soft_dice_loss(softmax(net.forward(x), 1), target, 1);
    const double f = bench::seconds_since(t0);
    const auto t1 = Clock::now();
    opt.zero_grad();
    loss.backward();
    opt.step();
    if (keep) fwd.push_back(f * 1e3), rest.push_back(bench::seconds_since(t1) * 1e3);
  };
  step(false);
  warmed_up();
  for (int r = 0; r < g_reps; ++r) step(true);
  std::vector<double> total(fwd.size());
  for (size_t i = 0; i < fwd.size(); ++i) total[i] = fwd[i] + rest[i];
  std::printf("BENCH row=%s_step ms=%s\n", prefix.c_str(), join_ms(total).c_str());
  std::printf("BENCH row=%s_forward ms=%s\n", prefix.c_str(), join_ms(fwd).c_str());
  std::printf("BENCH row=%s_backward_adam ms=%s\n", prefix.c_str(), join_ms(rest).c_str());
}

// conv3d c -> c, 3x3x3 padding 1, forward + backward of input and weight; activations
// channels-first [1, c, d, h, w] or channels-last [1, d, h, w, c].
void conv_fwd_bwd(const std::string& name, int64_t c, int64_t d, int64_t h, int64_t w,
                  MemoryFormat format = MemoryFormat::channels_first) {
  Generator gen(2);
  const Shape act = format == MemoryFormat::channels_last ? Shape{1, d, h, w, c} : Shape{1, c, d, h, w};
  Tensor x = Tensor::randn(act, gen).requires_grad_();
  Tensor wt = (Tensor::randn({c, c, 3, 3, 3}, gen) * 0.05).detach().requires_grad_();
  Tensor gy = Tensor::randn(act, gen);
  row(name, [&] {
    x.set_grad(Tensor());
    wt.set_grad(Tensor());
    Tensor loss = sum(conv(x, wt, Tensor(), {1}, {1}, format) * gy);  // its own statement: see the header
    loss.backward();
  });
}

// The encoder convs of the paper's U-Net, each pass on its own (kernels called directly).
void conv_levels() {
  const int64_t filters[] = {32, 64, 128, 256, 512};
  int64_t c_in = 1, d = 32, h = 128, w = 128;
  for (int l = 0; l < 5; ++l) {
    for (int k = 0; k < 2; ++k) {
      kernels::ConvGeom g;
      g.N = 1, g.C_in = k ? filters[l] : c_in, g.C_out = filters[l];
      const int64_t sp[3] = {d, h, w};
      for (int j = 0; j < 3; ++j) g.in[j] = g.out[j] = sp[j], g.k[j] = 3, g.pad[j] = 1;
      std::vector<float> x(g.N * g.C_in * g.in_volume(), 0.5f), wt(g.C_out * g.col_rows(), 0.01f);
      std::vector<float> y(g.N * g.C_out * g.out_volume(), 0.25f), dx(x.size()), dw(wt.size());
      const std::string name = "l" + std::to_string(l) + "." + std::to_string(k + 1) + "_" +
                               std::to_string(g.C_in) + "to" + std::to_string(g.C_out);
      row(name + "_fwd", [&] { cpu::conv_forward(g, x.data(), wt.data(), y.data()); });
      if (g.C_in > 1) row(name + "_bwd_input", [&] { cpu::conv_backward_input(g, y.data(), wt.data(), dx.data()); });
      row(name + "_bwd_weight", [&] { cpu::conv_backward_weight(g, x.data(), y.data(), dw.data()); });
    }
    c_in = filters[l];
    d /= 2, h /= 2, w /= 2;
  }
}

void bn_pool() {
  Generator gen(3);
  const Shape s{1, 32, 32, 128, 128};
  Tensor x = Tensor::randn(s, gen).requires_grad_(), gy = Tensor::randn(s, gen);
  Tensor gamma = Tensor::ones({32}).requires_grad_(), beta = Tensor::zeros({32}).requires_grad_();
  Tensor rm = Tensor::zeros({32}), rv = Tensor::ones({32});
  row("batch_norm_fwd_bwd", [&] {
    for (Tensor* t : {&x, &gamma, &beta}) t->set_grad(Tensor());
    Tensor loss = sum(batch_norm(x, gamma, beta, rm, rv, true, 0.1, 1e-5) * gy);
    loss.backward();
  });
  Tensor gp = Tensor::randn({1, 32, 16, 64, 64}, gen);
  row("max_pool_fwd_bwd", [&] {
    x.set_grad(Tensor());
    Tensor loss = sum(max_pool(x, 2, 2) * gp);
    loss.backward();
  });
}

nn::AdamOptions gan_adam() { return nn::AdamOptions{2e-4, 0.5, 0.999}; }

// One LSGAN + L1 iteration of a translator against a PatchGAN (bench_gan_steps' loop).
void translation(const std::string& name, nn::Module& g, const std::function<Tensor()>& generate, PatchGan& d,
                 const Tensor& labels, const Tensor& real) {
  nn::Adam og(g.named_parameters(), gan_adam()), od(d.named_parameters(), gan_adam());
  row(name, [&] {
    od.zero_grad();
    Tensor fake = generate().detach();
    Tensor pr = d.forward(real, labels), pf = d.forward(fake, labels);
    ((mse_loss(pr, Tensor::ones(pr.shape())) + mse_loss(pf, Tensor::zeros(pf.shape()))) * 0.5).backward();
    od.step();
    og.zero_grad();
    fake = generate();
    pf = d.forward(fake, labels);
    (mse_loss(pf, Tensor::ones(pf.shape())) + l1_loss(fake, real) * 10.0).backward();
    og.step();
  });
}

void pix2pix(int64_t size, bool small) {
  Generator gen(2), aux(3);
  Tensor labels = Tensor::rand({1, 29, size, size}, gen), real = Tensor::rand({1, 1, size, size}, gen);
  Pix2PixConfig pc = Pix2PixConfig::paper_2d();
  if (small) pc.base_filters = 16, pc.depth = 4;
  pc.polyphase_upsampling = !g_plain_upsampling;
  Pix2PixGenerator p(pc, gen, aux);
  PatchGan d(PatchGanConfig{}, gen, aux);
  translation(small ? "pix2pix_small" : "pix2pix_256", p, [&] { return p.forward(labels); }, d, labels, real);
}

void spade(int64_t size, bool small) {
  Generator gen(2), aux(3);
  Tensor labels = Tensor::rand({1, 29, size, size}, gen), real = Tensor::rand({1, 1, size, size}, gen);
  SpadeConfig sc;
  sc.out_size = {size, size};
  if (small) sc.filters = {64, 32, 16}, sc.hidden = 32;
  sc.joint_affine = !g_separate_affine;
  SpadeGenerator s(sc, gen);
  PatchGan d(PatchGanConfig{}, gen, aux);
  Tensor z = Tensor::randn({1, sc.z_dim}, gen);
  translation(small ? "spade_small" : "spade_256", s, [&] { return s.forward(z, labels); }, d, labels, real);
}

void wgan_small() {
  LesionGanConfig c;
  c.start = {1, 2, 2}, c.gen_filters = {32, 16, 8, 8}, c.mask_size = {16, 32, 32};
  c.critic_filters = {8, 16, 32, 64, 128}, c.critic_dense = 128;
  Generator gen(1);
  LesionGenerator g(c, gen);
  LesionCritic k(c, gen);
  nn::Adam og(g.named_parameters(), gan_adam()), ok(k.named_parameters(), gan_adam());
  Tensor real = Tensor::rand({1, 1, 16, 32, 32}, gen), z = Tensor::randn({1, c.z_dim}, gen);
  row("wgan_small", [&] {
    ok.zero_grad();
    Tensor fake = g.forward(z).detach();
    Tensor e = Tensor::rand({1, 1, 1, 1, 1}, gen);
    Tensor xhat = (e * real + rsub_scalar(1.0, e) * fake).detach().requires_grad_();
    Tensor gr = grad({sum(k.forward(xhat))}, {xhat}, {}, true)[0];
    Tensor gp = mean(square(add_scalar(sqrt(add_scalar(sum(square(gr), {1, 2, 3, 4}), 1e-12)), -1.0)));
    (mean(k.forward(fake)) - mean(k.forward(real)) + gp * 10.0).backward();
    ok.step();
    og.zero_grad();
    (-mean(k.forward(g.forward(z)))).backward();
    og.step();
  });
}

const std::map<std::string, std::function<void()>>& workloads() {
  static const std::map<std::string, std::function<void()>> w{
      {"unet_small", [] { unet_step("unet_small", {3, 1, 2, 8, 2}, {4, 1, 16, 32, 32}); }},
      {"conv_l0", [] { conv_fwd_bwd("conv_l0_fwd_bwd", 32, 32, 128, 128); }},
      {"conv_l0_cl", [] { conv_fwd_bwd("conv_l0_cl_fwd_bwd", 32, 32, 128, 128, MemoryFormat::channels_last); }},
      {"conv_small", [] { conv_fwd_bwd("conv_small_fwd_bwd", 8, 16, 32, 32); }},
      {"pix2pix_small", [] { pix2pix(32, true); }},
      {"spade_small", [] { spade(32, true); }},
      {"wgan_small", wgan_small},
      {"unet_paper", [] { unet_step("unet_paper", {3, 1, 2, 32, 4}, {1, 1, 32, 128, 128}); }},
      {"unet_paper_cl", [] { unet_step("unet_paper_cl", {3, 1, 2, 32, 4, true}, {1, 1, 32, 128, 128}); }},
      {"unet_small_cl", [] { unet_step("unet_small_cl", {3, 1, 2, 8, 2, true}, {4, 1, 16, 32, 32}); }},
      {"conv_levels", conv_levels},
      {"bn_pool", bn_pool},
      {"pix2pix_256", [] { pix2pix(256, false); }},
      {"spade_256", [] { spade(256, false); }},
  };
  return w;
}

// Resident memory now, in MiB (from /proc/self/statm).
double rss_mb() {
  std::ifstream f("/proc/self/statm");
  long pages = 0, resident = 0;
  f >> pages >> resident;
  return resident * 4096.0 / (1 << 20);
}

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024.0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string name;
  bool list = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--workload" && i + 1 < argc) name = argv[++i];
    else if (a == "--reps" && i + 1 < argc) g_reps = std::max(1, std::atoi(argv[++i]));
    else if (a == "--list") list = true;
    else if (a == "--plain-upsampling") g_plain_upsampling = true;
    else if (a == "--separate-affine") g_separate_affine = true;
    else name = "?";
  }
  if (list) {
    for (const auto& [n, f] : workloads()) std::printf("%s\n", n.c_str());
    return 0;
  }
  auto it = workloads().find(name);
  if (it == workloads().end()) {
    std::fprintf(stderr,
                 "usage: bench_vs_torch --workload NAME [--reps N] [--plain-upsampling] [--separate-affine] | --list\n");
    return 2;
  }
  const double base = rss_mb();
  it->second();
  const CpuCacheStats cache = cpu_block_cache_stats();  // how the block cache served the workload
  std::printf("BENCH peak_mb=%.1f cache_hits=%zu cache_misses=%zu cache_evicted_mb=%.1f\n", peak_rss_mb() - base,
              cache.hits, cache.misses, static_cast<double>(cache.evicted_bytes) / (1 << 20));
  return 0;
}
