#include "experiments/report/report_figures.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "autograd/error.h"
#include "experiments/metrics/seg_metrics.h"

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
  // Names wider than their slot would run into each other: number the boxes instead and
  // name them in a legend.
  const double slot = p.px(1.5) - p.px(0.5);
  bool fits = true;
  for (const auto& n : names) fits &= text_width(n) + 8 <= slot;
  if (!fits) {
    p = Chart(title, "", ylabel, 720, 420, /*legend=*/true);
    std::vector<std::string> numbers;
    for (size_t i = 0; i < names.size(); ++i) {
      numbers.push_back(std::to_string(i + 1));
      p.legend_entry(fmt::format("{}  {}", i + 1, names[i]), palette_color(i));
    }
    p.set_x(category_axis(numbers));
  }
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

namespace {

// log10 of the values, -inf for values <= 0 (so they count as below the bins).
std::vector<double> log10_values(const std::vector<double>& v) {
  std::vector<double> out;
  for (double x : v) out.push_back(x > 0 ? std::log10(x) : (std::isnan(x) ? x : -std::numeric_limits<double>::infinity()));
  return out;
}

}  // namespace

std::vector<Histogram> histograms_of(const NamedValues& sets, const HistogramOptions& o) {
  NamedValues binned = sets;
  std::vector<double> edges = o.edges;
  if (o.log10_x) {
    for (auto& [name, v] : binned) v = log10_values(v);
    for (double& e : edges) {
      PN_CHECK(e > 0, "histogram: bin edge {} has no log10", e);
      e = std::log10(e);
    }
  }
  if (edges.empty()) {
    std::vector<const std::vector<double>*> all;
    for (const auto& [name, v] : binned) all.push_back(&v);
    const auto [lo, hi] = finite_range(all);
    edges = nice_bin_edges(lo, hi, o.bins);
  }
  std::vector<Histogram> out;
  for (const auto& [name, v] : binned) out.push_back(histogram(v, edges));
  return out;
}

Chart histogram_chart(const NamedValues& sets, const std::string& title, const std::string& xlabel,
                      const HistogramOptions& o) {
  const std::vector<Histogram> hs = histograms_of(sets, o);
  const std::vector<double>& e = hs.at(0).edges;
  std::vector<std::vector<double>> heights;
  double top = 0;
  for (const Histogram& h : hs) {
    std::vector<double> y;
    for (size_t c : h.counts) y.push_back(o.fractions ? (h.total() ? double(c) / double(h.total()) : 0.0) : double(c));
    for (double v : y) top = std::max(top, v);
    heights.push_back(std::move(y));
  }
  Chart p(title, xlabel, o.fractions ? "fraction of values" : "count");
  p.set_x(o.log10_x ? log10_axis(e.front(), e.back()) : nice_axis(e.front(), e.back()));
  p.set_y(nice_axis(0, top > 0 ? top : 1));
  for (size_t i = 0; i < hs.size(); ++i) {
    const Colour col = palette_color(i);
    const std::vector<double>& y = heights[i];
    if (o.outlines) {
      // A step line: up the first edge, across each bin at its height, down the last edge.
      std::vector<double> sx{e.front()}, sy{0};
      for (size_t k = 0; k < y.size(); ++k) sx.insert(sx.end(), {e[k], e[k + 1]}), sy.insert(sy.end(), {y[k], y[k]});
      sx.push_back(e.back()), sy.push_back(0);
      p.polyline(sx, sy, col, "", 1.8);
    } else {
      for (size_t k = 0; k < y.size(); ++k)
        if (y[k] > 0) p.rect(e[k], 0, e[k + 1], y[k], "none", col.with_alpha(o.alpha), 0);
    }
    const Histogram& h = hs[i];
    std::string label = fmt::format("{} (n={}", sets[i].first, h.total());
    if (h.below + h.above > 0) label += fmt::format(", {} outside", h.below + h.above);
    if (h.nan > 0) label += fmt::format(", {} NaN", h.nan);
    p.legend_entry(label + ")", o.outlines ? col : col.with_alpha(o.alpha), /*swatch=*/!o.outlines);
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
