#include "experiments/training_run.h"

#include <chrono>
#include <cstdio>
#include <ctime>

#include "autograd/error.h"
#include "experiments/config_presets.h"

namespace pn::experiments {

namespace {
std::string utc_now() {
  std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}
}  // namespace

TrainingRun::TrainingRun(const Config& cfg, const std::string& default_name, const RunDirOptions& opt,
                         std::vector<std::string> metric_columns, bool mirror_log)
    : dir_(RunDir::open(cfg, default_name, opt)), checkpoint_every_(cfg.integer("run.checkpoint_every")) {
  if (mirror_log) tee_ = std::make_unique<StdoutTee>(dir_.log_path().string());
  metric_columns.insert(metric_columns.begin(), "epoch");
  metrics_ = std::make_unique<CsvAppender>(dir_.metrics_path().string(), std::move(metric_columns));
  std::printf("=== %s: %s run, %s\n", dir_.path().string().c_str(), dir_.resuming() ? "resumed" : "new", utc_now().c_str());
}

TrainingRun::~TrainingRun() = default;

int64_t TrainingRun::resume(const nn::CheckpointParts& parts, Generator& gen, int64_t* step) {
  auto st = dir_.checkpoints().resume(parts);
  const int64_t epoch = st ? st->epoch : 0;
  if (st) {
    gen.set_state(st->rng_seed, st->rng_offset);
    if (step) *step = st->step;
  } else if (step) {
    *step = 0;
  }
  size_t dropped = metrics_->truncate_after(static_cast<double>(epoch));
  if (st) {
    std::string note = fmt::format("resuming after epoch {} ({})", epoch, dir_.checkpoints().latest()->filename().string());
    if (dropped) note += fmt::format("; {} metrics rows of later epochs dropped", dropped);
    std::printf("%s\n", note.c_str());
  }
  return epoch;
}

void TrainingRun::end_epoch(int64_t epoch, int64_t last_epoch, const std::vector<double>& metrics,
                            const nn::CheckpointParts& parts, const Generator& gen, int64_t step) {
  std::vector<double> row{static_cast<double>(epoch)};
  row.insert(row.end(), metrics.begin(), metrics.end());
  metrics_->append(row);
  if (epoch % checkpoint_every_ == 0 || epoch == last_epoch) {
    nn::CheckpointState st;
    st.epoch = epoch;
    st.step = step;
    st.rng_seed = gen.seed();
    st.rng_offset = gen.offset();
    dir_.checkpoints().save(parts, st);
  }
}

void TrainingRun::finish(const std::string& summary) {
  std::printf("=== finished %s%s%s\n", utc_now().c_str(), summary.empty() ? "" : ": ", summary.c_str());
  std::fflush(stdout);
  dir_.mark_done(summary);
}

Config run_config(const std::string& run_dir) {
  ConfigRequest req;
  req.files = {(std::filesystem::path(run_dir) / run_files::kConfig).string()};
  return resolve_config(req);
}

std::string newest_checkpoint(const std::string& run_dir, const char* what) {
  auto latest = CheckpointDir(std::filesystem::path(run_dir) / run_files::kCheckpoints).latest();
  PN_CHECK(latest.has_value(), "{}: {} has no checkpoint (train first)", what, run_dir);
  return latest->string();
}

}  // namespace pn::experiments
