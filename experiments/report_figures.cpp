#include "experiments/report_figures.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "autograd/error.h"
#include "experiments/seg_metrics.h"

namespace pn::experiments {

namespace {

// The finite range of all values, or [0, 1] when there are none.
std::pair<double, double> finite_range(const std::vector<const std::vector<double>*>& all) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const auto* v : all)
    for (double x : *v)
      if (std::isfinite(x)) lo = std::min(lo, x), hi = std::max(hi, x);
  if (lo > hi) return {0.0, 1.0};
  return {lo, hi};
}

bool is_fraction_metric(const std::string& column) {
  return column.find("dice") != std::string::npos || column == "precision" || column == "recall";
}

}  // namespace

BoxStats box_stats(const std::vector<double>& values) {
  BoxStats b;
  std::vector<double> v;
  for (double x : values) {
    if (std::isfinite(x)) v.push_back(x);
    else ++b.skipped;
  }
  b.n = v.size();
  if (v.empty()) {
    b.q1 = b.median = b.q3 = b.whisker_lo = b.whisker_hi = b.mean = std::numeric_limits<double>::quiet_NaN();
    return b;
  }
  b.q1 = percentile_linear(v, 25);
  b.median = percentile_linear(v, 50);
  b.q3 = percentile_linear(v, 75);
  const double iqr = b.q3 - b.q1, lo_fence = b.q1 - 1.5 * iqr, hi_fence = b.q3 + 1.5 * iqr;
  b.whisker_lo = b.q1, b.whisker_hi = b.q3;
  double sum = 0;
  for (double x : v) {
    sum += x;
    if (x < lo_fence || x > hi_fence) b.outliers.push_back(x);
    else b.whisker_lo = std::min(b.whisker_lo, x), b.whisker_hi = std::max(b.whisker_hi, x);
  }
  std::sort(b.outliers.begin(), b.outliers.end());
  b.mean = sum / double(v.size());
  return b;
}

Chart line_chart(const std::vector<Series>& series, const std::string& title, const std::string& xlabel,
                 const std::string& ylabel, double y_lo, double y_hi) {
  std::vector<const std::vector<double>*> xs, ys;
  for (const auto& s : series) xs.push_back(&s.x), ys.push_back(&s.y);
  auto [x0, x1] = finite_range(xs);
  auto [v0, v1] = y_lo < y_hi ? std::pair{y_lo, y_hi} : finite_range(ys);
  Chart p(title, xlabel, ylabel);
  p.set_x(nice_axis(x0, x1));
  p.set_y(nice_axis(v0, v1));
  for (size_t i = 0; i < series.size(); ++i) p.polyline(series[i].x, series[i].y, palette_color(i), series[i].name);
  return p;
}

Chart box_plot(const NamedValues& groups, const std::string& title, const std::string& ylabel, double y_lo, double y_hi) {
  std::vector<std::string> names;
  std::vector<const std::vector<double>*> all;
  for (const auto& [n, v] : groups) names.push_back(n), all.push_back(&v);
  auto [v0, v1] = y_lo < y_hi ? std::pair{y_lo, y_hi} : finite_range(all);
  Chart p(title, "", ylabel, 720, 420, /*legend=*/false);
  p.set_x(category_axis(names));
  p.set_y(nice_axis(v0, v1));
  for (size_t i = 0; i < groups.size(); ++i) {
    BoxStats b = box_stats(groups[i].second);
    if (b.n == 0) continue;
    const double c = double(i + 1), w = 0.3;
    const Colour col = palette_color(i);
    p.rect(c - w, b.q1, c + w, b.q3, col, "none");
    p.segment(c - w, b.median, c + w, b.median, col, 2.5);
    p.segment(c, b.q3, c, b.whisker_hi, col);
    p.segment(c, b.q1, c, b.whisker_lo, col);
    p.segment(c - w / 2, b.whisker_hi, c + w / 2, b.whisker_hi, col);
    p.segment(c - w / 2, b.whisker_lo, c + w / 2, b.whisker_lo, col);
    for (double o : b.outliers) p.circle(c, o, 3, col, false);
    p.circle(c, b.mean, 3, col, true);
  }
  return p;
}

Chart training_curves(const std::vector<std::pair<std::string, CsvTable>>& runs, const std::string& column) {
  std::vector<Series> series;
  const double scale = is_fraction_metric(column) ? 100.0 : 1.0;
  for (const auto& [name, t] : runs) {
    Series s{name, t.numbers("epoch"), t.numbers(column)};
    for (double& y : s.y) y *= scale;
    series.push_back(std::move(s));
  }
  return line_chart(series, column + " per epoch", "epoch", scale == 100.0 ? column + " (%)" : column,
                        0.0, scale == 100.0 ? 100.0 : 0.0);
}

Chart volume_box_plot(const std::vector<std::pair<std::string, CsvTable>>& runs, const std::string& column) {
  NamedValues groups;
  const double scale = is_fraction_metric(column) ? 100.0 : 1.0;
  for (const auto& [name, t] : runs) {
    std::vector<double> v = t.numbers(column), lp = t.numbers("lesion_positive"), keep;
    for (size_t i = 0; i < v.size(); ++i)
      if (lp[i] != 0) keep.push_back(v[i] * scale);
    groups.emplace_back(name, std::move(keep));
  }
  return box_plot(groups, column + " per lesion-positive volume (held-out set)",
                      scale == 100.0 ? column + " (%)" : column, 0.0, scale == 100.0 ? 100.0 : 0.0);
}

}  // namespace pn::experiments
