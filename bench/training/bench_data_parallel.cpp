// Benchmark: data-parallel training throughput of the small segmentation U-Net on CPU ranks.
// Launch it on 1 and on N ranks and compare (the ratio is the scaling):
//   mpirun -np 1 ./bench_data_parallel        mpirun -np 2 ./bench_data_parallel
// Each rank trains on its own batch (per-rank batch fixed, so the global batch grows with
// N); printed: samples/s over all ranks, time per step, and the all-reduce time per step.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "bench/bench_util.h"
#include "autograd/ops/loss.h"
#include "autograd/ops/softmax.h"
#include "models/unet.h"
#include "nn/data_parallel.h"
#include "nn/optim.h"

using namespace pn;
using pn::bench::Clock;

int main(int argc, char** argv) {
  int steps = 10, batch = 2;
  bool sync_bn = false;
  pn::bench::Args("bench_data_parallel").option("--steps", &steps, 2).option("--batch", &batch).flag("--sync-bn", &sync_bn)
      .parse(argc, argv);
  auto comm = nn::world_communicator();
  Generator gen(1);
  models::SegmentationUNet net({.dims = 3, .in_channels = 1, .classes = 2, .base_filters = 8, .depth = 2}, gen);
  if (sync_bn) nn::enable_sync_batch_norm(net, comm);
  nn::DataParallel dp(comm, {&net});
  dp.broadcast_state();
  nn::Adam opt(net.named_parameters(), nn::AdamOptions{1e-3});
  Generator data(2 + comm->rank());
  Tensor x = Tensor::randn({batch, 1, 16, 32, 32}, data);
  Tensor t = Tensor::zeros({batch, 2, 16, 32, 32});
  double total = 0, comm_at_start = 0;
  for (int s = 0; s < steps + 1; ++s) {  // step 0 warms up
    if (s == 1) comm_at_start = dp.comm_seconds();
    auto t0 = Clock::now();
    opt.zero_grad();
    soft_dice_loss(softmax(net.forward(x), 1), t, 1).backward();
    dp.average_gradients();
    opt.step();
    if (s > 0) total += std::chrono::duration<double>(Clock::now() - t0).count();
  }
  // The slowest rank sets the pace.
  double slowest = total;
  comm->allreduce_max(&slowest, 1);
  const double per_step = slowest / steps, comm_per_step = (dp.comm_seconds() - comm_at_start) / steps;
  if (comm->is_root())
    std::printf("U-Net 16x32x32 base 8 depth 2 (%lld params), %d rank(s) [%s] x %d thread(s), per-rank batch %d%s: "
                "%.2f samples/s, %.3f s/step, all-reduce %.4f s/step (%.1f%%)\n",
                (long long)net.num_parameters(), comm->size(), comm->backend().c_str(), omp_get_max_threads(), batch,
                sync_bn ? ", sync BN" : "", comm->size() * batch / per_step, per_step, comm_per_step,
                100.0 * comm_per_step / per_step);
  return 0;
}
