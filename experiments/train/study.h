// The whole study in one call (PAPER.md, "Experiments"): the mask GAN, each translation
// model, a synthetic database per model, then the segmentation grid (study_plan.h), and
// the report. Every step is a run folder under run.root that resumes or is skipped when
// done, so an interrupted study continues where it stopped. Without data at hand, a
// phantom database on the study's grid is written first (data.*_dir must then be unset
// or not exist). study.seeds = N > 1 runs the plan once per seed under run.root/seed-<s>,
// on the same data, and writes the report across seeds (seeds_report.h) in run.root/report.
#pragma once
#include <filesystem>

#include "experiments/config/config.h"

namespace pn::experiments {

struct StudyOptions {
  bool phantom = true;        // write phantom data where data.train_dir is missing
  int phantom_stroke = 40;    // stroke subjects for training (4/5) and test (1/5); the held-out
                              // ones come on top: study.phantom_holdout
  int phantom_healthy = 20;   // healthy label maps for synthesis; the held-out lesion-free
                              // subjects come on top: study.phantom_holdout_free
};

// Returns the report's path.
std::filesystem::path run_study(const Config& cfg, const StudyOptions& opt);

}  // namespace pn::experiments
