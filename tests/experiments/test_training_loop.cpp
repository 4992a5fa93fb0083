// The training loop (experiments/train/training_loop.h) with a toy trainer (noisy linear
// regression): a stop signal at a random step saves the state there and the resumed run
// ends bit for bit like an uninterrupted one; so does a crash (the state of its last
// checkpoint); a corrupt newest checkpoint is passed over, saying so; and every guard stops
// with a message that names the problem: no data, a global batch larger than the data, a
// resume with another batch or data size, NaN in a checkpoint or in the loss. Fatal errors
// reach the run's log.txt.
#include <doctest/doctest.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <random>

#include "autograd/ops/elementwise.h"
#include "autograd/ops/reduce.h"
#include "experiments/config/config_presets.h"
#include "experiments/train/training_loop.h"
#include "nn/data_parallel.h"
#include "nn/grad_scaler.h"
#include "nn/layers.h"
#include "nn/optim.h"
#include "nn/safetensors.h"
#include "tests/experiments/error_text.h"
#include "tests/experiments/resume_check.h"

using namespace pn;
using namespace pn::experiments;
namespace fs = std::filesystem;

namespace {

struct Toy {
  int64_t samples = 12, batch = 2, epochs = 3;
  int64_t nan_at = -1;  // a step (of the run) whose loss is NaN
  int64_t skip_at = -1;  // a step whose loss and gradients are inf, skipped by a tracked loss scaler
  int64_t checkpoint_every = 1;
  std::function<void(int64_t)> after_step;
  std::function<void(int64_t)> on_evaluate;  // called with the epoch in its evaluation
  std::function<void()> before_finish;
};

struct ToyResult {
  std::vector<double> weights;
  std::string metrics;
};

// 3 epochs over 12 samples, batch 2: 18 steps; inputs get per-sample noise from a tracked
// noise generator; the epoch metric is the weight norm.
ToyResult train_toy(const fs::path& out, const Toy& toy) {
  Config cfg = load_preset("small");
  cfg.set("run.threads=1");
  cfg.set(fmt::format("run.checkpoint_every={}", toy.checkpoint_every));
  RunDirOptions ro;
  ro.out = out.string();
  ro.after_step = toy.after_step;
  TrainingLoop loop(cfg, {"toy train", "toy", {"loss"}, {"weight_norm"}, toy.epochs, toy.batch, "toy.batch"}, ro);
  return loop.guard([&] {
    Generator init(3), noise(4), data_gen(5);
    nn::Linear lin(3, 1, init);
    nn::Adam opt(lin.named_parameters(), nn::AdamOptions{0.05});
    nn::GradScaler scaler({.enabled = true, .init_scale = 1.0});  // tracked only with skip_at
    loop.track({{{"net", &lin}}, {{"opt", &opt}}, {{"noise", &noise}}, {}});
    if (toy.skip_at >= 0) loop.track({{}, {}, {}, {{"opt", &scaler}}});
    loop.add_noise(noise);
    loop.plan(toy.samples, 0, "samples");
    loop.resume();
    const std::vector<double> xs = Tensor::randn({toy.samples, 3}, data_gen).to_vector();
    TrainerHooks hooks;
    hooks.step = [&](const StepContext& c) {
      const auto idx = nn::rank_batch(nn::epoch_order(toy.samples, 7, c.epoch), c.step, toy.batch, 0, 1);
      std::vector<double> x, y;
      for (int64_t i : idx) {
        x.insert(x.end(), xs.begin() + 3 * i, xs.begin() + 3 * i + 3);
        y.push_back(xs[3 * i] - 2 * xs[3 * i + 1]);
      }
      Tensor xt = Tensor::from_vector(x, {toy.batch, 3}) + Tensor::randn({toy.batch, 3}, noise) * 0.1;
      Tensor loss = mean(square(sub(lin.forward(xt), Tensor::from_vector(y, {toy.batch, 1}))));
      opt.zero_grad();
      loss.backward();
      if (c.global_step == toy.skip_at) {
        for (auto& [name, w] : lin.named_parameters()) w.set_grad(Tensor::full(w.shape(), INFINITY));
        CHECK(!scaler.step(opt));
        return std::vector<double>{INFINITY};
      }
      opt.step();
      return std::vector<double>{c.global_step == toy.nan_at ? NAN : loss.item()};
    };
    hooks.evaluate = [&](int64_t epoch) {
      if (toy.on_evaluate) toy.on_evaluate(epoch);
      double n = 0;
      for (double w : lin.named_parameters().front().second.to_vector()) n += w * w;
      return std::vector<double>{std::sqrt(n)};
    };
    loop.run(hooks);
    if (toy.before_finish) toy.before_finish();
    loop.finish("toy done");
    return ToyResult{lin.named_parameters().front().second.to_vector(), pn::test::file_text(loop.run_dir() / "metrics.csv")};
  });
}

// A random step of the run in [lo, hi], reported so that a failure can be replayed.
int64_t random_step(int64_t lo, int64_t hi) {
  static std::mt19937_64 rng(std::random_device{}());
  const int64_t k = std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  MESSAGE("stopping after step " << k);
  return k;
}

std::function<void(int64_t)> raise_at(int64_t step, int sig) {
  return [=](int64_t done) {
    if (done == step) std::raise(sig);
  };
}

}  // namespace

TEST_CASE("training loop: a stop signal saves the state after its step; the resumed run is bit for bit the same") {
  const auto root = pn::test::scratch_dir("loop-signal");
  const ToyResult whole = train_toy(root / "whole", {});
  CHECK(fs::exists(root / "whole" / "DONE"));
  // A random step inside an epoch, one at an epoch's end, and SIGINT (Ctrl-C) too.
  int run = 0;
  for (const auto& [k, sig] : {std::pair{random_step(1, 17), SIGTERM}, std::pair{int64_t{6}, SIGTERM},
                               std::pair{random_step(1, 17), SIGINT}}) {
    const fs::path dir = root / fmt::format("run{}-stop{}-{}", ++run, k, sig);
    Toy stopped;
    stopped.after_step = raise_at(k, sig);
    int code = 0;
    std::string message;
    try {
      train_toy(dir, stopped);
    } catch (const Interrupted& e) {
      code = e.exit_code();
      message = e.what();
    }
    INFO(message);
    CHECK(code == 128 + sig);
    CHECK(message.find(fmt::format("stopped by {}", signal_name(sig))) != std::string::npos);
    CHECK(message.find("to resume, run the same command again:") != std::string::npos);
    const RunPosition at{k / 6, k % 6};
    CHECK(fs::exists(CheckpointDir(dir / "checkpoints").path_for(at)));
    CHECK(message.find(CheckpointDir(dir / "checkpoints").path_for(at).string()) != std::string::npos);
    CHECK(pn::test::file_text(dir / "log.txt").find("to resume, run the same command again") != std::string::npos);
    CHECK_FALSE(fs::exists(dir / "DONE"));
    const ToyResult resumed = train_toy(dir, {});
    CHECK(resumed.weights == whole.weights);
    CHECK(resumed.metrics == whole.metrics);
    // The mid-epoch checkpoint went once the epoch it was in had its own.
    for (const auto& f : CheckpointDir(dir / "checkpoints").list()) CHECK(f.at.step == 0);
  }
}

TEST_CASE("training loop: a stop during an epoch's evaluation stops right after it, with that epoch saved") {
  const auto root = pn::test::scratch_dir("loop-evaluation");
  const ToyResult whole = train_toy(root / "whole", {});
  for (int64_t e : {1, 3}) {
    const fs::path dir = root / fmt::format("stop-in-{}", e);
    Toy stopped;
    stopped.checkpoint_every = 2;  // epoch 1's checkpoint is not due: the stop writes it
    stopped.on_evaluate = [e](int64_t epoch) {
      if (epoch == e) std::raise(SIGTERM);
    };
    std::string message;
    try {
      train_toy(dir, stopped);
    } catch (const Interrupted& ex) {
      message = ex.what();
    }
    CHECK(message.find(fmt::format("stopped by SIGTERM after epoch {} (step {} of 18", e, 6 * e)) != std::string::npos);
    CHECK(fs::exists(CheckpointDir(dir / "checkpoints").path_for(e)));
    CHECK_FALSE(fs::exists(dir / "DONE"));  // the last epoch too: the resume does what follows it
    Toy plain;
    plain.checkpoint_every = 2;
    const ToyResult resumed = train_toy(dir, plain);
    CHECK(resumed.weights == whole.weights);
    CHECK(resumed.metrics == whole.metrics);
    CHECK(fs::exists(dir / "DONE"));
  }
  // After the last epoch (rank 0's final work): the run is complete and marked so, and the
  // stop still ends the process with the signal's code (a study does not go on).
  Toy after;
  after.before_finish = [] { std::raise(SIGTERM); };
  std::string message;
  try {
    train_toy(root / "after", after);
  } catch (const Interrupted& ex) {
    message = ex.what();
  }
  CHECK(message.find("stopped by SIGTERM; the run is complete") != std::string::npos);
  CHECK(fs::exists(root / "after" / "DONE"));
}

TEST_CASE("training loop: a crash at a random step resumes from the last checkpoint, bit for bit; the log says why") {
  const auto root = pn::test::scratch_dir("loop-crash");
  const ToyResult whole = train_toy(root / "whole", {});
  const int64_t k = random_step(1, 18);
  Toy crash;
  crash.after_step = [k](int64_t done) {
    if (done == k) throw Error("planted crash");
  };
  CHECK_ERROR_HAS(train_toy(root / "crash", crash), "planted crash");
  CHECK(pn::test::file_text(root / "crash" / "log.txt").find(" error: planted crash") != std::string::npos);
  const ToyResult resumed = train_toy(root / "crash", {});
  CHECK(resumed.weights == whole.weights);
  CHECK(resumed.metrics == whole.metrics);
}

TEST_CASE("training loop: a stop at an epoch's end writes its checkpoint even when none is due") {
  const auto root = pn::test::scratch_dir("loop-every");
  Toy every2;
  every2.checkpoint_every = 2;
  const ToyResult whole = train_toy(root / "whole", every2);
  Toy stopped = every2;
  stopped.after_step = raise_at(6, SIGTERM);
  CHECK_THROWS_AS(train_toy(root / "run", stopped), Interrupted);
  CHECK(fs::exists(CheckpointDir(root / "run" / "checkpoints").path_for(1)));
  const ToyResult resumed = train_toy(root / "run", every2);
  CHECK(resumed.weights == whole.weights);
  CHECK(resumed.metrics == whole.metrics);
}

TEST_CASE("training loop: a corrupt newest checkpoint is passed over, saying so, and the run still ends the same") {
  const auto root = pn::test::scratch_dir("loop-corrupt");
  const ToyResult whole = train_toy(root / "whole", {});
  Toy stopped;
  stopped.after_step = raise_at(15, SIGTERM);  // epoch-000002 and epoch-000002-step-000003 kept
  CHECK_THROWS_AS(train_toy(root / "run", stopped), Interrupted);
  const fs::path newest = CheckpointDir(root / "run" / "checkpoints").path_for(RunPosition{2, 3});
  REQUIRE(fs::exists(newest));
  fs::resize_file(newest, fs::file_size(newest) - 100);  // torn
  const ToyResult resumed = train_toy(root / "run", {});
  const std::string log = pn::test::file_text(root / "run" / "log.txt");
  INFO(log);
  CHECK(log.find("warning: passing over a corrupt checkpoint: " + newest.string()) != std::string::npos);
  CHECK(log.find("resuming from epoch-000002.safetensors (the older checkpoint kept: the newer one is corrupt)") !=
        std::string::npos);
  CHECK(resumed.weights == whole.weights);
  CHECK(resumed.metrics == whole.metrics);
  // With every checkpoint corrupt, it stops and says how to go on.
  Toy again;
  again.after_step = raise_at(3, SIGTERM);
  CHECK_THROWS_AS(train_toy(root / "all", again), Interrupted);
  for (const auto& f : CheckpointDir(root / "all" / "checkpoints").list()) fs::resize_file(f.path, 50);
  CHECK_ERROR_HAS(train_toy(root / "all", {}), "every checkpoint is unreadable", "--restart");
}

TEST_CASE("training loop guards: no data, a global batch larger than the data (no step per epoch)") {
  const auto root = pn::test::scratch_dir("loop-guards");
  Toy none;
  none.samples = 0;
  CHECK_ERROR_HAS(train_toy(root / "none", none), "toy train: no training samples");
  Toy big;
  big.samples = 5;
  big.batch = 6;
  CHECK_ERROR_HAS(train_toy(root / "big", big), "the global batch, 1 rank(s) x toy.batch 6 = 6, is larger than the 5 "
                  "training samples: an epoch (one pass) would have no step", "Use fewer ranks or a smaller toy.batch");
  // The error is in the run's log too.
  CHECK(pn::test::file_text(root / "big" / "log.txt").find("error: toy train: the global batch") != std::string::npos);
}

TEST_CASE("training loop guards: a resume with another batch or other data is refused") {
  const auto root = pn::test::scratch_dir("loop-resume-guards");
  Toy stopped;
  stopped.after_step = raise_at(4, SIGTERM);
  CHECK_THROWS_AS(train_toy(root / "run", stopped), Interrupted);
  Toy other_batch;
  other_batch.batch = 3;
  CHECK_ERROR_HAS(train_toy(root / "run", other_batch), "was trained on 1 rank(s) x batch 2 (global batch 2), and is "
                  "now started on 1 rank(s) x batch 3 (global batch 3)", "--restart");
  Toy more_data;
  more_data.samples = 16;
  CHECK_ERROR_HAS(train_toy(root / "run", more_data), "was trained with 6 steps per epoch, the data now give 8 (16 "
                  "training samples): the training data changed");
  // Another rank count: the checkpoint says 2 ranks, this is 1 process.
  const fs::path ck = CheckpointDir(root / "run" / "checkpoints").path_for(RunPosition{0, 4});
  nn::SafetensorsFile f = nn::load_safetensors(ck.string());
  f.metadata["loop.ranks"] = "2";
  f.metadata.erase("checksum");
  nn::save_safetensors(ck.string(), f.tensors, f.metadata);
  CHECK_ERROR_HAS(train_toy(root / "run", {}), "was trained on 2 rank(s) x batch 2 (global batch 4), and is now "
                  "started on 1 rank(s) x batch 2 (global batch 2)", "Resume it on 2 rank(s) (mpirun -np 2)");
}

TEST_CASE("training loop guards: NaN in a checkpoint stops the resume; a NaN loss stops the run before it is saved") {
  const auto root = pn::test::scratch_dir("loop-nan");
  Toy stopped;
  stopped.after_step = raise_at(4, SIGTERM);
  CHECK_THROWS_AS(train_toy(root / "run", stopped), Interrupted);
  const fs::path ck = CheckpointDir(root / "run" / "checkpoints").path_for(RunPosition{0, 4});
  nn::SafetensorsFile f = nn::load_safetensors(ck.string());
  f.tensors[0].second.data<float>()[1] = NAN;
  f.metadata.erase("checksum");
  nn::save_safetensors(ck.string(), f.tensors, f.metadata);
  CHECK_ERROR_HAS(train_toy(root / "run", {}), "holds NaN or infinite values", f.tensors[0].first.c_str(),
                  "(1 NaN or infinite of 3)");
  Toy nan;
  nan.nan_at = 8;
  CHECK_ERROR_HAS(train_toy(root / "nan", nan), "toy train: the loss is nan at epoch 2, step 3 (the training diverged");
  CHECK(CheckpointDir(root / "nan" / "checkpoints").list().back().at.epoch == 1);
  CHECK(pn::test::file_text(root / "nan" / "log.txt").find("error: toy train: the loss is nan") != std::string::npos);
}

TEST_CASE("training loop: an inf step the loss scaler skipped is left out of the epoch's mean, also across a resume") {
  const auto root = pn::test::scratch_dir("loop-skip");
  Toy skip;
  skip.skip_at = 8;  // epoch 2, step 3
  const ToyResult whole = train_toy(root / "whole", skip);
  const std::string log = pn::test::file_text(root / "whole" / "log.txt");
  CHECK(log.find("1 skipped step(s) with inf/NaN values left out of these means") != std::string::npos);
  CHECK(whole.metrics.find("inf") == std::string::npos);
  CHECK(whole.metrics.find("nan") == std::string::npos);
  // Stopped after step 10 (the skip behind it, the epoch unfinished), resumed: the same means.
  skip.after_step = raise_at(10, SIGTERM);
  CHECK_THROWS_AS(train_toy(root / "stopped", skip), Interrupted);
  skip.after_step = {};
  CHECK(train_toy(root / "stopped", skip).metrics == whole.metrics);
}

TEST_CASE("training loop: progress with the ETA of the whole run; a finished run is left alone") {
  const auto root = pn::test::scratch_dir("loop-progress");
  train_toy(root / "run", {});
  const std::string log = pn::test::file_text(root / "run" / "log.txt");
  CHECK(log.find("toy train: 3 epochs of 6 steps, 1 rank(s) x batch 2 (global batch 2), on cpu") != std::string::npos);
  CHECK(log.find("epoch 1/3: loss ") != std::string::npos);
  CHECK(log.find("| run 33%, ") != std::string::npos);
  CHECK(log.find("| run 100%, ") != std::string::npos);
  CHECK(log.find(" ETA ") != std::string::npos);
  const std::string metrics = pn::test::file_text(root / "run" / "metrics.csv");
  int64_t steps = 0;
  Toy counting;
  counting.after_step = [&](int64_t) { ++steps; };
  CHECK(train_toy(root / "run", counting).metrics == metrics);
  CHECK(steps == 0);
}

TEST_CASE("fault plans from PENUMBRA_FAULT") {
  ::setenv("PENUMBRA_FAULT", "TERM@5", 1);
  auto p = fault_plan_from_env();
  REQUIRE(p.has_value());
  CHECK(p->signal == SIGTERM);
  CHECK(p->after_steps == 5);
  CHECK(p->rank == -1);
  ::setenv("PENUMBRA_FAULT", "KILL@12:1", 1);
  p = fault_plan_from_env();
  CHECK(p->signal == SIGKILL);
  CHECK(p->rank == 1);
  ::setenv("PENUMBRA_FAULT", "ERROR@2", 1);
  p = fault_plan_from_env();
  CHECK(p->signal == 0);
  CHECK_ERROR_HAS(apply_fault(*p, 2, 0), "planted error after step 2 on rank 0");
  CHECK_NOTHROW(apply_fault(*p, 3, 0));
  for (const char* bad : {"TERM", "HUP@3", "TERM@0", "TERM@3:", "TERM@3x"}) {
    ::setenv("PENUMBRA_FAULT", bad, 1);
    CHECK_ERROR_HAS(fault_plan_from_env(), "expected <KILL|TERM|INT|ERROR>@<steps>[:<rank>]");
  }
  ::unsetenv("PENUMBRA_FAULT");
  CHECK_FALSE(fault_plan_from_env().has_value());
}
