// Histogram binning for report figures (e.g. lesion volumes of real vs generated masks):
// counts of values over bin edges, with what fell outside kept visible, and "nice" edges
// (multiples of a 1, 2 or 5 x 10^k width) shared by several value sets.
#pragma once
#include <cstddef>
#include <vector>

namespace pn::data {

// Bin i holds edges[i] <= v < edges[i + 1]; the last bin also holds v == edges.back()
// (numpy.histogram's rule), so a value on an inner edge goes to the bin it starts.
// v < edges.front() (-inf included) counts as `below`, v > edges.back() (+inf included)
// as `above`, NaN as `nan`; none of these is in a bin.
struct Histogram {
  std::vector<double> edges;  // ascending, counts.size() + 1 of them
  std::vector<size_t> counts;
  size_t below = 0, above = 0, nan = 0;

  size_t binned() const;
  // Values that are not NaN: the denominator of fractions, so out-of-range values
  // lower the bars rather than vanish.
  size_t total() const { return binned() + below + above; }
};

// Edges must be finite and strictly increasing, at least two of them.
Histogram histogram(const std::vector<double>& values, const std::vector<double>& edges);

// The smallest 1, 2 or 5 x 10^k that is at least `range / target` (range > 0).
double nice_step(double range, int target);

// Edges at multiples of nice_step(hi - lo, target_bins) from below lo to at or above hi,
// hi included in the last bin; lo == hi gets one unit-wide bin around it.
std::vector<double> nice_bin_edges(double lo, double hi, int target_bins);

}  // namespace pn::data
