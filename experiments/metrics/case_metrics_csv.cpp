#include "experiments/metrics/case_metrics_csv.h"

#include <cstdlib>

#include "autograd/error.h"

namespace pn::experiments {

namespace {
// The numeric fields in column order (after "case" and "lesion_positive").
constexpr double CaseMetrics::*kFields[] = {&CaseMetrics::soft_dice, &CaseMetrics::hard_dice, &CaseMetrics::precision,
                                            &CaseMetrics::recall,    &CaseMetrics::avd_ml,    &CaseMetrics::hd95_mm,
                                            &CaseMetrics::fp_volume_ml, &CaseMetrics::truth_ml, &CaseMetrics::pred_ml};
}  // namespace

const std::vector<std::string>& case_metrics_columns() {
  static const std::vector<std::string> cols{"case",   "lesion_positive", "soft_dice",    "hard_dice", "precision", "recall",
                                             "avd_ml", "hd95_mm",         "fp_volume_ml", "truth_ml",  "pred_ml"};
  return cols;
}

std::vector<std::string> case_metrics_row(const std::string& case_name, const CaseMetrics& m) {
  std::vector<std::string> row{case_name, m.lesion_positive ? "1" : "0"};
  for (auto f : kFields) row.push_back(csv_number(m.*f));
  return row;
}

CaseMetrics case_metrics_from_row(const CsvTable& t, size_t row) {
  PN_CHECK(row < t.rows.size(), "{}: no row {}", t.source, row + 2);
  const auto& cols = case_metrics_columns();
  CaseMetrics m;
  const std::string& lp = t.rows[row][t.index("lesion_positive")];
  PN_CHECK(lp == "0" || lp == "1", "{}: row {}: lesion_positive must be 0 or 1, got '{}'", t.source, row + 2, lp);
  m.lesion_positive = lp == "1";
  for (size_t i = 0; i < std::size(kFields); ++i) {
    const std::string& s = t.rows[row][t.index(cols[i + 2])];
    char* end = nullptr;
    double v = std::strtod(s.c_str(), &end);
    PN_CHECK(!s.empty() && end == s.c_str() + s.size(), "{}: row {}, column '{}': '{}' is not a number", t.source,
             row + 2, cols[i + 2], s);
    m.*kFields[i] = v;
  }
  return m;
}

}  // namespace pn::experiments
