#include "data/histogram.h"

#include <algorithm>
#include <cmath>

#include "autograd/error.h"

namespace pn::data {

double nice_step(double range, int target) {
  PN_CHECK(range > 0 && std::isfinite(range) && target >= 1, "plot: cannot step a range of {} in {} intervals", range,
           target);
  const double raw = range / target, mag = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0})
    if (m * mag >= raw * (1 - 1e-12)) return m * mag;
  return 10 * mag;
}


size_t Histogram::binned() const {
  size_t n = 0;
  for (size_t c : counts) n += c;
  return n;
}

Histogram histogram(const std::vector<double>& values, const std::vector<double>& edges) {
  PN_CHECK(edges.size() >= 2, "histogram: need at least two bin edges, got {}", edges.size());
  for (size_t i = 0; i < edges.size(); ++i)
    PN_CHECK(std::isfinite(edges[i]) && (i == 0 || edges[i] > edges[i - 1]),
             "histogram: bin edges must be finite and increasing (edge {} is {})", i, edges[i]);
  Histogram h;
  h.edges = edges;
  h.counts.assign(edges.size() - 1, 0);
  for (double v : values) {
    if (std::isnan(v)) ++h.nan;
    else if (v < edges.front()) ++h.below;
    else if (v > edges.back()) ++h.above;
    else {
      // The first edge greater than v closes v's bin; v == edges.back() joins the last bin.
      const auto it = std::upper_bound(edges.begin(), edges.end(), v);
      const auto bin = std::min(static_cast<size_t>(it - edges.begin()) - 1, h.counts.size() - 1);
      ++h.counts[bin];
    }
  }
  return h;
}

std::vector<double> nice_bin_edges(double lo, double hi, int target_bins) {
  PN_CHECK(std::isfinite(lo) && std::isfinite(hi) && lo <= hi, "histogram: range [{}, {}] is not finite and ordered", lo, hi);
  PN_CHECK(target_bins >= 1, "histogram: need at least one bin");
  if (lo == hi) return {lo - 0.5, hi + 0.5};
  const double step = nice_step(hi - lo, target_bins);
  const double first = std::floor(lo / step + 1e-9);
  const auto n = std::max<long>(1, std::lround(std::ceil(hi / step - 1e-9) - first));
  std::vector<double> edges;
  for (long i = 0; i <= n; ++i) edges.push_back((first + static_cast<double>(i)) * step);
  // Rounding must not leave the data's ends outside (the edges are multiples of step).
  edges.front() = std::min(edges.front(), lo);
  edges.back() = std::max(edges.back(), hi);
  return edges;
}

}  // namespace pn::data
