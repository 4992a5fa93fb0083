#include "experiments/report/dice_table.h"

#include <cmath>
#include <filesystem>
#include <limits>

#include "autograd/error.h"
#include "experiments/run/run_dir.h"

namespace pn::experiments {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
}  // namespace

MeanSd mean_sd(const std::vector<double>& values) {
  MeanSd m;
  double sum = 0;
  std::vector<double> used;
  for (double v : values) {
    if (std::isnan(v)) ++m.skipped;
    else if (std::isinf(v)) ++m.infinite;
    else used.push_back(v), sum += v;
  }
  m.n = used.size();
  m.mean = m.n ? sum / double(m.n) : kNaN;
  if (m.n >= 2) {
    double ss = 0;
    for (double v : used) ss += (v - m.mean) * (v - m.mean);
    m.sd = std::sqrt(ss / double(m.n - 1));
  } else {
    m.sd = kNaN;
  }
  return m;
}

EpochSummary summarize_epochs(const CsvTable& t, const std::string& column, int64_t last_k,
                              const std::string& epoch_column) {
  PN_CHECK(last_k >= 1, "{}: last K epochs needs K >= 1, got {}", t.source, last_k);
  PN_CHECK(!t.rows.empty(), "{}: no epochs recorded yet", t.source);
  std::vector<double> epoch = t.numbers(epoch_column), v = t.numbers(column);
  for (size_t i = 1; i < epoch.size(); ++i)
    PN_CHECK(epoch[i] > epoch[i - 1], "{}: epochs out of order at row {} ({} after {}); was a resumed run not truncated?",
             t.source, i + 2, epoch[i], epoch[i - 1]);
  EpochSummary s;
  s.epochs = static_cast<int64_t>(v.size());
  s.best = -std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < v.size(); ++i)
    if (v[i] > s.best) s.best = v[i], s.best_epoch = static_cast<int64_t>(epoch[i]);
  PN_CHECK(std::isfinite(s.best), "{}: column '{}' has no finite value", t.source, column);
  const size_t k = std::min<size_t>(static_cast<size_t>(last_k), v.size());
  s.last = mean_sd(std::vector<double>(v.end() - static_cast<std::ptrdiff_t>(k), v.end()));
  return s;
}

namespace {
std::vector<double> column_where(const CsvTable& t, const std::string& column, bool lesion_positive) {
  std::vector<double> v = t.numbers(column), lp = t.numbers("lesion_positive"), out;
  for (size_t i = 0; i < v.size(); ++i)
    if ((lp[i] != 0) == lesion_positive) out.push_back(v[i]);
  return out;
}
}  // namespace

MeanSd summarize_volumes(const CsvTable& t, const std::string& column) { return mean_sd(column_where(t, column, true)); }

MeanSd summarize_false_positives(const CsvTable& t) { return mean_sd(column_where(t, "fp_volume_ml", false)); }

ExperimentResult load_experiment(const std::string& name, const std::string& run_dir, int64_t last_k) {
  namespace fs = std::filesystem;
  PN_CHECK(fs::is_directory(run_dir), "report: experiment '{}': no run folder '{}'", name, run_dir);
  ExperimentResult r{name, std::nullopt, std::nullopt};
  fs::path m = fs::path(run_dir) / run_files::kMetrics, h = fs::path(run_dir) / run_files::kHeldoutMetrics;
  if (fs::exists(m)) {
    CsvTable t = read_csv(m.string());
    if (!t.rows.empty()) r.per_epoch = summarize_epochs(t, "test_soft_dice", last_k);
  }
  if (fs::exists(h)) r.heldout = summarize_volumes(read_csv(h.string()), "hard_dice");
  return r;
}

std::string format_mean_sd(const MeanSd& m, double scale, int decimals) {
  if (m.n == 0) return "–";
  if (m.n < 2) return fmt::format("{:.{}f}", m.mean * scale, decimals);
  return fmt::format("{:.{}f} ± {:.{}f}", m.mean * scale, decimals, m.sd * scale, decimals);
}

std::string dice_table_markdown(const std::vector<ExperimentResult>& results, int64_t last_k) {
  std::string out = fmt::format(
      "| experiment | best epoch: Dice % (epoch) | last {} epochs: Dice % mean ± sd | held-out, final model: hard Dice % "
      "mean ± sd (n) |\n|---|---:|---:|---:|\n",
      last_k);
  for (const auto& r : results) {
    std::string best = "–", last = "–", held = "–";
    if (r.per_epoch) {
      best = fmt::format("{:.1f} ({})", r.per_epoch->best * 100, r.per_epoch->best_epoch);
      last = format_mean_sd(r.per_epoch->last);
      if (r.per_epoch->last.n < static_cast<size_t>(last_k)) last += fmt::format(" (last {})", r.per_epoch->last.n);
    }
    if (r.heldout) held = fmt::format("{} ({})", format_mean_sd(*r.heldout), r.heldout->n);
    out += fmt::format("| {} | {} | {} | {} |\n", r.name, best, last, held);
  }
  out += fmt::format(
      "\nBest epoch and last-{} columns: soft Dice on the test set measured after every epoch (the paper's protocol; the "
      "test set chooses the epoch, so these are optimistic). Held-out column: hard Dice per lesion-positive volume of "
      "the final model on volumes never used for any choice. Standard deviations are sample standard deviations.\n",
      last_k);
  return out;
}

std::string volume_metrics_markdown(const std::vector<std::pair<std::string, CsvTable>>& per_volume) {
  std::string out =
      "| experiment | n | soft Dice % | hard Dice % | precision % | recall % | AVD ml | HD95 mm | lesion-free n | FP volume "
      "ml |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& [name, t] : per_volume) {
    MeanSd hd = summarize_volumes(t, "hd95_mm");
    std::string hd_text = format_mean_sd(hd, 1.0, 1);
    if (hd.infinite) hd_text += fmt::format(" ({} empty)", hd.infinite);
    MeanSd fp = summarize_false_positives(t);
    out += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n", name, summarize_volumes(t, "hard_dice").n,
                       format_mean_sd(summarize_volumes(t, "soft_dice")), format_mean_sd(summarize_volumes(t, "hard_dice")),
                       format_mean_sd(summarize_volumes(t, "precision")), format_mean_sd(summarize_volumes(t, "recall")),
                       format_mean_sd(summarize_volumes(t, "avd_ml"), 1.0, 2), hd_text, fp.n,
                       format_mean_sd(fp, 1.0, 2));
  }
  return out;
}

}  // namespace pn::experiments
