// A run's checkpoint folder. One safetensors file per saved position of the run, written
// atomically by nn::save_checkpoint: "epoch-000012.safetensors" after epoch 12, and
// "epoch-000012-step-000037.safetensors" after epoch 12 and 37 steps of epoch 13 (a run
// stopped by a signal in the middle of an epoch). The newest `keep` are kept, and a
// mid-epoch file goes once an end-of-epoch one after it exists. Resuming reads the newest
// file; when it is corrupt (torn, truncated, altered: nn::read_checkpoint) it says so and
// falls back to the next older one. Temporary files of interrupted writes and files of
// other names are ignored.
#pragma once
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "nn/checkpoint.h"

namespace pn::experiments {

// A position in a run: `epoch` epochs done, then `step` steps of the next one.
struct RunPosition {
  int64_t epoch = 0, step = 0;
  auto operator<=>(const RunPosition&) const = default;
};

struct CheckpointFile {
  RunPosition at;
  std::filesystem::path path;
};

struct ResumedCheckpoint {
  std::filesystem::path path;
  nn::CheckpointState state;
  std::vector<std::string> skipped;  // newer files that were corrupt, each with the reason
};

class CheckpointDir {
 public:
  explicit CheckpointDir(std::filesystem::path dir, int keep = 2);

  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path path_for(RunPosition at) const;
  std::filesystem::path path_for(int64_t epoch) const { return path_for(RunPosition{epoch, 0}); }
  // Oldest first.
  std::vector<CheckpointFile> list() const;
  std::optional<std::filesystem::path> latest() const;

  // Saves the checkpoint of position `at` (state.epoch must be at.epoch), then prunes.
  std::filesystem::path save(const nn::CheckpointParts& parts, const nn::CheckpointState& state,
                             RunPosition at) const;
  std::filesystem::path save(const nn::CheckpointParts& parts, const nn::CheckpointState& state) const {
    return save(parts, state, RunPosition{state.epoch, 0});
  }
  // Loads the newest readable checkpoint into `parts` (in place); nothing when the folder
  // has none (a fresh run). Corrupt newer files are skipped and listed; when every file is
  // corrupt it is an error. A readable file that does not fit `parts`, or holds NaN, is an
  // error (not a fallback: an older file would lead to the same state).
  std::optional<ResumedCheckpoint> resume(const nn::CheckpointParts& parts) const;

 private:
  std::filesystem::path dir_;
  int keep_;
};

}  // namespace pn::experiments
