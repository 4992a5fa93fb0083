#include "experiments/run/checkpoint_dir.h"

#include <algorithm>
#include <cstdlib>

#include "autograd/error.h"

namespace pn::experiments {

namespace fs = std::filesystem;

namespace {

// "000012" -> 12; nothing for anything but digits.
std::optional<int64_t> digits(const std::string& s) {
  if (s.empty() || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
  return std::strtoll(s.c_str(), nullptr, 10);
}

// The position a file name stands for: epoch-E.safetensors or epoch-E-step-S.safetensors.
std::optional<RunPosition> parse_name(const std::string& n) {
  const std::string prefix = "epoch-", suffix = ".safetensors", mid = "-step-";
  if (n.size() <= prefix.size() + suffix.size() || n.rfind(prefix, 0) != 0 ||
      n.compare(n.size() - suffix.size(), suffix.size(), suffix) != 0)
    return std::nullopt;
  const std::string body = n.substr(prefix.size(), n.size() - prefix.size() - suffix.size());
  const size_t m = body.find(mid);
  const auto epoch = digits(body.substr(0, m));
  if (!epoch) return std::nullopt;
  if (m == std::string::npos) return RunPosition{*epoch, 0};
  const auto step = digits(body.substr(m + mid.size()));
  if (!step || *step == 0) return std::nullopt;
  return RunPosition{*epoch, *step};
}

}  // namespace

CheckpointDir::CheckpointDir(fs::path dir, int keep) : dir_(std::move(dir)), keep_(keep) {
  PN_CHECK(keep_ >= 1, "{}: keep at least one checkpoint (got {})", dir_.string(), keep_);
}

fs::path CheckpointDir::path_for(RunPosition at) const {
  PN_CHECK(at.epoch >= 0 && at.step >= 0, "{}: negative position (epoch {}, step {})", dir_.string(), at.epoch, at.step);
  if (at.step == 0) return dir_ / fmt::format("epoch-{:06}.safetensors", at.epoch);
  return dir_ / fmt::format("epoch-{:06}-step-{:06}.safetensors", at.epoch, at.step);
}

std::vector<CheckpointFile> CheckpointDir::list() const {
  std::vector<CheckpointFile> out;
  if (!fs::is_directory(dir_)) return out;
  for (const auto& e : fs::directory_iterator(dir_)) {
    if (!e.is_regular_file()) continue;
    if (auto at = parse_name(e.path().filename().string())) out.push_back({*at, e.path()});
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.at < b.at; });
  return out;
}

std::optional<fs::path> CheckpointDir::latest() const {
  auto l = list();
  if (l.empty()) return std::nullopt;
  return l.back().path;
}

fs::path CheckpointDir::save(const nn::CheckpointParts& parts, const nn::CheckpointState& state, RunPosition at) const {
  PN_CHECK(state.epoch == at.epoch, "{}: checkpoint state of epoch {} saved as epoch {}", dir_.string(), state.epoch,
           at.epoch);
  fs::create_directories(dir_);
  const fs::path p = path_for(at);
  nn::save_checkpoint(p.string(), parts, state);
  auto l = list();
  // A mid-epoch file is superseded by any end-of-epoch file after it.
  RunPosition newest_epoch_end{-1, 0};
  for (const auto& f : l)
    if (f.at.step == 0) newest_epoch_end = std::max(newest_epoch_end, f.at);
  std::erase_if(l, [&](const CheckpointFile& f) {
    const bool superseded = f.at.step > 0 && f.at < newest_epoch_end;
    if (superseded) fs::remove(f.path);
    return superseded;
  });
  for (size_t i = 0; i + static_cast<size_t>(keep_) < l.size(); ++i) fs::remove(l[i].path);
  return p;
}

std::optional<ResumedCheckpoint> CheckpointDir::resume(const nn::CheckpointParts& parts) const {
  const auto l = list();
  if (l.empty()) return std::nullopt;
  ResumedCheckpoint r;
  for (auto it = l.rbegin(); it != l.rend(); ++it) {
    std::optional<nn::SafetensorsFile> file;
    try {
      file = nn::read_checkpoint(it->path.string());
    } catch (const Error& e) {
      r.skipped.push_back(e.what());
      continue;
    }
    r.path = it->path;
    r.state = nn::restore_checkpoint(*file, it->path.string(), parts);
    return r;
  }
  std::string why;
  for (const auto& s : r.skipped) why += "\n  " + s;
  PN_FAIL("{}: every checkpoint is unreadable; start over with --restart (or restore a copy of one):{}", dir_.string(),
          why);
}

}  // namespace pn::experiments
