// Data parallel on 2 MPI ranks, continued: a WGAN-GP critic and generator step (second
// derivatives inside each rank, gradients averaged after), compared with one process and
// the doubled batch; and resuming a 2-rank run from a checkpoint, which must continue
// bit for bit like the uninterrupted run. Per-sample randomness (latents, interpolation
// weights) is drawn once per sample index, so every split of a batch sees the same values.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <unistd.h>

#include "autograd/engine.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/loss.h"
#include "autograd/ops/reduce.h"
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

// Critic: conv3d 4^3 -> 2^3 (stride 2), LeakyReLU, linear to one score.
struct Critic : Module {
  std::shared_ptr<Sequential> body;
  std::shared_ptr<Linear> head;
  explicit Critic(Generator& gen) {
    body = register_module("body", std::make_shared<Sequential>());
    body->add(std::make_shared<Conv>(1, 3, ConvOptions{.dims = 3, .kernel = 3, .stride = 2, .padding = 1, .bias = true},
                                     gen));
    body->add(std::make_shared<LeakyReLU>(0.2));
    head = register_module("head", std::make_shared<Linear>(3 * 8, 1, gen));
  }
  Tensor forward(const Tensor& x) { return head->forward(body->forward(x).flatten(1)); }
  std::string describe() const override { return "Critic"; }
};

// Generator: z[8] -> linear -> tanh -> [1, 4, 4, 4].
struct Gen : Module {
  std::shared_ptr<Linear> fc;
  explicit Gen(Generator& gen) { fc = register_module("fc", std::make_shared<Linear>(8, 64, gen)); }
  Tensor forward(const Tensor& z) { return tanh(fc->forward(z)).reshape({z.shape()[0], 1, 4, 4, 4}); }
  std::string describe() const override { return "Gen"; }
};

struct GanRun {
  Generator gen_init;
  Critic critic;
  Gen gen;
  DataParallel dp_c, dp_g;
  Adam opt_c, opt_g;
  GanRun(uint64_t seed, std::shared_ptr<Communicator> comm)
      : gen_init(seed), critic(gen_init), gen(gen_init), dp_c(comm, {&critic}), dp_g(comm, {&gen}),
        opt_c(critic.named_parameters(), AdamOptions{2e-3, 0.5, 0.999}),
        opt_g(gen.named_parameters(), AdamOptions{2e-3, 0.5, 0.999}) {
    dp_c.broadcast_state();
    dp_g.broadcast_state();
  }
};

// One critic step (WGAN loss + 10 x gradient penalty) then one generator step.
void gan_step(GanRun& r, const Tensor& real_all, const Tensor& z_all, const Tensor& eps_all,
              const std::vector<int64_t>& idx) {
  Tensor real = gather(real_all, idx), z = gather(z_all, idx);
  Tensor e = gather(eps_all, idx).reshape({static_cast<int64_t>(idx.size()), 1, 1, 1, 1});
  r.opt_c.zero_grad();
  Tensor fake = r.gen.forward(z).detach();
  Tensor xhat = (e * real + rsub_scalar(1.0, e) * fake).detach().requires_grad_();
  Tensor g = grad({sum(r.critic.forward(xhat))}, {xhat}, {}, /*create_graph=*/true)[0];
  Tensor norm = sqrt(add_scalar(sum(square(g), {1, 2, 3, 4}), 1e-12));
  Tensor gp = mean(square(add_scalar(norm, -1.0)));
  Tensor loss_c = mean(r.critic.forward(fake)) - mean(r.critic.forward(real)) + gp * 10.0;
  loss_c.backward();
  r.dp_c.average_gradients();
  r.opt_c.step();
  r.opt_g.zero_grad();
  Tensor loss_g = -mean(r.critic.forward(r.gen.forward(z)));
  loss_g.backward();
  r.dp_g.average_gradients();
  r.opt_g.step();
}

void run_gan(GanRun& r, int64_t first, int64_t steps, int64_t per_rank_batch, const Tensor& real, const Tensor& z,
             const Tensor& eps) {
  const int64_t n = real.shape()[0];
  const int64_t per_epoch = steps_per_epoch(n, per_rank_batch, r.dp_c.size());
  for (int64_t s = first; s < first + steps; ++s) {
    auto order = epoch_order(n, 11, s / per_epoch);
    gan_step(r, real, z, eps, rank_batch(order, s % per_epoch, per_rank_batch, r.dp_c.rank(), r.dp_c.size()));
  }
}

struct GanData {
  Generator g{17};
  Tensor real = tanh(Tensor::randn({12, 1, 4, 4, 4}, g)), z = Tensor::randn({12, 8}, g), eps = Tensor::rand({12}, g);
};

}  // namespace

TEST_CASE("WGAN-GP critic and generator steps: 2 ranks x batch 2 = 1 process x batch 4") {
  auto w = world_communicator();
  GanData d;
  GanRun dp(300 + w->rank(), w), ref(300, local_communicator());
  run_gan(dp, 0, 5, 2, d.real, d.z, d.eps);
  run_gan(ref, 0, 5, 4, d.real, d.z, d.eps);
  const double dc = state_diff(dp.critic, ref.critic), dg = state_diff(dp.gen, ref.gen);
  MESSAGE("critic " << dc << ", generator " << dg);
  CHECK(dc < 1e-5);
  CHECK(dg < 1e-5);
  CHECK(dc + dg > 0);  // not trivially equal: the two runs batch differently
}

TEST_CASE("a 2-rank run resumed from a checkpoint continues bit for bit") {
  auto w = world_communicator();
  GanData d;
  // Both ranks need the same path: rank 0 picks it and broadcasts it.
  char path[256] = {};
  if (w->rank() == 0) {
    auto dir = std::filesystem::temp_directory_path() / ("pn_mpi_resume_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    std::snprintf(path, sizeof path, "%s/ckpt.safetensors", dir.c_str());
  }
  w->broadcast(path, sizeof path, 0);

  GanRun straight(400, w);
  run_gan(straight, 0, 6, 2, d.real, d.z, d.eps);

  GanRun first(400, w);
  run_gan(first, 0, 3, 2, d.real, d.z, d.eps);
  CheckpointParts parts{{{"critic", &first.critic}, {"generator", &first.gen}},
                        {{"opt_c", &first.opt_c}, {"opt_g", &first.opt_g}}, {}};
  if (w->rank() == 0) save_checkpoint(path, parts, CheckpointState{3, 0, {}});
  w->barrier();

  // A fresh process group member: different initial weights until the checkpoint loads.
  GanRun resumed(999 + w->rank(), w);
  CheckpointParts rparts{{{"critic", &resumed.critic}, {"generator", &resumed.gen}},
                         {{"opt_c", &resumed.opt_c}, {"opt_g", &resumed.opt_g}}, {}};
  CheckpointState st = load_checkpoint(path, rparts);
  CHECK(st.step == 3);
  run_gan(resumed, st.step, 3, 2, d.real, d.z, d.eps);
  CHECK(state_diff(resumed.critic, straight.critic) == 0.0);
  CHECK(state_diff(resumed.gen, straight.gen) == 0.0);
  w->barrier();
  if (w->rank() == 0) std::filesystem::remove_all(std::filesystem::path(path).parent_path());
}
