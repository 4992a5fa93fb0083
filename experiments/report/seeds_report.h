// The report of a study repeated with several seeds (study.seeds = N): for every
// segmentation experiment its held-out mean hard Dice per seed and the mean ± sd across
// seeds, the same for its difference from clinical only and for its best-epoch test soft
// Dice (the paper's protocol), each fine-tuned experiment's difference from training from
// scratch on the same clinical cases per seed, then the statistics of
// experiments/metrics/heldout_comparison.h on per-volume Dice averaged over the seeds (every seed
// evaluates the same held-out volumes) with the matched comparisons of study_report.h, and
// links to each seed's own report.
#pragma once
#include <cstdint>
#include <filesystem>
#include <vector>

#include "experiments/config/config.h"

namespace pn::experiments {

struct SeedRun {
  int64_t seed = 0;
  std::filesystem::path root;    // the seed's run.root
  std::filesystem::path report;  // its report.md
};

// Writes <out_dir>/report.md and returns its path.
std::filesystem::path write_seeds_report(const Config& c, const std::vector<SeedRun>& runs,
                                         const std::filesystem::path& out_dir);

}  // namespace pn::experiments
