// A run's output folder: <run.root>/<name> (or --out), holding
//   config.toml       the resolved config (rewritten on every start)
//   log.txt           everything printed to stdout (StdoutTee, stdout_tee.h), appended
//   metrics.csv       one row per epoch (CsvAppender, csv_table.h)
//   heldout_metrics.csv  the final model on the held-out set, one row per volume
//   checkpoints/      CheckpointDir (checkpoint_dir.h)
//   DONE              written when the run finished; `study` skips finished runs
// Opening a folder that already holds a run resumes it, but only when the config is the
// same apart from keys about where and how it runs (run.* but run.seed); otherwise the
// error lists the keys that differ. --restart empties a run folder first. A non-empty
// folder that holds no run is never touched.
#pragma once
#include <filesystem>
#include <functional>
#include <string>

#include "experiments/run/checkpoint_dir.h"
#include "experiments/config/config.h"

namespace pn::experiments {

struct RunDirOptions {
  std::string out;       // the folder itself; empty: <run.root>/<run.name, or the default name>
  bool restart = false;  // empty an existing run folder and start over
  // Called by the training loop after every training step with the steps of the run done
  // so far (tests: stop or crash a run at a chosen step; instrumentation).
  std::function<void(int64_t steps_done)> after_step;
};

// File names inside a run folder (for readers that must not open, and so rewrite, a run).
namespace run_files {
inline constexpr const char* kConfig = "config.toml";
inline constexpr const char* kLog = "log.txt";
inline constexpr const char* kMetrics = "metrics.csv";                 // one row per epoch
inline constexpr const char* kHeldoutMetrics = "heldout_metrics.csv";  // final model, one row per volume
inline constexpr const char* kCheckpoints = "checkpoints";
inline constexpr const char* kDone = "DONE";
}  // namespace run_files

// True for keys that may change when a run is resumed (threads, device, paths...).
bool key_may_change_on_resume(const std::string& key);

class RunDir {
 public:
  static RunDir open(const Config& cfg, const std::string& default_name, const RunDirOptions& opt = {});

  const std::filesystem::path& path() const { return path_; }
  bool resuming() const { return resuming_; }
  std::filesystem::path file(const std::string& name) const { return path_ / name; }
  std::filesystem::path config_path() const { return file(run_files::kConfig); }
  std::filesystem::path log_path() const { return file(run_files::kLog); }
  std::filesystem::path metrics_path() const { return file(run_files::kMetrics); }
  std::filesystem::path heldout_metrics_path() const { return file(run_files::kHeldoutMetrics); }
  CheckpointDir checkpoints() const { return CheckpointDir(file(run_files::kCheckpoints), keep_); }
  bool done() const;
  void mark_done(const std::string& summary = "") const;

 private:
  std::filesystem::path path_;
  bool resuming_ = false;
  int keep_ = 2;
};

}  // namespace pn::experiments
