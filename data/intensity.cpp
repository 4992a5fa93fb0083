#include "data/intensity.h"

#include <algorithm>
#include <cmath>

#include "autograd/error.h"

namespace pn::data {

Normalisation parse_normalisation(const std::string& name) {
  if (name == "paper") return Normalisation::Paper;
  if (name == "zscore") return Normalisation::ZScore;
  if (name == "minmax") return Normalisation::MinMax;
  if (name == "none") return Normalisation::None;
  PN_FAIL("unknown normalisation '{}' (paper, zscore, minmax, none)", name);
}

double percentile(const std::vector<float>& values, double q) {
  PN_CHECK(!values.empty() && q >= 0 && q <= 100, "percentile: {} of {} values", q, values.size());
  std::vector<float> v = values;
  const double pos = q / 100.0 * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(pos));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(lo), v.end());
  const double a = v[lo];
  if (lo + 1 >= v.size()) return a;
  const double b = *std::min_element(v.begin() + static_cast<std::ptrdiff_t>(lo) + 1, v.end());
  return a + (pos - static_cast<double>(lo)) * (b - a);
}

namespace {

void zscore(std::vector<float>& x) {
  double mean = 0, sq = 0;
  for (float f : x) mean += f;
  mean /= static_cast<double>(x.size());
  for (float f : x) sq += (f - mean) * (f - mean);
  const double sd = std::sqrt(sq / static_cast<double>(x.size()));
  for (float& f : x) f = static_cast<float>(sd > 0 ? (f - mean) / sd : 0.0);
}

void minmax(std::vector<float>& x) {
  const auto [lo, hi] = std::minmax_element(x.begin(), x.end());
  const double a = *lo, b = *hi;
  for (float& f : x) f = static_cast<float>(b > a ? 2 * (f - a) / (b - a) - 1 : 0.0);
}

}  // namespace

void normalise(Volume& v, Normalisation how, double upper_percentile) {
  if (how == Normalisation::None || v.data.empty()) return;
  if (how == Normalisation::Paper) {
    const double hi = percentile(v.data, upper_percentile);
    for (float& f : v.data) f = static_cast<float>(std::clamp<double>(f, 0.0, std::max(hi, 0.0)));
    zscore(v.data);
    minmax(v.data);
  } else if (how == Normalisation::ZScore) {
    zscore(v.data);
  } else {
    minmax(v.data);
  }
}

}  // namespace pn::data
