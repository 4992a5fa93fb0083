// A training run's folder as rank 0 keeps it: open (or resume) the run folder, mirror
// stdout into its log, keep metrics.csv with one row per epoch, save checkpoints every
// run.checkpoint_every epochs (and after the last, and wherever a stop asks for one), and
// on a restart load the newest readable checkpoint (falling back past corrupt ones, and
// saying so) with the metrics rows of later epochs dropped, so that an interrupted run ends
// with the same numbers as an uninterrupted one. Fatal errors are appended to the log.
// The training loop (training_loop.h) drives it; rank 0 alone owns the folder.
//
//   TrainingRun run(cfg, "segment-clinical", opt, {"train_loss", "test_soft_dice"});
//   if (run.done()) return;
//   auto r = run.resume(parts);                   // parts: modules, optimisers, generators
//   for (int64_t e = (r ? r->state.epoch : 0) + 1; e <= epochs; ++e) {
//     ... train and test ...
//     run.end_epoch(e, epochs, {loss, dice}, parts, {step, e, {}});
//   }
//   run.finish("best Dice ...");
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "experiments/run/csv_table.h"
#include "experiments/run/run_dir.h"
#include "experiments/run/stdout_tee.h"

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

  // Loads the newest readable checkpoint into `parts` (CheckpointDir::resume) and drops the
  // metrics rows of epochs after it; prints where it resumes and which corrupt files it
  // passed over. Nothing when starting fresh.
  std::optional<ResumedCheckpoint> resume(const nn::CheckpointParts& parts);
  // One metrics row (the epoch, then `metrics` in column order), then a checkpoint when
  // epoch is a multiple of run.checkpoint_every or epoch == last_epoch.
  void end_epoch(int64_t epoch, int64_t last_epoch, const std::vector<double>& metrics, const nn::CheckpointParts& parts,
                 const nn::CheckpointState& state);
  // A checkpoint of any position (a stop in the middle of an epoch).
  std::filesystem::path save(const nn::CheckpointParts& parts, const nn::CheckpointState& state, RunPosition at);
  // The metrics of the newest row of metrics.csv (without the epoch); nothing when empty.
  std::optional<std::vector<double>> last_metrics() const;
  // Marks the run finished (RunDir::mark_done).
  void finish(const std::string& summary = "");
  // Stops mirroring stdout, having written everything printed so far to the log.
  void close_log();
  // Appends "=== <time> <what>: <message>" to the log (after close_log()).
  void log_line(const std::string& what, const std::string& message);

 private:
  RunDir dir_;
  std::unique_ptr<StdoutTee> tee_;
  std::unique_ptr<CsvAppender> metrics_;
  int64_t checkpoint_every_;
};

// Appends a line to a run's log.txt without opening the run (a rank other than 0 reporting
// its fatal error); does nothing when the file cannot be opened.
void append_to_log(const std::filesystem::path& log, const std::string& line);
// "2024-05-01 12:00:00 UTC".
std::string utc_now();

// For commands that use a finished (or running) run: its resolved config, and its newest
// readable checkpoint loaded into `parts` (corrupt newer ones passed over with a warning on
// stderr; an error naming `what` and the folder when there is none yet).
Config run_config(const std::string& run_dir);
nn::CheckpointState load_newest_checkpoint(const std::string& run_dir, const char* what, const nn::CheckpointParts& parts);

}  // namespace pn::experiments
