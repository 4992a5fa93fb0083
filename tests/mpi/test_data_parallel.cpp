// Data-parallel equivalence, run as 2 MPI ranks (see CMakeLists.txt): K steps on 2 ranks
// with per-rank batch B must give the weights that 1 process with batch 2B gets over the
// same samples, computed on each rank with a local communicator as the reference. Every
// rank makes the same collective calls in the same order whatever the checks find (CHECK,
// never REQUIRE, after the first collective), so a failure cannot turn into a hang.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>

#include "autograd/engine.h"
#include "autograd/ops/conv.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/linalg.h"
#include "autograd/ops/loss.h"
#include "autograd/ops/reduce.h"
#include "autograd/ops/softmax.h"
#include "models/unet.h"
#include "nn/checkpoint.h"
#include "nn/data_parallel.h"
#include "nn/layers.h"
#include "nn/optim.h"

#include "dp_test_util.h"

using namespace pn;
using namespace pn::nn;
using pn::test::gather;
using pn::test::state_diff;

namespace {

std::shared_ptr<Communicator> world() { return world_communicator(); }

// A small conv net without batch norm: 2-D conv, LeakyReLU, strided conv.
std::shared_ptr<Sequential> small_net(uint64_t seed) {
  Generator gen(seed);
  auto net = std::make_shared<Sequential>();
  net->add(
      std::make_shared<Conv>(1, 4, ConvOptions{.dims = 2, .kernel = 3, .stride = 1, .padding = 1, .bias = true}, gen));
  net->add(std::make_shared<LeakyReLU>(0.2));
  net->add(
      std::make_shared<Conv>(4, 2, ConvOptions{.dims = 2, .kernel = 3, .stride = 2, .padding = 1, .bias = true}, gen));
  return net;
}

// Trains for `steps` global steps (across epochs) with per-rank batch B on comm's ranks.
// step_fn(batch indices) computes the local loss and calls backward on it.
void train(DataParallel& dp, Optimizer& opt, int64_t n, int64_t per_rank_batch, int64_t first_step, int64_t steps,
           const std::function<void(const std::vector<int64_t>&)>& step_fn) {
  const int64_t per_epoch = steps_per_epoch(n, per_rank_batch, dp.size());
  for (int64_t s = first_step; s < first_step + steps; ++s) {
    auto order = epoch_order(n, 7, s / per_epoch);
    auto idx = rank_batch(order, s % per_epoch, per_rank_batch, dp.rank(), dp.size());
    opt.zero_grad();
    step_fn(idx);
    dp.average_gradients();
    opt.step();
  }
}

}  // namespace

TEST_CASE("the test runs on 2 ranks and the collectives add up") {
  auto w = world();
  REQUIRE_MESSAGE(w->size() == 2, "run this suite with mpirun -np 2 (CTest does)");
  CHECK(w->backend() == "mpi");
  double v[2] = {static_cast<double>(w->rank() + 1), 10.0 * w->rank()};
  w->allreduce_sum(v, 2);
  CHECK(v[0] == 3.0);
  CHECK(v[1] == 10.0);
  int64_t token = w->rank() == 0 ? 12345 : -1;
  w->broadcast(&token, sizeof token, 0);
  CHECK(token == 12345);
}

TEST_CASE("a setting that differs across ranks is caught at start, naming the ranks") {
  auto w = world();
  check_same_on_all_ranks(*w, "config", "lr = 1e-4");  // agreeing ranks pass
  std::string msg;
  try {
    check_same_on_all_ranks(*w, "config", w->rank() == 1 ? "lr = 2e-4" : "lr = 1e-4");
  } catch (const Error& e) {
    msg = e.what();
  }
  CHECK(msg.find("config differs across ranks") != std::string::npos);
  CHECK(msg.find("rank(s) 1") != std::string::npos);
}

TEST_CASE("after rank 0 alone loaded a checkpoint, every rank receives its whole training state") {
  auto w = world();
  // Ranks start different: other weights, moments, step counts, learning rates, generators.
  auto net = small_net(200 + w->rank());
  Adam opt(net->named_parameters(), AdamOptions{1e-2});
  Generator noise(50 + w->rank());
  noise.reserve(static_cast<uint64_t>(7 + w->rank()));
  for (auto& [name, t] : opt.named_state()) t.data<float>()[0] = static_cast<float>(w->rank() + 1);
  opt.set_steps(10 + w->rank());
  opt.set_base_lr(w->rank() == 0 ? 3e-3 : 5e-3);
  broadcast_training_state(w, {{{"net", net.get()}}, {{"opt", &opt}}, {{"noise", &noise}}});
  auto ref = small_net(200);
  CHECK(state_diff(*net, *ref) == 0.0);
  for (auto& [name, t] : opt.named_state()) CHECK(t.data<float>()[0] == 1.0f);
  CHECK(opt.steps() == 10);
  CHECK(opt.base_lr() == 3e-3);
  CHECK(noise.seed() == 50);
  CHECK(noise.offset() == 7);
}

TEST_CASE("2 ranks x batch 2 = 1 process x batch 4: conv net without batch norm, Adam") {
  auto w = world();
  Generator data_gen(3);
  const int64_t n = 16;
  Tensor x = Tensor::randn({n, 1, 9, 7}, data_gen), y = Tensor::randn({n, 2, 5, 4}, data_gen);
  // Distinct initial weights per rank: the broadcast must make them rank 0's.
  auto net = small_net(100 + w->rank());
  auto ref = small_net(100);
  DataParallel dp(w, {net.get()});
  dp.broadcast_state();
  CHECK(state_diff(*net, *ref) == 0.0);
  Adam opt(net->named_parameters(), AdamOptions{1e-2});
  Adam opt_ref(ref->named_parameters(), AdamOptions{1e-2});
  DataParallel local(local_communicator(), {ref.get()});
  auto step = [&](Sequential& m) {
    return [&](const std::vector<int64_t>& idx) { mse_loss(m.forward(gather(x, idx)), gather(y, idx)).backward(); };
  };
  train(dp, opt, n, 2, 0, 6, step(*net));
  train(local, opt_ref, n, 4, 0, 6, step(*ref));
  const double d = state_diff(*net, *ref);
  MESSAGE("max relative weight difference after 6 steps: " << d);
  CHECK(d < 2e-6);
  CHECK(dp.comm_seconds() > 0);
}

TEST_CASE("2 ranks x batch 1 = 1 process x batch 2: U-Net with synchronised batch norm, soft Dice, Adam") {
  auto w = world();
  Generator data_gen(5);
  const int64_t n = 8;
  Tensor x = Tensor::randn({n, 1, 8, 8, 8}, data_gen);
  // One-hot targets [n, 2, 8, 8, 8] from a random threshold.
  std::vector<double> u = Tensor::rand({n, 8, 8, 8}, data_gen).to_vector(), t(n * 2 * 512);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t v = 0; v < 512; ++v) {
      const bool lesion = u[i * 512 + v] > 0.7;
      t[(i * 2 + 0) * 512 + v] = lesion ? 0 : 1;
      t[(i * 2 + 1) * 512 + v] = lesion ? 1 : 0;
    }
  Tensor target = Tensor::from_vector(t, {n, 2, 8, 8, 8});
  models::UNetConfig cfg{.dims = 3, .in_channels = 1, .classes = 2, .base_filters = 4, .depth = 2};
  Generator g_net(200 + w->rank()), g_ref(200);
  Generator g_local(200 + w->rank());
  models::SegmentationUNet net(cfg, g_net), ref(cfg, g_ref), unsynced(cfg, g_local);
  CHECK(enable_sync_batch_norm(net, w) > 0);
  DataParallel dp(w, {&net});
  dp.broadcast_state();
  Adam opt(net.named_parameters(), AdamOptions{1e-3});
  Adam opt_ref(ref.named_parameters(), AdamOptions{1e-3});
  DataParallel local(local_communicator(), {&ref});
  auto step = [&](models::SegmentationUNet& m) {
    return [&](const std::vector<int64_t>& idx) {
      soft_dice_loss(softmax(m.forward(gather(x, idx)), 1), gather(target, idx), 1).backward();
    };
  };
  train(dp, opt, n, 1, 0, 4, step(net));
  train(local, opt_ref, n, 2, 0, 4, step(ref));
  const double d = state_diff(net, ref);
  MESSAGE("max relative difference of weights and running statistics after 4 steps: " << d);
  CHECK(d < 1e-4);
  // The same run with rank-local batch norm drifts away: the check above can fail.
  DataParallel dp_local_bn(w, {&unsynced});
  dp_local_bn.broadcast_state();
  Adam opt_unsynced(unsynced.named_parameters(), AdamOptions{1e-3});
  train(dp_local_bn, opt_unsynced, n, 1, 0, 4, step(unsynced));
  const double d_local = state_diff(unsynced, ref);
  MESSAGE("the same with rank-local batch norm: " << d_local);
  CHECK(d_local > 100 * d);
}
