#include "experiments/metrics/paired_stats.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <random>
#include <set>

#include "autograd/error.h"
#include "experiments/metrics/seg_metrics.h"

namespace pn::experiments {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double mean_of(const std::vector<double>& x) {
  return std::accumulate(x.begin(), x.end(), 0.0) / static_cast<double>(x.size());
}
}  // namespace

Interval bootstrap_mean_interval(const std::vector<double>& x, const BootstrapOptions& opt) {
  PN_CHECK(opt.level > 0 && opt.level < 1, "bootstrap: confidence level {} must lie in (0, 1)", opt.level);
  PN_CHECK(opt.resamples >= 1, "bootstrap: needs at least one resample, got {}", opt.resamples);
  for (double v : x) PN_CHECK(std::isfinite(v), "bootstrap: value {} is not finite; leave NaN and inf out first", v);
  if (x.empty()) return {kNaN, kNaN};
  if (x.size() == 1) return {x[0], x[0]};
  std::mt19937_64 rng(opt.seed);
  const uint64_t n = x.size();
  std::vector<double> means(static_cast<size_t>(opt.resamples));
  for (auto& m : means) {
    double s = 0;
    // rng() % n: the modulo bias is below n / 2^64, far under the Monte-Carlo error.
    for (uint64_t i = 0; i < n; ++i) s += x[static_cast<size_t>(rng() % n)];
    m = s / static_cast<double>(n);
  }
  const double alpha = 1 - opt.level;
  return {percentile_linear(means, 100 * alpha / 2), percentile_linear(std::move(means), 100 * (1 - alpha / 2))};
}

namespace {

// Average ranks (1-based) of v, ties sharing the mean of their positions; also Σ (t³ − t).
std::vector<double> average_ranks(const std::vector<double>& v, double& tie_term) {
  std::vector<size_t> order(v.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> rank(v.size());
  tie_term = 0;
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]]) ++j;
    const double r = (static_cast<double>(i) + static_cast<double>(j)) / 2 + 1;  // positions i..j hold ranks i+1..j+1
    for (size_t k = i; k <= j; ++k) rank[order[k]] = r;
    const double t = static_cast<double>(j - i + 1);
    tie_term += t * t * t - t;
    i = j + 1;
  }
  return rank;
}

// Exact two-sided p-value: the distribution of W+ over the 2^n equally likely sign
// assignments of `ranks`, by counting subsets per sum of doubled (integer) ranks.
double exact_signed_rank_p(const std::vector<double>& ranks, double w_plus) {
  std::vector<int64_t> doubled;
  int64_t total = 0;
  for (double r : ranks) doubled.push_back(std::llround(2 * r)), total += doubled.back();
  std::vector<double> count(static_cast<size_t>(total) + 1, 0.0);  // counts < 2^51: exact in double
  count[0] = 1;
  int64_t reach = 0;
  for (int64_t d : doubled) {
    for (int64_t s = reach; s >= 0; --s) count[static_cast<size_t>(s + d)] += count[static_cast<size_t>(s)];
    reach += d;
  }
  const int64_t w = std::llround(2 * w_plus);
  double below = 0, above = 0;
  for (int64_t s = 0; s <= total; ++s) {
    if (s <= w) below += count[static_cast<size_t>(s)];
    if (s >= w) above += count[static_cast<size_t>(s)];
  }
  const double all = std::ldexp(1.0, static_cast<int>(ranks.size()));
  return std::min(1.0, 2 * std::min(below, above) / all);
}

}  // namespace

SignedRankTest wilcoxon_signed_rank(const std::vector<double>& differences) {
  SignedRankTest t;
  std::vector<double> d, mag;
  for (double v : differences) {
    PN_CHECK(std::isfinite(v), "signed-rank test: difference {} is not finite", v);
    if (v == 0) ++t.zeros;
    else d.push_back(v), mag.push_back(std::abs(v));
  }
  t.n = d.size();
  if (t.n == 0) return t;
  double tie_term = 0;
  const std::vector<double> rank = average_ranks(mag, tie_term);
  t.ties = tie_term > 0;
  for (size_t i = 0; i < d.size(); ++i) (d[i] > 0 ? t.w_plus : t.w_minus) += rank[i];
  const double n = static_cast<double>(t.n);
  if (t.n <= kExactMaxN) {
    t.exact = true;
    t.p_value = exact_signed_rank_p(rank, t.w_plus);
    return t;
  }
  const double mean = n * (n + 1) / 4, var = n * (n + 1) * (2 * n + 1) / 24 - tie_term / 48;
  if (!(var > 0)) return t;  // cannot happen with n >= 1 non-zero differences; p stays 1
  const double z = std::max(0.0, std::abs(t.w_plus - mean) - 0.5) / std::sqrt(var);
  t.p_value = std::min(1.0, std::erfc(z / std::sqrt(2.0)));
  return t;
}

PairedComparison paired_comparison(const VolumeValues& a, const VolumeValues& b, const BootstrapOptions& opt) {
  std::map<std::string, double> by_id;
  for (const auto& [id, v] : b)
    PN_CHECK(by_id.emplace(id, v).second, "paired comparison: volume '{}' appears twice in the second set", id);
  std::set<std::string> seen;
  std::vector<double> va, vb, diff;
  for (const auto& [id, v] : a) {
    PN_CHECK(seen.insert(id).second, "paired comparison: volume '{}' appears twice in the first set", id);
    auto it = by_id.find(id);
    if (it == by_id.end()) continue;
    va.push_back(v), vb.push_back(it->second), diff.push_back(v - it->second);
  }
  PairedComparison c;
  c.n = diff.size();
  if (c.n == 0) {
    c.mean_a = c.mean_b = c.mean_difference = kNaN;
    c.difference_interval = {kNaN, kNaN};
    return c;
  }
  c.mean_a = mean_of(va), c.mean_b = mean_of(vb), c.mean_difference = mean_of(diff);
  c.difference_interval = bootstrap_mean_interval(diff, opt);
  c.test = wilcoxon_signed_rank(diff);
  return c;
}

std::vector<double> holm_adjust(const std::vector<double>& p) {
  const size_t m = p.size();
  std::vector<size_t> order(m);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) { return p[x] < p[y]; });
  std::vector<double> out(m);
  double running = 0;
  for (size_t i = 0; i < m; ++i) {
    running = std::max(running, std::min(1.0, p[order[i]] * static_cast<double>(m - i)));
    out[order[i]] = running;
  }
  return out;
}

}  // namespace pn::experiments
