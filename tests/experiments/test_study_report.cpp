// The study report from run folders laid out as the study plan names them.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "experiments/metrics/case_metrics_csv.h"
#include "experiments/config/config_presets.h"
#include "experiments/run/csv_table.h"
#include "experiments/run/run_dir.h"
#include "experiments/config/study_plan.h"
#include "experiments/report/study_report.h"
#include "tests/experiments/error_text.h"

using namespace pn::experiments;
namespace fs = std::filesystem;

TEST_CASE("study report: every experiment has a row, figures are written and linked") {
  const auto root = pn::test::scratch_dir("study-report");
  Config c = load_preset("small");
  c.set("study.loss_comparison=[]");  // the paper's 11 experiments
  auto grid = segmentation_grid(c);
  REQUIRE(grid.size() == 11);
  // All but the last two experiments ran; experiment i reached Dice (i + 1) / 20.
  for (size_t i = 0; i + 2 < grid.size(); ++i) {
    fs::path d = root / "runs" / grid[i].name;
    fs::create_directories(d);
    {
      CsvAppender m((d / run_files::kMetrics).string(), {"epoch", "train_loss", "test_soft_dice"});
      for (int e = 1; e <= 5; ++e) m.append(std::vector<double>{double(e), 1.0, (double(i) + 1) / 20 * e / 5});
      CsvAppender h((d / run_files::kHeldoutMetrics).string(), case_metrics_columns());
      CaseMetrics cm;
      cm.lesion_positive = true;
      cm.hard_dice = cm.soft_dice = cm.precision = cm.recall = (double(i) + 1) / 20;
      h.append(case_metrics_row("a", cm));
      h.append(case_metrics_row("b", cm));
    }
    if (i != 0) std::ofstream(d / run_files::kDone) << "done\n";
  }
  std::ofstream(root / "montage.png") << "png";
  fs::path report = write_study_report(c, root / "runs", root / "report",
                                       {{"Generated masks", root / "report" / "m.png"}, {"Outside", root / "montage.png"}});
  CHECK(report == root / "report" / "report.md");
  std::ifstream in(report);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string md = ss.str();
  INFO(md);
  CHECK(md.find("Preset `small`") != std::string::npos);
  // Rows in plan order, with the values of their runs.
  size_t last = 0;
  for (const auto& e : grid) {
    size_t p = md.find("| " + e.title + " |");
    CHECK(p != std::string::npos);
    CHECK(p >= last);
    last = p;
  }
  CHECK(md.find("| clinical only | 5.0 (5) |") != std::string::npos);
  CHECK(md.find("| " + grid[8].title + " | 45.0 (5) |") != std::string::npos);
  CHECK(md.find("| " + grid[10].title + " | – | – | – |") != std::string::npos);
  CHECK(md.find("- clinical only: unfinished") != std::string::npos);  // no DONE
  CHECK(md.find("- " + grid[9].title + ": not run") != std::string::npos);
  for (const char* f : {"curves.png", "curves_small_n.png", "dice_boxplot.png"}) {
    CHECK(fs::exists(root / "report" / "figures" / f));
    CHECK(md.find(std::string("(figures/") + f + ")") != std::string::npos);
  }
  CHECK(md.find("![Generated masks](m.png)") != std::string::npos);  // below the report: relative
  CHECK(md.find("![Outside](" + (root / "montage.png").string() + ")") != std::string::npos);
  CHECK(md.find("## Held-out set, per volume") != std::string::npos);
}
