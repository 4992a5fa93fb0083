// What every training command does around its epoch loop, in one place: open (or resume)
// the run folder, mirror stdout into its log, keep metrics.csv with one row per epoch,
// save checkpoints every run.checkpoint_every epochs (and after the last), and on a
// restart continue from the newest checkpoint with the metrics of later epochs dropped,
// so an interrupted run ends with the same numbers as an uninterrupted one.
//
//   TrainingRun run(cfg, "segment-clinical", opt, {"train_loss", "test_soft_dice"});
//   if (run.done()) return;
//   for (int64_t e = run.resume(parts, gen) + 1; e <= epochs; ++e) {
//     ... train and test ...
//     run.end_epoch(e, epochs, {loss, dice}, parts, gen, step);
//   }
//   run.finish("best Dice ...");
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "autograd/generator.h"
#include "experiments/csv_table.h"
#include "experiments/run_dir.h"
#include "experiments/stdout_tee.h"

namespace pn::experiments {

class TrainingRun {
 public:
  // metrics.csv gets the columns "epoch" + metric_columns. mirror_log = false leaves
  // stdout alone (for callers that already mirror it).
  TrainingRun(const Config& cfg, const std::string& default_name, const RunDirOptions& opt,
              std::vector<std::string> metric_columns, bool mirror_log = true);
  ~TrainingRun();

  const RunDir& dir() const { return dir_; }
  bool done() const { return dir_.done(); }
  CsvAppender& metrics() { return *metrics_; }

  // Loads the newest checkpoint into `parts` and the generator's state; drops metrics
  // rows of epochs after it. Returns the epochs already done (0 when starting fresh);
  // `step`, when given, receives the checkpoint's step.
  int64_t resume(const nn::CheckpointParts& parts, Generator& gen, int64_t* step = nullptr);
  // One metrics row (the epoch, then `metrics` in column order), then a checkpoint when
  // epoch is a multiple of run.checkpoint_every or epoch == last_epoch.
  void end_epoch(int64_t epoch, int64_t last_epoch, const std::vector<double>& metrics, const nn::CheckpointParts& parts,
                 const Generator& gen, int64_t step);
  // Marks the run finished (RunDir::mark_done).
  void finish(const std::string& summary = "");

 private:
  RunDir dir_;
  std::unique_ptr<StdoutTee> tee_;
  std::unique_ptr<CsvAppender> metrics_;
  int64_t checkpoint_every_;
};

// For commands that use a finished (or running) run: its resolved config, and its newest
// checkpoint (an error naming `what` and the folder when there is none yet).
Config run_config(const std::string& run_dir);
std::string newest_checkpoint(const std::string& run_dir, const char* what);

}  // namespace pn::experiments
