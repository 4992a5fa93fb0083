// A run's checkpoint folder: one safetensors file per saved epoch
// ("epoch-000012.safetensors", written atomically by nn::save_checkpoint), the newest
// `keep` kept, and resuming from the newest one. Temporary files of interrupted writes
// and files of other names are ignored.
#pragma once
#include <filesystem>
#include <optional>
#include <utility>
#include <vector>

#include "nn/checkpoint.h"

namespace pn::experiments {

class CheckpointDir {
 public:
  explicit CheckpointDir(std::filesystem::path dir, int keep = 2);

  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path path_for(int64_t epoch) const;
  // (epoch, file), oldest first.
  std::vector<std::pair<int64_t, std::filesystem::path>> list() const;
  std::optional<std::filesystem::path> latest() const;

  // Saves state.epoch's checkpoint, then deletes all but the `keep` newest.
  std::filesystem::path save(const nn::CheckpointParts& parts, const nn::CheckpointState& state) const;
  // Loads the newest checkpoint into `parts` (in place) and returns its state; nothing
  // when the folder has none (a fresh run).
  std::optional<nn::CheckpointState> resume(const nn::CheckpointParts& parts) const;

 private:
  std::filesystem::path dir_;
  int keep_;
};

}  // namespace pn::experiments
