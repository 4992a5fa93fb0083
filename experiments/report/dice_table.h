// The study's result tables, from the CSV files runs leave behind, in both protocols:
//   per-epoch (the paper's): test Dice measured after every epoch; the best epoch, and
//     mean +- sd over the last K epochs. Optimistic: the test set picks the epoch.
//   held-out (the conventional one): one fixed final model, evaluated once on volumes it
//     never saw; mean +- sd of per-volume hard Dice over the lesion-positive volumes.
// Values in the CSVs are fractions; tables print percent with one decimal, as the paper.
// Standard deviations are sample standard deviations (n - 1).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "experiments/run/csv_table.h"

namespace pn::experiments {

struct MeanSd {
  double mean = 0, sd = 0;  // NaN when n == 0; sd NaN when n < 2
  size_t n = 0;             // values used
  size_t skipped = 0;       // NaN values (metric not applicable) left out
  size_t infinite = 0;      // +-inf values (e.g. HD95 with an empty prediction) left out
};
MeanSd mean_sd(const std::vector<double>& values);

struct EpochSummary {
  double best = 0;
  int64_t best_epoch = 0;  // the first epoch reaching `best`
  MeanSd last;             // over the last min(K, epochs) epochs
  int64_t epochs = 0;
};
// From a per-epoch table (metrics.csv): `column` against `epoch_column`.
EpochSummary summarize_epochs(const CsvTable& per_epoch, const std::string& column, int64_t last_k,
                              const std::string& epoch_column = "epoch");

// From a per-volume table (case_metrics_csv.h): `column` over the lesion-positive volumes.
MeanSd summarize_volumes(const CsvTable& per_volume, const std::string& column);
// False-positive volume (ml) over the lesion-free volumes.
MeanSd summarize_false_positives(const CsvTable& per_volume);

struct ExperimentResult {
  std::string name;
  std::optional<EpochSummary> per_epoch;  // absent: no metrics.csv
  std::optional<MeanSd> heldout;          // absent: not evaluated on a held-out set
};

// Loads <run>/metrics.csv (column `test_soft_dice`) and <run>/heldout_metrics.csv
// (column `hard_dice`) where they exist.
ExperimentResult load_experiment(const std::string& name, const std::string& run_dir, int64_t last_k);

// The Dice table in Markdown (one row per experiment, both protocols) with a legend.
std::string dice_table_markdown(const std::vector<ExperimentResult>& results, int64_t last_k);
// Every per-volume metric of held-out tables, mean +- sd (one row per experiment).
std::string volume_metrics_markdown(const std::vector<std::pair<std::string, CsvTable>>& per_volume);

// "63.2 ± 1.9" (percent when scale = 100), "–" when there are no values.
std::string format_mean_sd(const MeanSd& m, double scale = 100.0, int decimals = 1);

}  // namespace pn::experiments
