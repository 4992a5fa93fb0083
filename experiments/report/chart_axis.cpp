#include "experiments/report/chart_axis.h"

#include <cmath>

#include "autograd/error.h"

namespace pn::experiments {

Axis nice_axis(double lo, double hi, int target) {
  PN_CHECK(std::isfinite(lo) && std::isfinite(hi) && lo <= hi, "plot: axis range [{}, {}] is not finite and ordered", lo, hi);
  PN_CHECK(target >= 1, "plot: need at least one tick interval");
  if (lo == hi) lo -= 0.5, hi += 0.5;
  const double step = nice_step(hi - lo, target);
  Axis a;
  a.lo = std::floor(lo / step + 1e-9) * step;
  a.hi = std::ceil(hi / step - 1e-9) * step;
  const int decimals = std::max(0, -static_cast<int>(std::floor(std::log10(step) + 1e-9)));
  for (double t = a.lo; t <= a.hi + step * 1e-6; t += step) {
    const double v = std::abs(t) < step * 1e-9 ? 0.0 : t;
    a.ticks.push_back(v);
    a.labels.push_back(fmt::format("{:.{}f}", v, decimals));
  }
  return a;
}

Axis log10_axis(double lo, double hi, int target) {
  PN_CHECK(std::isfinite(lo) && std::isfinite(hi) && lo <= hi, "plot: log axis range [{}, {}] is not finite and ordered",
           lo, hi);
  Axis a;
  a.lo = std::floor(lo);
  a.hi = std::max(std::ceil(hi), a.lo + 1);
  const int every = std::max(1, static_cast<int>(std::ceil((a.hi - a.lo) / std::max(target, 1))));
  for (double k = a.lo; k <= a.hi; k += every) {
    a.ticks.push_back(k);
    // Values between 1e-4 and 1e5 read best in plain notation ("0.01", "1000").
    a.labels.push_back(k >= -4 && k <= 5 ? fmt::format("{:.{}f}", std::pow(10.0, k), k < 0 ? static_cast<int>(-k) : 0)
                                         : fmt::format("1e{:+03d}", static_cast<int>(k)));
  }
  return a;
}

Axis category_axis(const std::vector<std::string>& names) {
  Axis a;
  a.lo = 0.5;
  a.hi = static_cast<double>(names.size()) + 0.5;
  for (size_t i = 0; i < names.size(); ++i) a.ticks.push_back(static_cast<double>(i + 1)), a.labels.push_back(names[i]);
  return a;
}

}  // namespace pn::experiments
