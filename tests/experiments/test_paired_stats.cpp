// The study's statistics on hand-made samples with known answers: signed-rank p-values
// against a published table and scipy's documented example, the exact distribution against
// brute force, the normal approximation against its formula, bootstrap coverage over many
// seeded trials, pairing by volume id, Holm's adjustment.
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include <fmt/format.h>

#include "autograd/error.h"
#include "experiments/metrics/paired_stats.h"

using namespace pn::experiments;

namespace {

// Differences d_i = sign_i * i for i = 1..n, negative where `negative` lists i: ranks = |d|.
std::vector<double> signed_ranks(int n, std::initializer_list<int> negative) {
  std::vector<double> d;
  for (int i = 1; i <= n; ++i) d.push_back(i);
  for (int i : negative) d[static_cast<size_t>(i - 1)] = -i;
  return d;
}

// Two-sided p by enumerating all 2^n sign flips of `d`'s average ranks (no dynamic programming).
double brute_force_p(const std::vector<double>& d) {
  const size_t n = d.size();
  std::vector<double> rank(n);
  for (size_t i = 0; i < n; ++i) {
    double less = 0, equal = 0;
    for (size_t j = 0; j < n; ++j) less += std::abs(d[j]) < std::abs(d[i]), equal += std::abs(d[j]) == std::abs(d[i]);
    rank[i] = less + (equal + 1) / 2;
  }
  double w = 0;
  for (size_t i = 0; i < n; ++i) w += d[i] > 0 ? rank[i] : 0;
  double below = 0, above = 0;
  for (uint32_t mask = 0; mask < (1u << n); ++mask) {
    double s = 0;
    for (size_t i = 0; i < n; ++i) s += (mask >> i & 1u) ? rank[i] : 0;
    below += s <= w + 1e-9, above += s >= w - 1e-9;
  }
  return std::min(1.0, 2 * std::min(below, above) / std::ldexp(1.0, static_cast<int>(n)));
}

}  // namespace

TEST_CASE("signed-rank test: exact p-values match the published table and scipy's example") {
  // Tables of the exact null distribution (e.g. Conover, Practical Nonparametric Statistics,
  // Table A12): n = 10, P(T <= 8) = 0.0244 and P(T <= 9) = 0.0322, one-sided.
  SignedRankTest t8 = wilcoxon_signed_rank(signed_ranks(10, {1, 7}));
  CHECK(t8.exact);
  CHECK(t8.n == 10);
  CHECK(t8.w_minus == 8);
  CHECK(t8.w_plus == 47);
  CHECK(t8.p_value / 2 == doctest::Approx(0.0244).epsilon(0.002));
  CHECK(t8.p_value == 50.0 / 1024);  // 25 of the 1024 subsets of {1..10} sum to at most 8
  SignedRankTest t9 = wilcoxon_signed_rank(signed_ranks(10, {9}));
  CHECK(t9.p_value / 2 == doctest::Approx(0.0322).epsilon(0.002));
  // The mirror image gives the same two-sided p.
  CHECK(wilcoxon_signed_rank(signed_ranks(10, {2, 3, 4, 5, 6, 8, 9, 10})).p_value == t8.p_value);
  // scipy.stats.wilcoxon's documented example (Darwin's paired plant heights): statistic
  // min(W+, W-) = 24, two-sided exact p = 0.041259765625.
  SignedRankTest darwin = wilcoxon_signed_rank({6, 8, 14, 16, 23, 24, 28, 29, 41, -48, 49, 56, 60, -67, 75});
  CHECK(darwin.w_minus == 24);
  CHECK(darwin.p_value == doctest::Approx(0.041259765625).epsilon(1e-12));
  // All of one sign: the smallest p there is, 2 / 2^n.
  CHECK(wilcoxon_signed_rank(signed_ranks(6, {})).p_value == 2.0 / 64);
}

TEST_CASE("signed-rank test: ties get average ranks and zeros are dropped") {
  // Ties: the exact conditional distribution equals brute-force enumeration of sign flips.
  const std::vector<double> tied{0.5, -0.5, 0.5, 1.0, -1.0, 1.0, 1.0, 2.0, -0.25, 0.25, 3.0, 3.0};
  SignedRankTest t = wilcoxon_signed_rank(tied);
  CHECK(t.ties);
  CHECK(t.exact);
  // |d| sorted: 0.25 x2 (ranks 1.5), 0.5 x3 (4), 1.0 x4 (7.5), 2.0 (10), 3.0 x2 (11.5).
  CHECK(t.w_minus == doctest::Approx(1.5 + 4 + 7.5));
  CHECK(t.w_plus + t.w_minus == doctest::Approx(78.0));
  CHECK(t.p_value == doctest::Approx(brute_force_p(tied)).epsilon(1e-12));
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 5; ++trial) {
    std::vector<double> d;
    for (int i = 0; i < 11; ++i) d.push_back(static_cast<double>(static_cast<int>(rng() % 9)) - 3.0);  // ties and zeros
    std::vector<double> nonzero;
    for (double v : d)
      if (v != 0) nonzero.push_back(v);
    SignedRankTest r = wilcoxon_signed_rank(d);
    CHECK(r.zeros == d.size() - nonzero.size());
    CHECK(r.n == nonzero.size());
    CHECK(r.p_value == doctest::Approx(nonzero.empty() ? 1.0 : brute_force_p(nonzero)).epsilon(1e-12));
  }
  // Zeros change nothing but the count.
  SignedRankTest z = wilcoxon_signed_rank({0, 0, -1, 2, 3, 4, 5, 0});
  CHECK(z.zeros == 3);
  CHECK(z.n == 5);
  CHECK(z.p_value == wilcoxon_signed_rank({-1, 2, 3, 4, 5}).p_value);
  SignedRankTest none = wilcoxon_signed_rank({0, 0});
  CHECK(none.n == 0);
  CHECK(none.p_value == 1.0);
  CHECK_THROWS_WITH_AS(wilcoxon_signed_rank({1, std::nan("")}), doctest::Contains("signed-rank test: difference nan"),
                       pn::Error);
}

TEST_CASE("signed-rank test: normal approximation with tie and continuity correction beyond n = 50") {
  // 60 differences, |d| in {1, 2, 3} twenty times each: average ranks 10.5, 30.5, 50.5;
  // positive: 12 ones, 10 twos, 8 threes. W+ = 126 + 305 + 404 = 835; E = 60*61/4 = 915;
  // Var = 60*61*121/24 - 3*(20^3 - 20)/48 = 18452.5 - 498.75 = 17953.75.
  std::vector<double> d;
  for (int k = 0; k < 20; ++k) d.push_back(k < 12 ? 1 : -1);
  for (int k = 0; k < 20; ++k) d.push_back(k < 10 ? 2 : -2);
  for (int k = 0; k < 20; ++k) d.push_back(k < 8 ? 3 : -3);
  SignedRankTest t = wilcoxon_signed_rank(d);
  CHECK_FALSE(t.exact);
  CHECK(t.w_plus == doctest::Approx(835));
  CHECK(t.p_value == doctest::Approx(std::erfc((915.0 - 835.0 - 0.5) / std::sqrt(17953.75) / std::sqrt(2.0))).epsilon(1e-12));
  CHECK(t.p_value == doctest::Approx(0.5530).epsilon(1e-3));
  // At n = 50 (the largest exact n) the exact p and the normal approximation agree closely.
  const std::vector<double> d50 = signed_ranks(50, {1, 4, 9, 16, 25, 36, 49, 3, 30, 40, 45, 12, 22, 33, 48, 50});
  SignedRankTest e = wilcoxon_signed_rank(d50);
  CHECK(e.exact);
  const double mean = 50.0 * 51 / 4, sd = std::sqrt(50.0 * 51 * 101 / 24);
  const double approx = std::erfc((std::abs(e.w_plus - mean) - 0.5) / sd / std::sqrt(2.0));
  CHECK(e.w_minus == 423);  // p about 0.04, where the approximation matters
  CHECK(e.p_value == doctest::Approx(approx).epsilon(0.05));
  CHECK(e.p_value < 0.05);
}

TEST_CASE("bootstrap interval: seeded, and covers the true mean in about 95 % of trials") {
  const std::vector<double> x{0.1, 0.9, 0.95, 0.0, 0.8, 0.85, 0.7, 0.05};
  BootstrapOptions o;
  o.resamples = 2000;
  o.seed = 11;
  const Interval a = bootstrap_mean_interval(x, o), b = bootstrap_mean_interval(x, o);
  CHECK(a.lo == b.lo);
  CHECK(a.hi == b.hi);
  CHECK(a.lo < 0.54375);
  CHECK(a.hi > 0.54375);
  o.seed = 12;
  CHECK(bootstrap_mean_interval(x, o).lo != a.lo);
  // Exponential samples (mean 1, skewed), n = 30: the 95 % interval covers 1 in about 93-95 %
  // of trials; a 50 % interval (the planted bug: the wrong level) in about half of them.
  std::mt19937_64 rng(2024);
  int covered95 = 0, covered50 = 0;
  double width = 0;
  const int trials = 200;
  for (int t = 0; t < trials; ++t) {
    std::vector<double> s;
    for (int i = 0; i < 30; ++i) s.push_back(-std::log1p(-std::ldexp(static_cast<double>(rng() >> 11), -53)));
    BootstrapOptions bo;
    bo.resamples = 1000;
    bo.seed = static_cast<uint64_t>(t) + 1;
    const Interval iv = bootstrap_mean_interval(s, bo);
    covered95 += iv.lo <= 1 && 1 <= iv.hi;
    width += iv.hi - iv.lo;
    bo.level = 0.5;
    bo.resamples = 400;
    const Interval half = bootstrap_mean_interval(s, bo);
    covered50 += half.lo <= 1 && 1 <= half.hi;
  }
  CHECK(covered95 >= trials * 88 / 100);
  CHECK(covered95 <= trials * 99 / 100);
  CHECK(covered50 <= trials * 65 / 100);
  // The mean width is near 2 * 1.96 * sd / sqrt(n) = 0.716 for sd = 1.
  CHECK(width / trials == doctest::Approx(0.716).epsilon(0.15));
  // Edge cases.
  CHECK(std::isnan(bootstrap_mean_interval({}).lo));
  const Interval one = bootstrap_mean_interval({0.3});
  CHECK((one.lo == 0.3 && one.hi == 0.3));
  CHECK_THROWS_WITH_AS(bootstrap_mean_interval({0.1, INFINITY}), doctest::Contains("bootstrap: value inf is not finite"),
                       pn::Error);
  BootstrapOptions bad;
  bad.level = 1.0;
  CHECK_THROWS_WITH_AS(bootstrap_mean_interval(x, bad), doctest::Contains("confidence level 1 must lie in (0, 1)"),
                       pn::Error);
}

TEST_CASE("paired comparison: volumes matched by id, the difference's interval and test") {
  const VolumeValues a{{"v1", 0.9}, {"v2", 0.5}, {"v3", 0.7}, {"v4", 0.2}, {"v5", 0.6}, {"only_a", 0.0}};
  VolumeValues b{{"v5", 0.5}, {"v4", 0.1}, {"v3", 0.6}, {"v2", 0.4}, {"v1", 0.8}, {"only_b", 1.0}};
  PairedComparison c = paired_comparison(a, b);
  CHECK(c.n == 5);
  CHECK(c.mean_a == doctest::Approx(0.58));
  CHECK(c.mean_b == doctest::Approx(0.48));
  CHECK(c.mean_difference == doctest::Approx(0.1));
  // Every pair differs by 0.1 (to rounding): a degenerate interval at 0.1, but 5 volumes are
  // too few for a verdict.
  CHECK(c.difference_interval.lo == doctest::Approx(0.1));
  CHECK(c.difference_interval.hi == doctest::Approx(0.1));
  CHECK_FALSE(c.enough());
  CHECK_FALSE(c.resolved());
  CHECK(c.test.n == 5);
  CHECK(c.test.p_value == doctest::Approx(2.0 / 32));
  // The same shift on 10 volumes: resolved.
  VolumeValues a10, b10;
  for (int i = 0; i < 10; ++i) a10.emplace_back(fmt::format("v{}", i), 0.05 * i + 0.1), b10.emplace_back(fmt::format("v{}", i), 0.05 * i);
  const PairedComparison c10 = paired_comparison(a10, b10);
  CHECK(c10.enough());
  CHECK(c10.resolved());
  // Differences of both signs around 0: not resolved.
  for (int i = 0; i < 10; ++i) b10[static_cast<size_t>(i)].second = a10[static_cast<size_t>(i)].second + (i % 2 ? 0.1 : -0.1);
  CHECK_FALSE(paired_comparison(a10, b10).resolved());
  b = {{"v1", 0.7}, {"v2", 0.7}, {"v3", 0.5}, {"v4", 0.4}, {"v5", 0.6}};
  PairedComparison mixed = paired_comparison(a, b);
  CHECK(mixed.difference_interval.lo < 0);
  CHECK(mixed.difference_interval.hi > 0);
  CHECK_FALSE(mixed.resolved());
  CHECK(mixed.test.zeros == 1);
  CHECK(paired_comparison(a, {{"x", 1.0}}).n == 0);
  CHECK_FALSE(paired_comparison(a, {{"x", 1.0}}).resolved());
  CHECK_THROWS_WITH_AS(paired_comparison(a, {{"v1", 1.0}, {"v1", 0.5}}),
                       doctest::Contains("volume 'v1' appears twice in the second set"), pn::Error);
}

TEST_CASE("Holm's step-down adjustment") {
  const auto h = holm_adjust({0.01, 0.04, 0.03});
  CHECK(h[0] == doctest::Approx(0.03));
  CHECK(h[1] == doctest::Approx(0.06));  // 0.04 * 1 raised to the running maximum 0.06
  CHECK(h[2] == doctest::Approx(0.06));
  CHECK(holm_adjust({0.5, 0.9})[1] == 1.0);
  CHECK(holm_adjust({}).empty());
}
