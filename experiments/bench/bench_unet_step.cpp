// Benchmark: one training step (forward, soft Dice loss, backward, Adam) of the study's
// segmentation U-Net on the CPU, at a small size and (optionally) at the paper's size,
// printing time per step and the share spent in forward vs backward + update.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "autograd/ops/loss.h"
#include "autograd/ops/softmax.h"
#include "models/unet.h"
#include "nn/optim.h"

using namespace pn;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

void bench(const char* name, models::UNetConfig cfg, Shape input, int reps) {
  Generator gen(1);
  models::SegmentationUNet net(cfg, gen);
  nn::Adam opt(net.named_parameters(), nn::AdamOptions{1e-4});
  Tensor x = Tensor::randn(input, gen);
  Shape ts = input;
  ts[1] = cfg.classes;
  Tensor target = Tensor::zeros(ts);
  std::vector<double> fwd, rest;
  for (int r = 0; r < reps + 1; ++r) {  // the first step warms up caches and the allocator
    auto t0 = Clock::now();
    Tensor loss = soft_dice_loss(softmax(net.forward(x), 1), target, 1);
    double f = seconds_since(t0);
    auto t1 = Clock::now();
    opt.zero_grad();
    loss.backward();
    opt.step();
    double b = seconds_since(t1);
    if (r > 0) { fwd.push_back(f); rest.push_back(b); }
  }
  std::sort(fwd.begin(), fwd.end());
  std::sort(rest.begin(), rest.end());
  double mf = fwd[fwd.size() / 2], mb = rest[rest.size() / 2];
  std::printf("%-34s %10lld params | step %8.3f s | forward %8.3f s | backward+Adam %8.3f s | %6.2f samples/s\n",
              name, (long long)net.num_parameters(), mf + mb, mf, mb, static_cast<double>(input[0]) / (mf + mb));
}

}  // namespace

int main(int argc, char** argv) {
  bool paper = false;
  int reps = 3;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--paper")) paper = true;
    else if (!std::strcmp(argv[i], "--reps") && i + 1 < argc) reps = std::max(1, std::atoi(argv[++i]));
    else {
      std::fprintf(stderr, "usage: bench_unet_step [--paper] [--reps N]\n");
      return 2;
    }
  }
  std::printf("U-Net training step (float32, CPU, median of %d after one warm-up)\n", reps);
  bench("small: 16x32x32, base 8, depth 2", {3, 1, 2, 8, 2}, {4, 1, 16, 32, 32}, reps);
  bench("medium: 32x64x64, base 16, depth 3", {3, 1, 2, 16, 3}, {1, 1, 32, 64, 64}, reps);
  if (paper) bench("paper: 32x128x128, base 32, depth 4", {3, 1, 2, 32, 4}, {1, 1, 32, 128, 128}, std::max(1, reps / 2));
  return 0;
}
