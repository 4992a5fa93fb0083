// Chart axes: a data range with ticks and their labels. Ticks are "nice" (1, 2 or 5 x 10^k)
// or one per category; a log10 axis holds log10 of the data with ticks at the powers of ten
// labelled by the values themselves.
#pragma once
#include <string>
#include <vector>

#include "data/histogram.h"

namespace pn::experiments {

struct Axis {
  double lo = 0, hi = 1;
  std::vector<double> ticks;
  std::vector<std::string> labels;  // one per tick
};

using data::nice_step;
// Ticks at multiples of a nice step covering [lo, hi] in about `target` intervals; the
// range is widened to the outer ticks. lo == hi gets a unit-wide range around it.
Axis nice_axis(double lo, double hi, int target = 5);
// For data already in log10 units: [floor(lo), ceil(hi)] with a tick per power of ten
// (every 2nd, 3rd... when there are more than `target`), labelled "0.01", "1", "1000", "1e+06".
Axis log10_axis(double lo, double hi, int target = 6);
// Categories 1..n at integer positions, range [0.5, n + 0.5].
Axis category_axis(const std::vector<std::string>& names);

}  // namespace pn::experiments
