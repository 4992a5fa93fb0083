// Statistics for telling segmentation experiments apart on the same held-out volumes: what a
// reviewer asks for before believing a difference in mean Dice.
//
//   bootstrap_mean_interval: percentile bootstrap confidence interval of a mean (Efron &
//     Tibshirani 1993, ch. 13). B resamples of the n values, drawn with replacement from a
//     seeded std::mt19937_64 (the same seed gives the same interval on every platform); the
//     interval is the α/2 and 1 − α/2 quantiles of the B resampled means, with
//     numpy.percentile's linear interpolation. Percentile, not BCa: at the study's n the two
//     differ by less than the Monte-Carlo error, and the percentile interval is simpler to
//     check. Its coverage is somewhat below nominal for very small n (≲ 10).
//   wilcoxon_signed_rank: the two-sided Wilcoxon signed-rank test of paired differences
//     d_i (Wilcoxon 1945). Zeros are dropped (Wilcoxon's convention, scipy's default
//     zero_method "wilcox"); |d| is ranked with average ranks for ties; W+ is the sum of the
//     ranks of the positive d. For n ≤ kExactMaxN non-zero differences the p-value is exact:
//     the permutation distribution of W+ over all 2^n sign assignments of the observed
//     (possibly tied, average) ranks, counted by dynamic programming on doubled ranks; then
//     p = min(1, 2 · min(P(W+ ≤ w), P(W+ ≥ w))). Without ties this is the classic exact
//     null distribution of the published tables. Beyond kExactMaxN, the normal approximation
//     with tie and continuity correction:
//       z = (|W+ − n(n+1)/4| − ½) / sqrt(n(n+1)(2n+1)/24 − Σ_ties (t³ − t)/48),  p = erfc(z/√2).
//   paired_comparison: two experiments' per-volume values matched by volume id: the mean
//     difference (a − b), its bootstrap interval (volumes resampled as pairs) and the
//     signed-rank test. A difference is "resolved" when its interval excludes 0 and at least
//     kMinResolvable volumes are paired: below that the percentile bootstrap under-covers
//     badly (n = 2 has three possible resampled means) and no verdict is given.
//   holm_adjust: Holm's step-down adjustment of several p-values (family-wise error rate).
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace pn::experiments {

struct Interval {
  double lo = 0, hi = 0;  // NaN when there are no values
  bool excludes(double v) const { return lo > v || hi < v; }
};

struct BootstrapOptions {
  double level = 0.95;   // in (0, 1)
  int resamples = 10000;
  uint64_t seed = 1;
};

// Percentile bootstrap interval of mean(x). n = 0 gives NaN bounds; n = 1 gives [x0, x0].
Interval bootstrap_mean_interval(const std::vector<double>& x, const BootstrapOptions& opt = {});

struct SignedRankTest {
  size_t n = 0;          // non-zero differences used
  size_t zeros = 0;      // differences equal to 0, dropped
  bool ties = false;     // tied |d| among the non-zero ones
  bool exact = false;    // exact permutation p-value (else normal approximation)
  double w_plus = 0;     // sum of the ranks of the positive differences
  double w_minus = 0;    // sum of the ranks of the negative ones
  double p_value = 1;    // two-sided; 1 when n = 0
};
constexpr size_t kExactMaxN = 50;
SignedRankTest wilcoxon_signed_rank(const std::vector<double>& differences);

struct PairedComparison {
  size_t n = 0;                 // volumes present in both
  double mean_a = 0, mean_b = 0;
  double mean_difference = 0;   // mean over the volumes of a_i − b_i
  Interval difference_interval;
  SignedRankTest test;
  static constexpr size_t kMinResolvable = 10;
  bool enough() const { return n >= kMinResolvable; }
  bool resolved() const { return enough() && difference_interval.excludes(0.0); }
};
using VolumeValues = std::vector<std::pair<std::string, double>>;  // (volume id, value)
// Pairs a and b by volume id (volumes in only one of them are left out; a repeated id is an
// error). The bootstrap resamples the paired differences.
PairedComparison paired_comparison(const VolumeValues& a, const VolumeValues& b, const BootstrapOptions& opt = {});

// Holm-adjusted p-values in the input's order: sort ascending, p_(i) · (m − i + 1), made
// non-decreasing, capped at 1.
std::vector<double> holm_adjust(const std::vector<double>& p);

}  // namespace pn::experiments
