// The study report's statistics section: for every segmentation experiment, a bootstrap
// confidence interval of its held-out mean hard Dice, and against the reference experiment
// (clinical only) the paired per-volume difference with its interval, a Wilcoxon
// signed-rank p-value (and Holm's adjustment over the comparisons), all on the same
// held-out volumes (experiments/metrics/paired_stats.h); then the lesion-free held-out volumes on
// their own: false-positive volume with its interval, the fraction of volumes with any
// false positive, and the paired false-positive difference. A closing paragraph says which
// differences are resolved (95 % interval excludes 0) and which are not.
#pragma once
#include <string>
#include <vector>

#include "experiments/run/csv_table.h"
#include "experiments/metrics/paired_stats.h"

namespace pn::experiments {

// One experiment's held-out values by volume id.
struct HeldoutValues {
  std::string title;
  VolumeValues dice;   // hard Dice of the lesion-positive volumes
  VolumeValues fp_ml;  // false-positive volume (ml) of the lesion-free volumes
};
// From a per-volume table (case_metrics_csv.h: columns case, lesion_positive, hard_dice,
// fp_volume_ml).
HeldoutValues heldout_values(const std::string& title, const CsvTable& per_volume);
// Per volume, the mean over several runs (seeds) of the same experiment; only volumes that
// every run evaluated are kept.
HeldoutValues average_runs(const std::vector<HeldoutValues>& runs);

// The Markdown section (no heading): tables and the reading. `reference` is the title of the
// experiment the others are compared with; when it is absent, only the intervals are given.
std::string heldout_comparison_markdown(const std::vector<HeldoutValues>& experiments, const std::string& reference,
                                        const BootstrapOptions& opt);

// An experiment and the baseline it must beat, e.g. synthetic pre-training then fine-tuning
// on N clinical cases against training on the same N cases from scratch.
struct MatchedPair {
  const HeldoutValues* experiment;
  const HeldoutValues* baseline;
};
// The Markdown table (no heading) of each pair's paired hard-Dice difference with its
// interval, Wilcoxon p and Holm p over the pairs, and the reading; "" for no pairs.
std::string matched_comparison_markdown(const std::vector<MatchedPair>& pairs, const BootstrapOptions& opt);

}  // namespace pn::experiments
