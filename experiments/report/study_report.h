// The study's report: a Markdown page with the Dice table in both protocols (one row per
// segmentation experiment of the study plan, in plan order), the per-volume metrics of
// the held-out set, their confidence intervals and paired comparisons with clinical only
// (experiments/metrics/heldout_comparison.h), training curves and Dice box plots (PNG, with SVG copies, in a
// figures/ folder next to it), and any further images (montages) given by the caller. Experiments whose run
// folder is missing or unfinished still get their row, marked as such.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "experiments/config/config.h"
#include "experiments/config/study_plan.h"
#include "experiments/metrics/heldout_comparison.h"
#include "experiments/metrics/paired_stats.h"

namespace pn::experiments {

struct ReportImage {
  std::string caption;
  std::filesystem::path path;  // linked relative to the report when it lies below it
};

// The report's bootstrap settings: 95 %, 10000 resamples, seeded with run.seed.
BootstrapOptions report_bootstrap(const Config& c);

// The subsection (with its ### heading) comparing each fine-tuned experiment of `grid` with
// its from-scratch baseline on the same clinical cases (matched_experiments), per held-out
// volume of `values`; "" when no pair has values.
std::string matched_section(const std::vector<SegmentExperiment>& grid, const std::vector<HeldoutValues>& values,
                            const BootstrapOptions& opt);

// Reads the runs under `run_root` (<run_root>/<experiment name>), writes
// <out_dir>/report.md and <out_dir>/figures/*.png (+ .svg), and returns the report's path.
std::filesystem::path write_study_report(const Config& c, const std::filesystem::path& run_root,
                                         const std::filesystem::path& out_dir,
                                         const std::vector<ReportImage>& images = {});

}  // namespace pn::experiments
