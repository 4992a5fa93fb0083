// Benchmark: one training step (forward, soft Dice loss, backward, Adam) of the study's
// segmentation U-Net, on the CPU or a CUDA device (`--device`, as run.device), at a small
// size, a medium one and (optionally) the paper's, printing time per step, the share spent in
// forward vs backward + update, and on a GPU the allocator's peak memory.
// `--fusion-ab` instead times the small size on the CPU with norm + ReLU fused (nn::Sequential's
// default) and unfused, steps alternating A B B A in one process (a loaded machine slows both
// alike), printing each one's median, min and max step time and its peak tensor memory (the
// CPU block cache's peak live bytes over a step, above what was live when it started).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "bench/bench_device.h"
#include "bench/bench_util.h"
#include "autograd/cpu_block_cache.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/loss.h"
#include "autograd/ops/norm.h"
#include "autograd/ops/reduce.h"
#include "autograd/ops/softmax.h"
#include "models/unet.h"
#include "nn/optim.h"

using namespace pn;
using pn::bench::Clock;

namespace {

using bench::seconds_since;

void time_step(const char* name, models::UNetConfig cfg, Shape input, int reps, Device device) {
  Generator gen(1);
  models::SegmentationUNet net(cfg, gen);
  net.to(device);  // before the optimiser: it keeps the parameters' handles
  nn::Adam opt(net.named_parameters(), nn::AdamOptions{1e-4});
  Tensor x = Tensor::randn(input, gen).to(device);
  Shape ts = input;
  ts[1] = cfg.classes;
  Tensor target = Tensor::zeros(ts).to(device);
  std::vector<double> fwd, rest;
  bench::peak_device_mib(device);  // resets the peak
  for (int r = 0; r < reps + 1; ++r) {  // the first step warms up caches and the allocator
    auto t0 = Clock::now();
    Tensor loss = soft_dice_loss(softmax(net.forward(x), 1), target, 1);
    bench::sync_device(device);
    double f = seconds_since(t0);
    auto t1 = Clock::now();
    opt.zero_grad();
    loss.backward();
    opt.step();
    bench::sync_device(device);
    double b = seconds_since(t1);
    if (r > 0) { fwd.push_back(f); rest.push_back(b); }
  }
  std::sort(fwd.begin(), fwd.end());
  std::sort(rest.begin(), rest.end());
  double mf = fwd[fwd.size() / 2], mb = rest[rest.size() / 2];
  std::printf("%-34s %10lld params | step %8.3f s | forward %8.3f s | backward+Adam %8.3f s | %6.2f samples/s",
              name, (long long)net.num_parameters(), mf + mb, mf, mb, static_cast<double>(input[0]) / (mf + mb));
  if (device.is_cuda()) std::printf(" | peak %.1f MiB", bench::peak_device_mib(device));
  std::printf("\n");
  std::fflush(stdout);
}

// One A/B arm: a network, its optimiser, step times and peak tensor bytes.
struct FusionArm {
  const char* name;
  std::unique_ptr<models::SegmentationUNet> net;
  std::unique_ptr<nn::Adam> opt;
  std::vector<double> seconds;
  size_t peak = 0;  // the most tensor bytes a step added to what was live before it
};

void fusion_step(FusionArm& arm, const Tensor& x, const Tensor& target, bool keep) {
  cpu_block_reset_peak();
  const size_t live_before = cpu_block_cache_stats().live_bytes;
  const auto t0 = Clock::now();
  Tensor loss = soft_dice_loss(softmax(arm.net->forward(x), 1), target, 1);
  arm.opt->zero_grad();
  loss.backward();
  arm.opt->step();
  if (!keep) return;
  arm.seconds.push_back(seconds_since(t0));
  arm.peak = std::max(arm.peak, cpu_block_cache_stats().peak_live_bytes - live_before);
}

// The op alone: batch norm + ReLU forward and backward on the U-Net's top-level tensor
// [4, 8, 16, 32, 32], fused (batch_norm_act) and unfused (relu(batch_norm)), alternating.
void compare_fusion_op(int reps) {
  Generator gen(3);
  Tensor x = Tensor::randn({4, 8, 16, 32, 32}, gen).requires_grad_();
  Tensor gamma = Tensor::ones({8}).requires_grad_(), beta = Tensor::zeros({8}).requires_grad_();
  Tensor gy = Tensor::randn(x.shape(), gen);
  std::vector<double> seconds[2];
  for (int r = 0; r <= reps; ++r)
    for (int k = 0; k < 2; ++k) {
      const int arm = (r + k) % 2;
      const auto t0 = Clock::now();
      Tensor y = arm == 0 ? batch_norm_act(x, gamma, beta, {}, {}, true, 0.0)
                          : relu(batch_norm(x, gamma, beta, {}, {}, true));
      sum(y * gy).backward();
      if (r > 0) seconds[arm].push_back(seconds_since(t0));
    }
  for (int arm = 0; arm < 2; ++arm) {
    auto& v = seconds[arm];
    std::sort(v.begin(), v.end());
    std::printf("%-8s batch norm + ReLU [4, 8, 16, 32, 32], forward + backward: median %6.2f ms | min %6.2f | "
                "max %6.2f\n",
                arm == 0 ? "fused" : "unfused", 1e3 * v[v.size() / 2], 1e3 * v.front(), 1e3 * v.back());
  }
}

void compare_fusion(models::UNetConfig cfg, Shape input, int reps) {
  FusionArm arms[2] = {{"fused", {}, {}, {}, 0}, {"unfused", {}, {}, {}, 0}};
  for (int a = 0; a < 2; ++a) {
    Generator gen(1);
    arms[a].net = std::make_unique<models::SegmentationUNet>(cfg, gen);
    nn::set_norm_activation_fusion(*arms[a].net, a == 0);
    arms[a].opt = std::make_unique<nn::Adam>(arms[a].net->named_parameters(), nn::AdamOptions{1e-4});
  }
  Generator gen(2);
  Tensor x = Tensor::randn(input, gen);
  Shape ts = input;
  ts[1] = cfg.classes;
  Tensor target = Tensor::zeros(ts);
  for (auto& arm : arms) fusion_step(arm, x, target, false);  // warm-up
  for (int r = 0; r < reps; ++r)
    for (int k = 0; k < 2; ++k) fusion_step(arms[(r + k) % 2], x, target, true);  // A B, B A, ...
  std::printf("U-Net step, small (4 x 16x32x32, base 8, depth 2), CPU, %d steps each, alternating\n", reps);
  for (auto& arm : arms) {
    std::sort(arm.seconds.begin(), arm.seconds.end());
    std::printf("%-8s median %7.1f ms | min %7.1f | max %7.1f | peak tensors %7.1f MiB\n", arm.name,
                1e3 * arm.seconds[arm.seconds.size() / 2], 1e3 * arm.seconds.front(), 1e3 * arm.seconds.back(),
                static_cast<double>(arm.peak) / (1 << 20));
  }
  compare_fusion_op(4 * reps);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  bool paper = false, small_only = false, fusion_ab = false;
  int reps = 3;
  std::string setting = "cpu";
  pn::bench::Args("bench_unet_step")
      .flag("--paper", &paper)
      .flag("--small-only", &small_only)
      .flag("--fusion-ab", &fusion_ab)
      .option("--reps", &reps)
      .choice("--device", &setting, {"auto", "cpu", "cuda"})
      .parse(argc, argv);
  return bench::guarded_main("bench_unet_step", [&] {
    if (fusion_ab) {
      compare_fusion({.dims = 3, .in_channels = 1, .classes = 2, .base_filters = 8, .depth = 2}, {4, 1, 16, 32, 32},
                     reps);
      return 0;
    }
    const Device device = bench::bench_device(setting);
    std::printf("U-Net training step (float32, %s, median of %d after one warm-up)\n", device.str().c_str(), reps);
    time_step("small: 16x32x32, base 8, depth 2",
              {.dims = 3, .in_channels = 1, .classes = 2, .base_filters = 8, .depth = 2}, {4, 1, 16, 32, 32}, reps,
              device);
    if (small_only) return 0;
    time_step("medium: 32x64x64, base 16, depth 3",
              {.dims = 3, .in_channels = 1, .classes = 2, .base_filters = 16, .depth = 3}, {1, 1, 32, 64, 64}, reps,
              device);
    if (paper)
      time_step("paper: 32x128x128, base 32, depth 4",
                {.dims = 3, .in_channels = 1, .classes = 2, .base_filters = 32, .depth = 4}, {1, 1, 32, 128, 128},
                std::max(1, reps / 2), device);
    return 0;
  });
}
