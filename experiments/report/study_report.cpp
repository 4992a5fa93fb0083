#include "experiments/report/study_report.h"

#include <chrono>
#include <ctime>
#include <fstream>
#include <iterator>

#include "autograd/error.h"
#include "experiments/report/dice_table.h"
#include "experiments/metrics/heldout_comparison.h"
#include "experiments/report/report_figures.h"
#include "experiments/run/run_dir.h"
#include "experiments/config/study_plan.h"
#include "nn/safetensors.h"

namespace pn::experiments {

namespace fs = std::filesystem;

namespace {

// (title, table) of the experiments among `names` that have `file`.
std::vector<std::pair<std::string, CsvTable>> tables_of(const std::vector<SegmentExperiment>& grid,
                                                        const fs::path& root, const char* file, bool small_n) {
  std::vector<std::pair<std::string, CsvTable>> out;
  for (const auto& e : grid) {
    if ((e.clinical_cases > 0) != small_n) continue;
    fs::path p = root / e.name / file;
    if (fs::exists(p)) {
      CsvTable t = read_csv(p.string());
      if (!t.rows.empty()) out.emplace_back(e.title, std::move(t));
    }
  }
  return out;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  PN_CHECK(in, "report: cannot read {}", p.string());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string link(const fs::path& target, const fs::path& from_dir) {
  fs::path rel = target.lexically_relative(from_dir);
  return (rel.empty() || *rel.begin() == "..") ? target.string() : rel.string();
}

}  // namespace

BootstrapOptions report_bootstrap(const Config& c) {
  BootstrapOptions o;
  o.seed = static_cast<uint64_t>(c.integer("run.seed"));
  return o;
}

namespace {

// Each experiment's results, and a status line for each not run or unfinished.
std::vector<ExperimentResult> load_results(const std::vector<SegmentExperiment>& grid, const fs::path& run_root,
                                           int64_t last_k, std::vector<std::string>& status) {
  std::vector<ExperimentResult> results;
  for (const auto& e : grid) {
    const fs::path dir = run_root / e.name;
    if (!fs::is_directory(dir)) {
      results.push_back({e.title, std::nullopt, std::nullopt});
      status.push_back(fmt::format("- {}: not run (`{}`)", e.title, dir.string()));
      continue;
    }
    results.push_back(load_experiment(e.title, dir.string(), last_k));
    if (!fs::exists(dir / run_files::kDone)) status.push_back(fmt::format("- {}: unfinished (`{}`)", e.title, dir.string()));
  }
  return results;
}

// The title block: preset, seed, grid, date, the phantom's description and the devices.
std::string report_heading(const Config& c, const fs::path& run_root) {
  std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  char when[32];
  std::strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  std::string md = fmt::format("# Penumbra study report\n\nPreset `{}`, seed {}, grid {}, written {}.\n\n",
                               c.preset().empty() ? "custom" : c.preset(), c.integer("run.seed"),
                               format_config_value(c.value("data.grid")), when);
  // The phantom's description: beside the runs, or copied there by a study of several seeds.
  for (const fs::path& about : {run_root / "phantom" / "about.txt", run_root / "phantom_about.txt"})
    if (fs::exists(about)) {
      md += fmt::format("Phantom data: {}\n", read_text(about));
      break;
    }
  if (fs::exists(run_root / "devices.txt"))  // run.device, resolved per rank by the study
    md += fmt::format("Computed on: {}\n", read_text(run_root / "devices.txt"));
  return md;
}

// The mask GAN against held-out real lesions (experiments/train/lesion_eval.h), its links
// re-rooted at the report; empty when the study has no such evaluation.
std::string lesion_section(const fs::path& run_root, const fs::path& out_dir) {
  const fs::path eval_dir = run_root / "maskgan" / "evaluation";
  if (!fs::exists(eval_dir / "lesion_comparison.md")) return "";
  std::string text = read_text(eval_dir / "lesion_comparison.md");
  const std::string rel = link(eval_dir, out_dir);
  for (const std::string target : {"figures/", "montage.png"})
    for (size_t p = 0; (p = text.find("](" + target, p)) != std::string::npos; p += rel.size() + 3)
      text.insert(p + 2, rel + "/");
  return "\n## Generated vs real lesions\n\n" + text;
}

// The figures: training curves (all cases, few cases), the held-out box plot, then the
// images the study made; figures/<stem>.png linked from the report, <stem>.svg beside it.
std::string figures_section(const std::vector<SegmentExperiment>& grid, const fs::path& run_root, const fs::path& out_dir,
                            const std::vector<std::pair<std::string, CsvTable>>& held_all,
                            const std::vector<ReportImage>& images) {
  std::string md = "\n## Figures\n\n";
  auto figure = [&](const std::string& stem, const Chart& chart, const std::string& caption) {
    const fs::path p = out_dir / "figures" / (stem + ".png");
    chart.write_png(p.string());
    nn::write_file_atomic((out_dir / "figures" / (stem + ".svg")).string(), chart.svg());
    md += fmt::format("![{}]({})\n\n*{}*\n\n", caption, link(p, out_dir), caption);
  };
  for (bool small : {false, true}) {
    auto curves = tables_of(grid, run_root, run_files::kMetrics, small);
    if (!curves.empty())
      figure(small ? "curves_small_n" : "curves", training_curves(curves, "test_soft_dice"),
             small ? "Test soft Dice per epoch: few clinical cases, with and without synthetic pre-training"
                   : "Test soft Dice per epoch: all clinical cases, synthetic data, both");
  }
  if (!held_all.empty())
    figure("dice_boxplot", volume_box_plot(held_all, "hard_dice"),
           "Hard Dice per lesion-positive held-out volume, final models");
  for (const auto& im : images) md += fmt::format("![{}]({})\n\n*{}*\n\n", im.caption, link(im.path, out_dir), im.caption);
  return md;
}

}  // namespace

std::string matched_section(const std::vector<SegmentExperiment>& grid, const std::vector<HeldoutValues>& values,
                            const BootstrapOptions& opt) {
  auto find = [&](const std::string& title) -> const HeldoutValues* {
    for (const auto& v : values)
      if (v.title == title) return &v;
    return nullptr;
  };
  std::vector<MatchedPair> pairs;
  for (const auto& m : matched_experiments(grid))
    if (find(m.experiment) && find(m.baseline)) pairs.push_back({find(m.experiment), find(m.baseline)});
  if (pairs.empty()) return "";
  return "\n### Synthetic pre-training against training from scratch on the same clinical cases\n\n"
         "Each fine-tuned experiment against clinical only on the same number of clinical cases, per held-out volume "
         "(the paper's question for scarce clinical data; the table above compares everything with all clinical "
         "cases).\n\n" + matched_comparison_markdown(pairs, opt);
}

fs::path write_study_report(const Config& c, const fs::path& run_root, const fs::path& out_dir,
                            const std::vector<ReportImage>& images) {
  const auto grid = segmentation_grid(c);
  const int64_t last_k = c.integer("segment.report_last_epochs");
  fs::create_directories(out_dir / "figures");
  std::vector<std::string> status;
  const std::vector<ExperimentResult> results = load_results(grid, run_root, last_k, status);
  std::string md = report_heading(c, run_root);
  md += "## Dice\n\n";
  md += dice_table_markdown(results, last_k);
  if (!status.empty()) md += "\nNot complete:\n" + fmt::format("{}", fmt::join(status, "\n")) + "\n";

  auto held_all = tables_of(grid, run_root, run_files::kHeldoutMetrics, false);
  auto held_small = tables_of(grid, run_root, run_files::kHeldoutMetrics, true);
  held_all.insert(held_all.end(), held_small.begin(), held_small.end());
  if (!held_all.empty()) {
    md += "\n## Held-out set, per volume\n\n" + volume_metrics_markdown(held_all);
    std::vector<HeldoutValues> values;
    for (const auto& [title, t] : held_all) values.push_back(heldout_values(title, t));
    md += "\n## Held-out set: confidence intervals and paired comparisons\n\n" +
          heldout_comparison_markdown(values, grid.front().title, report_bootstrap(c));
    md += matched_section(grid, values, report_bootstrap(c));
  }
  md += lesion_section(run_root, out_dir);
  md += figures_section(grid, run_root, out_dir, held_all, images);
  const fs::path report = out_dir / "report.md";
  nn::write_file_atomic(report.string(), md);
  return report;
}

}  // namespace pn::experiments
