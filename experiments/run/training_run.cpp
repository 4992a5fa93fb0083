#include "experiments/run/training_run.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>

#include "autograd/error.h"
#include "experiments/config/config_presets.h"

namespace pn::experiments {

std::string utc_now() {
  std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

void append_to_log(const std::filesystem::path& log, const std::string& line) {
  std::ofstream f(log, std::ios::app);
  if (f) f << line << (line.ends_with('\n') ? "" : "\n");
}

TrainingRun::TrainingRun(const Config& cfg, const std::string& default_name, const RunDirOptions& opt,
                         std::vector<std::string> metric_columns, bool mirror_log)
    : dir_(RunDir::open(cfg, default_name, opt)), checkpoint_every_(cfg.integer("run.checkpoint_every")) {
  if (mirror_log) tee_ = std::make_unique<StdoutTee>(dir_.log_path().string());
  metric_columns.insert(metric_columns.begin(), "epoch");
  metrics_ = std::make_unique<CsvAppender>(dir_.metrics_path().string(), std::move(metric_columns));
  std::printf("=== %s: %s run, %s\n", dir_.path().string().c_str(), dir_.resuming() ? "resumed" : "new", utc_now().c_str());
}

TrainingRun::~TrainingRun() = default;

std::optional<ResumedCheckpoint> TrainingRun::resume(const nn::CheckpointParts& parts) {
  auto r = dir_.checkpoints().resume(parts);
  for (const auto& why : r ? r->skipped : std::vector<std::string>{})
    std::printf("warning: passing over a corrupt checkpoint: %s\n", why.c_str());
  const int64_t epoch = r ? r->state.epoch : 0;
  const size_t dropped = metrics_->truncate_after(static_cast<double>(epoch));
  if (r) {
    std::string note = fmt::format("resuming from {}{}", r->path.filename().string(),
                                   r->skipped.empty() ? "" : " (the older checkpoint kept: the newer one is corrupt)");
    if (dropped) note += fmt::format("; {} metrics rows of later epochs dropped", dropped);
    std::printf("%s\n", note.c_str());
  }
  return r;
}

void TrainingRun::end_epoch(int64_t epoch, int64_t last_epoch, const std::vector<double>& metrics,
                            const nn::CheckpointParts& parts, const nn::CheckpointState& state) {
  std::vector<double> row{static_cast<double>(epoch)};
  row.insert(row.end(), metrics.begin(), metrics.end());
  metrics_->append(row);
  if (epoch % checkpoint_every_ == 0 || epoch == last_epoch) save(parts, state, RunPosition{epoch, 0});
}

std::filesystem::path TrainingRun::save(const nn::CheckpointParts& parts, const nn::CheckpointState& state,
                                        RunPosition at) {
  return dir_.checkpoints().save(parts, state, at);
}

std::optional<std::vector<double>> TrainingRun::last_metrics() const {
  const CsvTable t = read_csv(dir_.metrics_path().string());
  if (t.rows.empty()) return std::nullopt;
  std::vector<double> out;
  for (size_t c = 1; c < t.columns.size(); ++c) out.push_back(t.numbers(t.columns[c]).back());
  return out;
}

void TrainingRun::finish(const std::string& summary) {
  std::printf("=== finished %s%s%s\n", utc_now().c_str(), summary.empty() ? "" : ": ", summary.c_str());
  std::fflush(stdout);
  dir_.mark_done(summary);
}

void TrainingRun::close_log() {
  std::fflush(stdout);
  tee_.reset();
}

void TrainingRun::log_line(const std::string& what, const std::string& message) {
  close_log();
  append_to_log(dir_.log_path(), fmt::format("=== {} {}: {}", utc_now(), what, message));
}

Config run_config(const std::string& run_dir) {
  ConfigRequest req;
  req.files = {(std::filesystem::path(run_dir) / run_files::kConfig).string()};
  return resolve_config(req);
}

nn::CheckpointState load_newest_checkpoint(const std::string& run_dir, const char* what, const nn::CheckpointParts& parts) {
  auto r = CheckpointDir(std::filesystem::path(run_dir) / run_files::kCheckpoints).resume(parts);
  PN_CHECK(r.has_value(), "{}: {} has no checkpoint (train first)", what, run_dir);
  for (const auto& why : r->skipped)
    std::fprintf(stderr, "%s: warning: passing over a corrupt checkpoint, using %s: %s\n", what, r->path.c_str(),
                 why.c_str());
  return r->state;
}

}  // namespace pn::experiments
