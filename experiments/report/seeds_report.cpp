#include "experiments/report/seeds_report.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <optional>

#include "autograd/error.h"
#include "experiments/report/dice_table.h"
#include "experiments/metrics/heldout_comparison.h"
#include "experiments/run/run_dir.h"
#include "experiments/config/study_plan.h"
#include "experiments/report/study_report.h"
#include "nn/safetensors.h"

namespace pn::experiments {

namespace fs = std::filesystem;

namespace {

// Per experiment title, per seed: held-out values (absent when the run has no held-out table).
using SeedValues = std::map<std::string, std::vector<std::optional<HeldoutValues>>>;

SeedValues load_seed_values(const std::vector<SegmentExperiment>& grid, const std::vector<SeedRun>& runs) {
  SeedValues out;
  for (const auto& e : grid)
    for (const auto& r : runs) {
      const fs::path csv = r.root / e.name / run_files::kHeldoutMetrics;
      std::optional<HeldoutValues> v;
      if (fs::exists(csv)) v = heldout_values(e.title, read_csv(csv.string()));
      out[e.title].push_back(std::move(v));
    }
  return out;
}

double mean_dice(const HeldoutValues& v) {
  double s = 0;
  for (const auto& p : v.dice) s += p.second;
  return v.dice.empty() ? std::nan("") : s / static_cast<double>(v.dice.size());
}

// One table: a row per experiment, a column per seed, then mean ± sd across seeds; `value`
// gives an experiment's number (a fraction) for seed k, NaN for none.
std::string seeds_table(const std::vector<SegmentExperiment>& grid, const std::vector<SeedRun>& runs,
                        const std::function<double(const std::string&, size_t)>& value) {
  std::string md = "| experiment |", rule = "|---|";
  for (const auto& r : runs) md += fmt::format(" seed {} |", r.seed), rule += "---:|";
  md += " mean ± sd across seeds (seeds) |\n" + rule + "---:|\n";
  for (const auto& e : grid) {
    std::vector<double> per;
    std::string cells;
    for (size_t k = 0; k < runs.size(); ++k) {
      per.push_back(value(e.title, k));
      cells += std::isnan(per.back()) ? " – |" : fmt::format(" {:.1f} |", 100 * per.back());
    }
    const MeanSd m = mean_sd(per);
    md += fmt::format("| {} |{} {} ({}) |\n", e.title, cells, format_mean_sd(m), m.n);
  }
  return md;
}

double mean_difference(const HeldoutValues& a, const HeldoutValues& b) {
  BootstrapOptions one;  // only the mean difference over the paired volumes is used here
  one.resamples = 1;
  return paired_comparison(a.dice, b.dice, one).mean_difference;
}

// Per seed, each fine-tuned experiment minus its from-scratch baseline on the same clinical
// cases (matched_experiments); "" when the plan has no such pair.
std::string matched_per_seed(const std::vector<SegmentExperiment>& grid, const std::vector<SeedRun>& runs,
                             const SeedValues& values) {
  const auto pairs = matched_experiments(grid);
  if (pairs.empty()) return "";
  std::vector<SegmentExperiment> rows;
  std::map<std::string, std::string> baseline_of;
  for (const auto& m : pairs) {
    rows.push_back(*std::find_if(grid.begin(), grid.end(), [&](const auto& e) { return e.title == m.experiment; }));
    baseline_of[m.experiment] = m.baseline;
  }
  return "\n## Fine-tuned minus trained from scratch on the same clinical cases, per seed, points\n\nPer seed: the "
         "fine-tuned experiment's held-out mean minus that of clinical only on the same number of clinical cases, on "
         "the same volumes (the paper's scarce-data question).\n\n" +
         seeds_table(rows, runs, [&](const std::string& t, size_t k) {
           const auto& a = values.at(t)[k];
           const auto& b = values.at(baseline_of.at(t))[k];
           return a && b ? mean_difference(*a, *b) : std::nan("");
         });
}

}  // namespace

fs::path write_seeds_report(const Config& c, const std::vector<SeedRun>& runs, const fs::path& out_dir) {
  PN_CHECK(!runs.empty(), "seeds report: no runs");
  const auto grid = segmentation_grid(c);
  const std::string reference = grid.front().title;
  const SeedValues values = load_seed_values(grid, runs);
  fs::create_directories(out_dir);
  std::vector<std::string> seeds;
  for (const auto& r : runs) seeds.push_back(std::to_string(r.seed));
  std::string md = fmt::format("# Penumbra study report: {} seeds\n\nPreset `{}`, seeds {}, grid {}. Every seed trains "
                               "the whole plan (mask GAN, translators, synthetic databases, segmentation) on the same "
                               "data and evaluates the same held-out volumes.\n\n",
                               runs.size(), c.preset().empty() ? "custom" : c.preset(), fmt::join(seeds, ", "),
                               format_config_value(c.value("data.grid")));
  auto at = [&](const std::string& title, size_t k) -> const std::optional<HeldoutValues>& {
    return values.at(title)[k];
  };
  md += "## Held-out hard Dice % per seed\n\nMean over the lesion-positive held-out volumes of each seed's final model; "
        "the last column is the mean ± sample sd of the per-seed means.\n\n";
  md += seeds_table(grid, runs, [&](const std::string& t, size_t k) {
    return at(t, k) ? mean_dice(*at(t, k)) : std::nan("");
  });
  md += fmt::format("\n## Difference from {} per seed, points\n\nPer seed: the experiment's held-out mean minus {}'s, on "
                    "the same volumes.\n\n", reference, reference);
  md += seeds_table(grid, runs, [&](const std::string& t, size_t k) {
    return at(t, k) && at(reference, k) ? mean_difference(*at(t, k), *at(reference, k)) : std::nan("");
  });
  md += matched_per_seed(grid, runs, values);
  const int64_t last_k = c.integer("segment.report_last_epochs");
  md += "\n## Best epoch: test soft Dice % per seed\n\nThe paper's protocol (the test set picks the epoch, so "
        "optimistic), per seed.\n\n";
  md += seeds_table(grid, runs, [&](const std::string& t, size_t k) {
    const auto e = std::find_if(grid.begin(), grid.end(), [&](const SegmentExperiment& x) { return x.title == t; });
    const fs::path dir = runs[k].root / e->name;
    if (!fs::is_directory(dir)) return std::nan("");
    const ExperimentResult r = load_experiment(t, dir.string(), last_k);
    return r.per_epoch ? r.per_epoch->best : std::nan("");
  });
  // Per volume, Dice averaged over the seeds that evaluated every experiment.
  std::vector<HeldoutValues> averaged;
  for (const auto& e : grid) {
    std::vector<HeldoutValues> have;
    for (const auto& v : values.at(e.title))
      if (v) have.push_back(*v);
    if (have.size() == runs.size()) averaged.push_back(average_runs(have));
  }
  if (!averaged.empty())
    md += "\n## Seed-averaged per-volume values: confidence intervals and paired comparisons\n\nEach held-out volume's "
          "value is averaged over the seeds first, so the intervals and tests below are over volumes, with the "
          "seed-to-seed variation averaged out.\n\n" +
          heldout_comparison_markdown(averaged, reference, report_bootstrap(c)) +
          matched_section(grid, averaged, report_bootstrap(c));
  md += "\n## Each seed's report\n\n";
  for (const auto& r : runs)
    if (!r.report.empty()) md += fmt::format("- seed {}: `{}`\n", r.seed, r.report.lexically_relative(out_dir).string());
  const fs::path report = out_dir / "report.md";
  nn::write_file_atomic(report.string(), md);
  return report;
}

}  // namespace pn::experiments
