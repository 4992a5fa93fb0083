// TrainingRun: an interrupted and resumed run ends with the same weights, metrics and
// log lines as an uninterrupted one, whatever epoch it was interrupted in.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "autograd/ops/elementwise.h"
#include "autograd/ops/reduce.h"
#include "experiments/config/config_presets.h"
#include "experiments/run/training_run.h"
#include "nn/layers.h"
#include "nn/optim.h"
#include "tests/experiments/error_text.h"
#include "tests/experiments/resume_check.h"

using namespace pn;
using namespace pn::experiments;
namespace fs = std::filesystem;

namespace {

using pn::test::file_text;

struct Result {
  std::vector<double> weights;
  std::string metrics;
};

// Trains a linear regression for `epochs` epochs on data drawn from the run's generator,
// stopping (as if killed) after `stop_after` epochs; a second call resumes.
Result train(const Config& cfg, const fs::path& out, int64_t epochs, int64_t stop_after, uint64_t init_seed) {
  TrainingRun run(cfg, "t", {out.string(), false, {}}, {"loss", "weight_norm"}, /*mirror_log=*/false);
  Generator init(init_seed);  // weights of a fresh process; replaced on resume
  nn::Linear lin(3, 1, init);
  nn::Adam opt(lin.named_parameters(), nn::AdamOptions{0.05});
  Generator gen(static_cast<uint64_t>(cfg.integer("run.seed")));
  nn::CheckpointParts parts{{{"net", &lin}}, {{"opt", &opt}}, {{"data", &gen}}};
  const auto resumed = run.resume(parts);
  int64_t step = resumed ? resumed->state.step : 0;
  for (int64_t e = (resumed ? resumed->state.epoch : 0) + 1; e <= std::min(epochs, stop_after); ++e) {
    double total = 0;
    for (int s = 0; s < 3; ++s, ++step) {
      Tensor x = Tensor::randn({4, 3}, gen), y = Tensor::randn({4, 1}, gen);
      Tensor loss = mean(square(sub(lin.forward(x), y)));
      opt.zero_grad();
      loss.backward();
      opt.step();
      total += loss.item();
    }
    double norm = 0;
    for (double w : lin.named_parameters().front().second.to_vector()) norm += w * w;
    run.end_epoch(e, epochs, {total / 3, norm}, parts, {step, e, {}});
  }
  if (stop_after >= epochs) run.finish("ok");
  return {lin.named_parameters().front().second.to_vector(), file_text(run.dir().metrics_path())};
}

}  // namespace

TEST_CASE("training run: resumed runs end exactly like an uninterrupted one") {
  const auto root = pn::test::scratch_dir("training-run");
  for (int64_t every : {1, 2}) {
    Config cfg = load_preset("small");
    cfg.set("run.checkpoint_every=" + std::to_string(every));
    Result whole = train(cfg, root / ("whole" + std::to_string(every)), 5, 5, 1);
    CHECK(fs::exists(root / ("whole" + std::to_string(every)) / "DONE"));
    for (int64_t stop : {1, 2, 3, 4}) {
      const auto dir = root / fmt::format("every{}-stop{}", every, stop);
      train(cfg, dir, 5, stop, 1);
      CHECK_FALSE(fs::exists(dir / "DONE"));
      std::ofstream(dir / "metrics.csv", std::ios::app) << "9,0.";  // killed while writing a row
      // With a checkpoint, the weights come from it: a different fresh init must not
      // matter. Without one (stopped before the first), the run starts over from its seed.
      Result resumed = train(cfg, dir, 5, 5, stop >= every ? 77 : 1);
      INFO("checkpoint every " << every << ", stopped after epoch " << stop);
      CHECK(resumed.weights == whole.weights);
      CHECK(resumed.metrics == whole.metrics);
      CHECK(fs::exists(dir / "DONE"));
    }
  }
  // The checkpoints kept: the newest run.keep_checkpoints.
  CHECK(CheckpointDir(root / "whole1" / "checkpoints").list().size() == 2);
}

TEST_CASE("training run: the log mirrors stdout and records starts and resumptions") {
  const auto root = pn::test::scratch_dir("training-run-log");
  Config cfg = load_preset("small");
  {
    TrainingRun run(cfg, "t", {(root / "r").string(), false, {}}, {"loss"});
    std::printf("epoch 1 loss 0.5\n");
  }
  {
    TrainingRun run(cfg, "t", {(root / "r").string(), false, {}}, {"loss"});
    run.finish("done here");
  }
  std::string log = file_text(root / "r" / "log.txt");
  INFO(log);
  CHECK(log.find(": new run, ") != std::string::npos);
  CHECK(log.find("epoch 1 loss 0.5\n") != std::string::npos);
  CHECK(log.find(": resumed run, ") != std::string::npos);
  CHECK(log.find("=== finished ") != std::string::npos);
  CHECK(log.find(": done here\n") != std::string::npos);
  CHECK(file_text(root / "r" / "DONE") == "done here\n");
  // A different metric set in the same folder is refused with the file and both sets.
  CHECK_ERROR_HAS(TrainingRun(cfg, "t", {(root / "r").string(), false, {}}, {"dice"}, false), "metrics.csv",
                  "has columns [epoch, loss], this run writes [epoch, dice]");
}
