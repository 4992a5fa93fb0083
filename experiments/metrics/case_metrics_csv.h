// The per-volume table `segment eval` writes (heldout_metrics.csv in a run folder): one
// row per volume with every CaseMetrics field, NaN where a metric does not apply.
#pragma once
#include <string>
#include <vector>

#include "experiments/run/csv_table.h"
#include "experiments/metrics/seg_metrics.h"

namespace pn::experiments {

// case, lesion_positive, soft_dice, hard_dice, precision, recall, avd_ml, hd95_mm,
// fp_volume_ml, truth_ml, pred_ml
const std::vector<std::string>& case_metrics_columns();
std::vector<std::string> case_metrics_row(const std::string& case_name, const CaseMetrics& m);
// Row `row` of a table with those columns, back as CaseMetrics.
CaseMetrics case_metrics_from_row(const CsvTable& t, size_t row);

}  // namespace pn::experiments
