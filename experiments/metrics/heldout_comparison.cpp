#include "experiments/metrics/heldout_comparison.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "autograd/error.h"

namespace pn::experiments {

HeldoutValues heldout_values(const std::string& title, const CsvTable& t) {
  HeldoutValues h{title, {}, {}};
  const auto ids = t.strings("case");
  const auto positive = t.numbers("lesion_positive"), dice = t.numbers("hard_dice"), fp = t.numbers("fp_volume_ml");
  for (size_t i = 0; i < ids.size(); ++i) {
    if (positive[i] != 0) {
      PN_CHECK(std::isfinite(dice[i]), "{}: row {} ({}): lesion-positive volume with hard Dice {}", t.source, i + 2, ids[i],
               dice[i]);
      h.dice.emplace_back(ids[i], dice[i]);
    } else {
      PN_CHECK(std::isfinite(fp[i]), "{}: row {} ({}): false-positive volume {}", t.source, i + 2, ids[i], fp[i]);
      h.fp_ml.emplace_back(ids[i], fp[i]);
    }
  }
  return h;
}

namespace {

VolumeValues average_values(const std::vector<const VolumeValues*>& runs) {
  std::map<std::string, std::pair<double, size_t>> acc;  // id -> (sum, runs holding it)
  for (const VolumeValues* r : runs)
    for (const auto& [id, v] : *r) acc[id].first += v, ++acc[id].second;
  VolumeValues out;
  for (const auto& [id, s] : acc)
    if (s.second == runs.size()) out.emplace_back(id, s.first / static_cast<double>(runs.size()));
  return out;
}

std::vector<double> values_of(const VolumeValues& v) {
  std::vector<double> out;
  for (const auto& p : v) out.push_back(p.second);
  return out;
}

double mean_of(const VolumeValues& v) {
  double s = 0;
  for (const auto& p : v) s += p.second;
  return v.empty() ? std::nan("") : s / static_cast<double>(v.size());
}

std::string p_text(double p) { return p < 0.001 ? "< 0.001" : fmt::format("{:.3f}", p); }
// "p = 0.041", "p < 0.001" (and with a prefix: "Holm p = ...").
std::string p_is(const char* name, double p) {
  return p < 0.001 ? fmt::format("{} < 0.001", name) : fmt::format("{} = {:.3f}", name, p);
}

// "12.3 [4.5, 20.1]" with values times `scale`; signed when `sign`.
std::string mean_interval(double mean, const Interval& iv, double scale, int decimals, bool sign) {
  if (std::isnan(mean)) return "–";
  return sign ? fmt::format("{:+.{}f} [{:+.{}f}, {:+.{}f}]", mean * scale, decimals, iv.lo * scale, decimals, iv.hi * scale,
                            decimals)
              : fmt::format("{:.{}f} [{:.{}f}, {:.{}f}]", mean * scale, decimals, iv.lo * scale, decimals, iv.hi * scale,
                            decimals);
}

struct Comparisons {
  std::vector<PairedComparison> c;  // per experiment; empty n for the reference itself
  std::vector<double> holm;         // per experiment, NaN where there is no test
};

// Each experiment against the reference on `field` (dice or fp_ml).
Comparisons compare_all(const std::vector<HeldoutValues>& ex, const HeldoutValues* ref,
                        VolumeValues HeldoutValues::*field, const BootstrapOptions& opt) {
  Comparisons out;
  std::vector<double> p;
  std::vector<size_t> tested;
  for (size_t i = 0; i < ex.size(); ++i) {
    out.c.emplace_back();
    if (!ref || &ex[i] == ref) continue;
    out.c.back() = paired_comparison(ex[i].*field, ref->*field, opt);
    if (out.c.back().n > 0) p.push_back(out.c.back().test.p_value), tested.push_back(i);
  }
  out.holm.assign(ex.size(), std::nan(""));
  const auto adjusted = holm_adjust(p);
  for (size_t k = 0; k < tested.size(); ++k) out.holm[tested[k]] = adjusted[k];
  return out;
}

std::string verdict(const PairedComparison& c) {
  if (c.n == 0) return "–";
  if (!c.enough()) return fmt::format("n < {}", PairedComparison::kMinResolvable);
  return c.resolved() ? "yes" : "no";
}

std::string test_cell(const PairedComparison& c) {
  if (c.n == 0) return "–";
  return fmt::format("{} ({})", p_text(c.test.p_value), c.test.exact ? "exact" : "normal");
}

// Which differences are resolved and which not, in words.
std::string reading(const std::vector<HeldoutValues>& ex, const Comparisons& cmp, const std::string& what,
                    const std::string& unit, double scale, int decimals) {
  std::vector<std::string> resolved, open, few;
  for (size_t i = 0; i < ex.size(); ++i) {
    const auto& c = cmp.c[i];
    if (c.n == 0) continue;
    if (!c.enough())
      few.push_back(fmt::format("{} ({:+.{}f} {}, n = {})", ex[i].title, c.mean_difference * scale, decimals, unit, c.n));
    else if (c.resolved())
      resolved.push_back(fmt::format("{} ({:+.{}f} {}, 95 % CI [{:+.{}f}, {:+.{}f}], {}, {}", ex[i].title,
                                     c.mean_difference * scale, decimals, unit, c.difference_interval.lo * scale, decimals,
                                     c.difference_interval.hi * scale, decimals, p_is("p", c.test.p_value), p_is("Holm p", cmp.holm[i])) +
                         // A small n can give a narrow bootstrap interval that the rank test cannot back.
                         (c.test.p_value >= 0.05 ? "; the signed-rank test does not confirm it at 0.05)" : ")"));
    else
      open.push_back(fmt::format("{} ({:+.{}f} {})", ex[i].title, c.mean_difference * scale, decimals, unit));
  }
  if (resolved.empty() && open.empty() && few.empty()) return "";
  std::string out = fmt::format("**{}**: ", what);
  if (!resolved.empty() || !open.empty())
    out += resolved.empty() ? "no difference is resolved (every 95 % interval of the paired difference contains 0). "
                            : fmt::format("resolved (the 95 % interval of the paired difference excludes 0): {}. ",
                                          fmt::join(resolved, "; "));
  if (!open.empty())
    out += fmt::format("Not resolved (the interval contains 0; the held-out set cannot tell these from the reference): {}. ",
                       fmt::join(open, "; "));
  if (!few.empty())
    out += fmt::format("Too few paired volumes to tell (fewer than {}; no verdict, whatever the interval): {}.",
                       PairedComparison::kMinResolvable, fmt::join(few, "; "));
  return out + "\n";
}

}  // namespace

HeldoutValues average_runs(const std::vector<HeldoutValues>& runs) {
  PN_CHECK(!runs.empty(), "average_runs: no runs");
  std::vector<const VolumeValues*> dice, fp;
  for (const auto& r : runs) dice.push_back(&r.dice), fp.push_back(&r.fp_ml);
  return {runs[0].title, average_values(dice), average_values(fp)};
}

std::string heldout_comparison_markdown(const std::vector<HeldoutValues>& ex, const std::string& reference,
                                        const BootstrapOptions& opt) {
  const auto it = std::find_if(ex.begin(), ex.end(), [&](const HeldoutValues& h) { return h.title == reference; });
  const HeldoutValues* ref = it == ex.end() ? nullptr : &*it;
  const Comparisons dice = compare_all(ex, ref, &HeldoutValues::dice, opt);
  const Comparisons fp = compare_all(ex, ref, &HeldoutValues::fp_ml, opt);
  std::string md = fmt::format(
      "Intervals: {:.0f} % percentile bootstrap of the mean ({} resamples, seed {}). Differences: experiment − {}, per "
      "volume, on the volumes both evaluated, with a bootstrap interval of their mean; p: two-sided Wilcoxon signed-rank "
      "test (exact permutation distribution for up to {} non-zero differences, else normal approximation with tie and "
      "continuity correction; zero differences dropped), and Holm-adjusted over the comparisons. A difference is "
      "*resolved* when its interval excludes 0, given at least {} paired volumes.\n\n",
      100 * opt.level, opt.resamples, opt.seed, ref ? reference : std::string("(no reference experiment)"), kExactMaxN,
      PairedComparison::kMinResolvable);
  md += fmt::format("| experiment | n | hard Dice % [95 % CI] | difference vs {}, points [95 % CI] | Wilcoxon p | Holm p | "
                    "resolved |\n|---|---:|---:|---:|---:|---:|---|\n", reference);
  for (size_t i = 0; i < ex.size(); ++i) {
    const auto& c = dice.c[i];
    const std::string mean = mean_interval(mean_of(ex[i].dice), bootstrap_mean_interval(values_of(ex[i].dice), opt), 100, 1, false);
    if (&ex[i] == ref) md += fmt::format("| {} | {} | {} | reference | | | |\n", ex[i].title, ex[i].dice.size(), mean);
    else
      md += fmt::format("| {} | {} | {} | {} | {} | {} | {} |\n", ex[i].title, ex[i].dice.size(), mean,
                        c.n ? mean_interval(c.mean_difference, c.difference_interval, 100, 1, true) : "–", test_cell(c),
                        c.n ? p_text(dice.holm[i]) : "–", verdict(c));
  }
  md += "\n";
  md += reading(ex, dice, "Hard Dice", "points", 100, 1);
  md += fmt::format("\nLesion-free held-out volumes (any predicted lesion is a false positive):\n\n| experiment | n | "
                    "false-positive volume ml [95 % CI] | volumes with any false positive | difference vs {}, ml [95 % "
                    "CI] | Wilcoxon p | resolved |\n|---|---:|---:|---:|---:|---:|---|\n", reference);
  for (size_t i = 0; i < ex.size(); ++i) {
    const auto& c = fp.c[i];
    const auto v = values_of(ex[i].fp_ml);
    const size_t any = static_cast<size_t>(std::count_if(v.begin(), v.end(), [](double x) { return x > 0; }));
    const std::string frac = v.empty() ? "–" : fmt::format("{} of {} ({:.0f} %)", any, v.size(),
                                                         100.0 * static_cast<double>(any) / static_cast<double>(v.size()));
    const std::string mean = mean_interval(mean_of(ex[i].fp_ml), bootstrap_mean_interval(v, opt), 1, 2, false);
    if (&ex[i] == ref) md += fmt::format("| {} | {} | {} | {} | reference | | |\n", ex[i].title, v.size(), mean, frac);
    else
      md += fmt::format("| {} | {} | {} | {} | {} | {} | {} |\n", ex[i].title, v.size(), mean, frac,
                        c.n ? mean_interval(c.mean_difference, c.difference_interval, 1, 2, true) : "–", test_cell(c),
                        verdict(c));
  }
  md += "\n";
  md += reading(ex, fp, "False-positive volume on lesion-free brains", "ml", 1, 2);
  return md;
}

std::string matched_comparison_markdown(const std::vector<MatchedPair>& pairs, const BootstrapOptions& opt) {
  if (pairs.empty()) return "";
  Comparisons cmp;
  std::vector<double> p;
  std::vector<HeldoutValues> named;  // "experiment vs baseline", for the reading
  for (const auto& pair : pairs) {
    cmp.c.push_back(paired_comparison(pair.experiment->dice, pair.baseline->dice, opt));
    if (cmp.c.back().n > 0) p.push_back(cmp.c.back().test.p_value);
    named.push_back({pair.experiment->title + " vs " + pair.baseline->title, {}, {}});
  }
  const auto adjusted = holm_adjust(p);
  for (size_t i = 0, k = 0; i < pairs.size(); ++i) cmp.holm.push_back(cmp.c[i].n > 0 ? adjusted[k++] : std::nan(""));
  std::string md = "| experiment | baseline | n | experiment, hard Dice % [95 % CI] | baseline [95 % CI] | difference, "
                   "points [95 % CI] | Wilcoxon p | Holm p | resolved |\n|---|---|---:|---:|---:|---:|---:|---:|---|\n";
  auto mean = [&](const HeldoutValues* h) {
    return mean_interval(mean_of(h->dice), bootstrap_mean_interval(values_of(h->dice), opt), 100, 1, false);
  };
  for (size_t i = 0; i < pairs.size(); ++i) {
    const auto& c = cmp.c[i];
    md += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n", pairs[i].experiment->title,
                      pairs[i].baseline->title, c.n, mean(pairs[i].experiment), mean(pairs[i].baseline),
                      c.n ? mean_interval(c.mean_difference, c.difference_interval, 100, 1, true) : "–", test_cell(c),
                      c.n ? p_text(cmp.holm[i]) : "–", verdict(c));
  }
  return md + "\n" + reading(named, cmp, "Against the matched baseline", "points", 100, 1);
}

}  // namespace pn::experiments
