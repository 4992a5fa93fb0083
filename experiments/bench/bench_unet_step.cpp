// Benchmark: one training step (forward, soft Dice loss, backward, Adam) of the study's
// segmentation U-Net on the CPU, at a small size and (optionally) at the paper's size,
// printing time per step and the share spent in forward vs backward + update.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "experiments/bench/bench_util.h"
#include "autograd/ops/loss.h"
#include "autograd/ops/softmax.h"
#include "models/unet.h"
#include "nn/optim.h"

using namespace pn;
using pn::bench::Clock;

namespace {

using bench::seconds_since;

void time_step(const char* name, models::UNetConfig cfg, Shape input, int reps) {
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
  pn::bench::Args("bench_unet_step").flag("--paper", &paper).option("--reps", &reps).parse(argc, argv);
  std::printf("U-Net training step (float32, CPU, median of %d after one warm-up)\n", reps);
  time_step("small: 16x32x32, base 8, depth 2", {3, 1, 2, 8, 2}, {4, 1, 16, 32, 32}, reps);
  time_step("medium: 32x64x64, base 16, depth 3", {3, 1, 2, 16, 3}, {1, 1, 32, 64, 64}, reps);
  if (paper) time_step("paper: 32x128x128, base 32, depth 4", {3, 1, 2, 32, 4}, {1, 1, 32, 128, 128}, std::max(1, reps / 2));
  return 0;
}
