#include "experiments/checkpoint_dir.h"

#include <algorithm>
#include <cstdlib>

#include "autograd/error.h"

namespace pn::experiments {

namespace fs = std::filesystem;

CheckpointDir::CheckpointDir(fs::path dir, int keep) : dir_(std::move(dir)), keep_(keep) {
  PN_CHECK(keep_ >= 1, "{}: keep at least one checkpoint (got {})", dir_.string(), keep_);
}

fs::path CheckpointDir::path_for(int64_t epoch) const {
  PN_CHECK(epoch >= 0, "{}: negative epoch {}", dir_.string(), epoch);
  return dir_ / fmt::format("epoch-{:06}.safetensors", epoch);
}

std::vector<std::pair<int64_t, fs::path>> CheckpointDir::list() const {
  std::vector<std::pair<int64_t, fs::path>> out;
  if (!fs::is_directory(dir_)) return out;
  const std::string prefix = "epoch-", suffix = ".safetensors";
  for (const auto& e : fs::directory_iterator(dir_)) {
    std::string n = e.path().filename().string();
    if (!e.is_regular_file() || n.size() <= prefix.size() + suffix.size() || n.rfind(prefix, 0) != 0 ||
        n.compare(n.size() - suffix.size(), suffix.size(), suffix) != 0)
      continue;
    std::string digits = n.substr(prefix.size(), n.size() - prefix.size() - suffix.size());
    if (digits.empty() || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    out.emplace_back(std::strtoll(digits.c_str(), nullptr, 10), e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<fs::path> CheckpointDir::latest() const {
  auto l = list();
  if (l.empty()) return std::nullopt;
  return l.back().second;
}

fs::path CheckpointDir::save(const nn::CheckpointParts& parts, const nn::CheckpointState& state) const {
  fs::create_directories(dir_);
  fs::path p = path_for(state.epoch);
  nn::save_checkpoint(p.string(), parts, state);
  auto l = list();
  for (size_t i = 0; i + static_cast<size_t>(keep_) < l.size(); ++i) fs::remove(l[i].second);
  return p;
}

std::optional<nn::CheckpointState> CheckpointDir::resume(const nn::CheckpointParts& parts) const {
  auto p = latest();
  if (!p) return std::nullopt;
  return nn::load_checkpoint(p->string(), parts);
}

}  // namespace pn::experiments
