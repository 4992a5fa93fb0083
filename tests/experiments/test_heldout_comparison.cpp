// The report's statistics section on hand-made per-volume tables: intervals, paired
// differences against the reference, the lesion-free table, and the reading that says
// which differences are resolved.
#include <doctest/doctest.h>

#include "autograd/error.h"
#include "experiments/metrics/case_metrics_csv.h"
#include "experiments/metrics/heldout_comparison.h"

using namespace pn::experiments;

namespace {

// A per-volume table: lesion-positive volumes p0.. with `dice`, lesion-free f0.. with `fp`.
CsvTable table(const std::vector<double>& dice, const std::vector<double>& fp) {
  CsvTable t;
  t.source = "heldout_metrics.csv";
  t.columns = case_metrics_columns();
  for (size_t i = 0; i < dice.size() + fp.size(); ++i) {
    CaseMetrics m;
    m.lesion_positive = i < dice.size();
    if (m.lesion_positive) m.soft_dice = m.hard_dice = m.precision = m.recall = dice[i];
    else m.soft_dice = m.hard_dice = m.precision = m.recall = m.hd95_mm = std::nan(""), m.fp_volume_ml = fp[i - dice.size()];
    t.rows.push_back(case_metrics_row(m.lesion_positive ? fmt::format("p{}", i) : fmt::format("f{}", i - dice.size()), m));
  }
  return t;
}

}  // namespace

TEST_CASE("held-out comparison: intervals, paired differences, lesion-free volumes and the reading") {
  const std::vector<double> ref{0.1, 0.8, 0.5, 0.9, 0.3, 0.6, 0.7, 0.2, 0.4, 0.5};
  std::vector<double> better, noisy, skewed;
  int small = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    better.push_back(ref[i] + 0.05 + 0.01 * static_cast<double>(i % 3));  // always higher
    noisy.push_back(ref[i] + (i % 2 ? 0.2 : -0.2));                       // mean 0 difference
    // Four large gains and six tiny losses: the mean is clearly up, the ranks are not.
    skewed.push_back(ref[i] <= 0.4 ? ref[i] + 0.4 : ref[i] - 0.001 * ++small);
  }
  std::vector<HeldoutValues> ex{heldout_values("clinical only", table(ref, {0, 5, 10, 0})),
                                heldout_values("better", table(better, {0, 0, 0, 0})),
                                heldout_values("noisy", table(noisy, {1, 6, 11, 1})),
                                heldout_values("skewed", table(skewed, {}))};
  CHECK(ex[0].dice.size() == 10);
  CHECK(ex[0].fp_ml.size() == 4);
  CHECK(ex[0].fp_ml[1].first == "f1");
  BootstrapOptions o;
  o.resamples = 2000;
  o.seed = 3;
  const std::string md = heldout_comparison_markdown(ex, "clinical only", o);
  INFO(md);
  CHECK(md.find("| clinical only | 10 | 50.0 [") != std::string::npos);
  CHECK(md.find("| reference |") != std::string::npos);
  // "better": +5.9 points on average (0.05 + 0.01 * (0,1,2,0,1,2,0,1,2,0)), every volume higher:
  // exact p = 2 / 2^10.
  CHECK(md.find("| better | 10 | 55.9 [") != std::string::npos);
  CHECK(md.find("| +5.9 [+5.") != std::string::npos);
  CHECK(md.find("0.002 (exact) | 0.006 | yes |") != std::string::npos);
  CHECK(md.find("| noisy | 10 | 50.0 [") != std::string::npos);
  CHECK(md.find("| +0.0 [-1") != std::string::npos);
  CHECK(md.find("1.000 (exact) | 1.000 | no |") != std::string::npos);
  CHECK(md.find("**Hard Dice**: resolved (the 95 % interval of the paired difference excludes 0): better (+5.9 points") !=
        std::string::npos);
  CHECK(md.find("Not resolved (the interval contains 0; the held-out set cannot tell these from the reference): noisy "
                "(+0.0 points).") != std::string::npos);
  // The interval excludes 0 but the signed-rank test (W- = 21 of 55) does not back it: said so.
  CHECK(md.find("skewed (+15.8 points, 95 % CI [+") != std::string::npos);
  CHECK(md.find("; the signed-rank test does not confirm it at 0.05)") != std::string::npos);
  // Lesion-free: the reference has 2 of 4 volumes with false positives, mean 3.75 ml; "better"
  // none; "noisy" 1 ml more on every volume.
  CHECK(md.find("| clinical only | 4 | 3.75 [") != std::string::npos);
  CHECK(md.find("| 2 of 4 (50 %) | reference |") != std::string::npos);
  CHECK(md.find("| better | 4 | 0.00 [0.00, 0.00] | 0 of 4 (0 %) | -3.75 [") != std::string::npos);
  CHECK(md.find("| noisy | 4 | 4.75 [") != std::string::npos);
  // Four volumes: a degenerate interval at +1 ml, but too few pairs for any verdict.
  CHECK(md.find("| 4 of 4 (100 %) | +1.00 [+1.00, +1.00] | 0.125 (exact) | n < 10 |") != std::string::npos);
  CHECK(md.find("| skewed | 0 | – | – | – | – | – |") != std::string::npos);
  CHECK(md.find("**False-positive volume on lesion-free brains**: Too few paired volumes to tell (fewer than 10; no "
                "verdict, whatever the interval): better (-3.75 ml, n = 4); noisy (+1.00 ml, n = 4).") != std::string::npos);
  // Without the reference: intervals only.
  const std::string alone = heldout_comparison_markdown({ex[1]}, "clinical only", o);
  CHECK(alone.find("(no reference experiment)") != std::string::npos);
  CHECK(alone.find("| better | 10 | 55.9 [") != std::string::npos);
  CHECK(alone.find("resolved (") == std::string::npos);
}

TEST_CASE("matched comparison: each experiment against its own baseline, Holm over the pairs") {
  const std::vector<double> base{0.1, 0.8, 0.5, 0.9, 0.3, 0.6, 0.7, 0.2, 0.4, 0.5};
  std::vector<double> better, noisy;
  for (size_t i = 0; i < base.size(); ++i) {
    better.push_back(base[i] + 0.05 + 0.01 * static_cast<double>(i % 3));
    noisy.push_back(base[i] + (i % 2 ? 0.2 : -0.2));
  }
  const HeldoutValues scratch4 = heldout_values("scratch 4", table(base, {})),
                      tuned4 = heldout_values("tuned 4", table(better, {})),
                      scratch16 = heldout_values("scratch 16", table(better, {})),
                      tuned16 = heldout_values("tuned 16", table(noisy, {}));
  BootstrapOptions o;
  o.resamples = 2000;
  o.seed = 3;
  CHECK(matched_comparison_markdown({}, o).empty());
  const std::string md = matched_comparison_markdown({{&tuned4, &scratch4}, {&tuned16, &scratch16}}, o);
  INFO(md);
  // tuned 4: +5.9 points on every volume, exact p = 2 / 2^10, Holm over 2 pairs: x2.
  CHECK(md.find("| tuned 4 | scratch 4 | 10 | 55.9 [") != std::string::npos);
  CHECK(md.find("| 50.0 [") != std::string::npos);
  CHECK(md.find("| +5.9 [+5.") != std::string::npos);
  CHECK(md.find("| 0.002 (exact) | 0.004 | yes |") != std::string::npos);
  // tuned 16 against its own baseline (not against scratch 4): -5.9 points on average.
  CHECK(md.find("| tuned 16 | scratch 16 | 10 | 50.0 [") != std::string::npos);
  CHECK(md.find("| -5.9 [") != std::string::npos);
  CHECK(md.find("**Against the matched baseline**: resolved (the 95 % interval of the paired difference excludes 0): "
                "tuned 4 vs scratch 4 (+5.9 points") != std::string::npos);
}

TEST_CASE("held-out values averaged over runs keep the volumes every run has") {
  HeldoutValues a{"x", {{"p0", 0.2}, {"p1", 0.4}, {"p2", 1.0}}, {{"f0", 2.0}}};
  HeldoutValues b{"x", {{"p1", 0.6}, {"p0", 0.4}}, {{"f0", 4.0}}};
  const HeldoutValues m = average_runs({a, b});
  REQUIRE(m.dice.size() == 2);
  CHECK(m.dice[0].first == "p0");
  CHECK(m.dice[0].second == doctest::Approx(0.3));
  CHECK(m.dice[1].second == doctest::Approx(0.5));
  REQUIRE(m.fp_ml.size() == 1);
  CHECK(m.fp_ml[0].second == doctest::Approx(3.0));
  CsvTable bad = table({0.5}, {});
  bad.rows[0][bad.index("hard_dice")] = "nan";
  CHECK_THROWS_WITH_AS(heldout_values("x", bad), doctest::Contains("heldout_metrics.csv: row 2 (p0): lesion-positive volume "
                                                                   "with hard Dice nan"),
                       pn::Error);
}
