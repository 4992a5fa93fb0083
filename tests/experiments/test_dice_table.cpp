// Result tables: summaries in both protocols, the per-volume CSV, and the Markdown.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <limits>

#include "experiments/metrics/case_metrics_csv.h"
#include "experiments/report/dice_table.h"
#include "experiments/run/run_dir.h"
#include "tests/experiments/error_text.h"

using namespace pn::experiments;
using pn::test::scratch_dir;
namespace fs = std::filesystem;

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// metrics.csv with test_soft_dice = values[i] at epoch i + 1.
void write_epochs(const fs::path& p, const std::vector<double>& values) {
  CsvAppender a(p.string(), {"epoch", "train_loss", "test_soft_dice"});
  for (size_t i = 0; i < values.size(); ++i) a.append(std::vector<double>{double(i + 1), 1.0 - values[i], values[i]});
}

bool same(double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); }

CaseMetrics lesion_case(double dice) {
  CaseMetrics m;
  m.lesion_positive = true;
  m.soft_dice = m.hard_dice = m.precision = m.recall = dice;
  m.avd_ml = 1, m.hd95_mm = 4, m.fp_volume_ml = 0.5, m.truth_ml = 2, m.pred_ml = 2.5;
  return m;
}
CaseMetrics lesion_free_case(double fp_ml) {
  CaseMetrics m;
  m.soft_dice = m.hard_dice = m.precision = m.recall = m.hd95_mm = kNaN;
  m.fp_volume_ml = m.pred_ml = m.avd_ml = fp_ml;
  return m;
}
}  // namespace

TEST_CASE("mean and sample sd, skipping NaN and infinities") {
  MeanSd m = mean_sd({1, 2, 3, 4});
  CHECK(m.mean == doctest::Approx(2.5));
  CHECK(m.sd == doctest::Approx(std::sqrt((2.25 + 0.25 + 0.25 + 2.25) / 3.0)));
  CHECK(m.n == 4);
  MeanSd s = mean_sd({kNaN, 2, kInf, 4, kNaN});
  CHECK(s.n == 2);
  CHECK(s.skipped == 2);
  CHECK(s.infinite == 1);
  CHECK(s.mean == doctest::Approx(3.0));
  CHECK(std::isnan(mean_sd({5}).sd));
  CHECK(std::isnan(mean_sd({}).mean));
  CHECK(format_mean_sd(mean_sd({0.6, 0.8})) == "70.0 ± 14.1");
  CHECK(format_mean_sd(mean_sd({0.5})) == "50.0");
  CHECK(format_mean_sd(mean_sd({})) == "–");
}

TEST_CASE("per-epoch protocol: best epoch and the last K epochs") {
  auto dir = scratch_dir("dice-epochs");
  // Dice rises to 0.9 at epoch 4 and settles at 0.7, 0.8, 0.6.
  write_epochs(dir / "metrics.csv", {0.1, 0.5, 0.7, 0.9, 0.9, 0.7, 0.8, 0.6});
  CsvTable t = read_csv((dir / "metrics.csv").string());
  EpochSummary s = summarize_epochs(t, "test_soft_dice", 3);
  CHECK(s.best == 0.9);
  CHECK(s.best_epoch == 4);  // the first epoch that reached it
  CHECK(s.epochs == 8);
  CHECK(s.last.n == 3);
  CHECK(s.last.mean == doctest::Approx(0.7));
  CHECK(s.last.sd == doctest::Approx(0.1));
  EpochSummary all = summarize_epochs(t, "test_soft_dice", 100);  // fewer epochs than K: all of them
  CHECK(all.last.n == 8);
  CHECK(all.last.mean == doctest::Approx(5.2 / 8));
  CHECK_ERROR_HAS(summarize_epochs(t, "dice", 3), "no column 'dice'");
  CHECK_ERROR_HAS(summarize_epochs(parse_csv("epoch,d\n1,0.5\n3,0.6\n2,0.7\n", "x.csv"), "d", 2), "epochs out of order",
                  "row 4");
  CHECK_ERROR_HAS(summarize_epochs(parse_csv("epoch,d\n", "e.csv"), "d", 2), "no epochs");
}

TEST_CASE("per-volume CSV round trip and held-out summaries") {
  auto dir = scratch_dir("dice-volumes");
  auto path = (dir / run_files::kHeldoutMetrics).string();
  std::vector<CaseMetrics> cases{lesion_case(0.6), lesion_case(0.8), lesion_free_case(0.0), lesion_free_case(1.5),
                                 lesion_case(0.7)};
  cases[4].hd95_mm = kInf;  // an empty prediction
  {
    CsvAppender a(path, case_metrics_columns());
    for (size_t i = 0; i < cases.size(); ++i) a.append(case_metrics_row("case" + std::to_string(i), cases[i]));
  }
  CsvTable t = read_csv(path);
  for (size_t i = 0; i < cases.size(); ++i) {
    CaseMetrics b = case_metrics_from_row(t, i);
    CHECK(b.lesion_positive == cases[i].lesion_positive);
    CHECK(same(b.hard_dice, cases[i].hard_dice));
    CHECK(same(b.hd95_mm, cases[i].hd95_mm));
    CHECK(b.fp_volume_ml == cases[i].fp_volume_ml);
  }
  MeanSd d = summarize_volumes(t, "hard_dice");
  CHECK(d.n == 3);  // the lesion-free volumes are not in it
  CHECK(d.mean == doctest::Approx(0.7));
  CHECK(d.sd == doctest::Approx(0.1));
  MeanSd hd = summarize_volumes(t, "hd95_mm");
  CHECK(hd.n == 2);
  CHECK(hd.infinite == 1);
  MeanSd fp = summarize_false_positives(t);
  CHECK(fp.n == 2);
  CHECK(fp.mean == doctest::Approx(0.75));
  std::string vol = volume_metrics_markdown({{"clinical", t}});
  INFO(vol);
  CHECK(vol.find("| clinical | 3 | 70.0 ± 10.0 | 70.0 ± 10.0 |") != std::string::npos);
  CHECK(vol.find("4.0 ± 0.0 (1 empty)") != std::string::npos);
  CHECK(vol.find("| 2 | 0.75 ± 1.06 |") != std::string::npos);
}

TEST_CASE("Dice table from run folders") {
  auto root = scratch_dir("dice-table");
  fs::create_directories(root / "a");
  fs::create_directories(root / "b");
  fs::create_directories(root / "c");
  write_epochs(root / "a" / run_files::kMetrics, {0.2, 0.6, 0.8, 0.7});
  {
    CsvAppender h((root / "a" / run_files::kHeldoutMetrics).string(), case_metrics_columns());
    h.append(case_metrics_row("x", lesion_case(0.5)));
    h.append(case_metrics_row("y", lesion_case(0.7)));
    h.append(case_metrics_row("z", lesion_free_case(2)));
  }
  write_epochs(root / "b" / run_files::kMetrics, {0.3});
  std::vector<ExperimentResult> rs{load_experiment("clinical only", (root / "a").string(), 2),
                                   load_experiment("synthetic only", (root / "b").string(), 2),
                                   load_experiment("not run yet", (root / "c").string(), 2)};
  REQUIRE(rs[0].per_epoch.has_value());
  REQUIRE(rs[0].heldout.has_value());
  CHECK_FALSE(rs[1].heldout.has_value());
  CHECK_FALSE(rs[2].per_epoch.has_value());
  std::string md = dice_table_markdown(rs, 2);
  INFO(md);
  CHECK(md.find("| experiment | best epoch: Dice % (epoch) | last 2 epochs") != std::string::npos);
  CHECK(md.find("| clinical only | 80.0 (3) | 75.0 ± 7.1 | 60.0 ± 14.1 (2) |") != std::string::npos);
  CHECK(md.find("| synthetic only | 30.0 (1) | 30.0 (last 1) | – |") != std::string::npos);
  CHECK(md.find("| not run yet | – | – | – |") != std::string::npos);
  CHECK_ERROR_HAS(load_experiment("x", (root / "missing").string(), 2), "no run folder");
}
