#include "experiments/svg_plot.h"

#include <cmath>

#include "autograd/error.h"

namespace pn::experiments {

Axis nice_axis(double lo, double hi, int target) {
  PN_CHECK(std::isfinite(lo) && std::isfinite(hi) && lo <= hi, "plot: axis range [{}, {}] is not finite and ordered", lo, hi);
  PN_CHECK(target >= 1, "plot: need at least one tick interval");
  if (lo == hi) lo -= 0.5, hi += 0.5;
  const double raw = (hi - lo) / target, mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
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

Axis category_axis(const std::vector<std::string>& names) {
  Axis a;
  a.lo = 0.5;
  a.hi = static_cast<double>(names.size()) + 0.5;
  for (size_t i = 0; i < names.size(); ++i) a.ticks.push_back(static_cast<double>(i + 1)), a.labels.push_back(names[i]);
  return a;
}

const char* palette_color(size_t i) {
  static const char* colors[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                 "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
  return colors[i % std::size(colors)];
}

std::string svg_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

SvgPlot::SvgPlot(std::string title, std::string xlabel, std::string ylabel, int width, int height, bool legend)
    : title_(std::move(title)), xlabel_(std::move(xlabel)), ylabel_(std::move(ylabel)), width_(width), height_(height),
      right_(legend ? 170 : 24) {}

double SvgPlot::px(double x) const {
  return left_ + (x - x_.lo) / (x_.hi - x_.lo) * static_cast<double>(width_ - left_ - right_);
}

double SvgPlot::py(double y) const {
  return static_cast<double>(height_ - bottom_) - (y - y_.lo) / (y_.hi - y_.lo) * static_cast<double>(height_ - top_ - bottom_);
}

void SvgPlot::polyline(const std::vector<double>& x, const std::vector<double>& y, const std::string& color,
                       const std::string& label) {
  PN_CHECK(x.size() == y.size(), "plot: series '{}' has {} x and {} y values", label, x.size(), y.size());
  std::string pts;
  auto flush = [&] {
    if (!pts.empty())
      elements_.push_back(fmt::format(R"(<polyline fill="none" stroke="{}" stroke-width="1.8" points="{}"/>)", color, pts));
    pts.clear();
  };
  for (size_t i = 0; i < x.size(); ++i) {
    if (!std::isfinite(x[i]) || !std::isfinite(y[i])) {
      flush();
      continue;
    }
    pts += fmt::format("{}{:.1f},{:.1f}", pts.empty() ? "" : " ", px(x[i]), py(y[i]));
  }
  flush();
  if (!label.empty()) legend_.emplace_back(label, color);
}

void SvgPlot::circle(double x, double y, double r, const std::string& color, bool filled) {
  elements_.push_back(fmt::format(R"(<circle cx="{:.1f}" cy="{:.1f}" r="{:.1f}" fill="{}" stroke="{}"/>)", px(x), py(y), r,
                                  filled ? color : "none", color));
}

void SvgPlot::segment(double x0, double y0, double x1, double y1, const std::string& color, double w) {
  elements_.push_back(fmt::format(R"(<line x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}" stroke="{}" stroke-width="{}"/>)",
                                  px(x0), py(y0), px(x1), py(y1), color, w));
}

void SvgPlot::rect(double x0, double y0, double x1, double y1, const std::string& stroke, const std::string& fill) {
  const double a = std::min(px(x0), px(x1)), b = std::min(py(y0), py(y1));
  elements_.push_back(fmt::format(R"(<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" stroke="{}" fill="{}"/>)", a,
                                  b, std::abs(px(x1) - px(x0)), std::abs(py(y1) - py(y0)), stroke, fill));
}

std::string SvgPlot::svg() const {
  const int fx0 = left_, fx1 = width_ - right_, fy0 = top_, fy1 = height_ - bottom_;
  std::string s = fmt::format(
      R"(<svg xmlns="http://www.w3.org/2000/svg" width="{0}" height="{1}" viewBox="0 0 {0} {1}" font-family="sans-serif" font-size="12">)"
      "\n<rect width=\"{0}\" height=\"{1}\" fill=\"white\"/>\n",
      width_, height_);
  s += fmt::format(R"(<text x="{}" y="22" text-anchor="middle" font-size="15">{}</text>)"
                   "\n",
                   (fx0 + fx1) / 2, svg_escape(title_));
  for (size_t i = 0; i < y_.ticks.size(); ++i) {
    const double y = py(y_.ticks[i]);
    s += fmt::format(R"(<line x1="{}" y1="{:.1f}" x2="{}" y2="{:.1f}" stroke="#e4e4e4"/>)"
                     R"(<text x="{}" y="{:.1f}" text-anchor="end" dominant-baseline="middle">{}</text>)"
                     "\n",
                     fx0, y, fx1, y, fx0 - 6, y, svg_escape(y_.labels[i]));
  }
  for (size_t i = 0; i < x_.ticks.size(); ++i) {
    const double x = px(x_.ticks[i]);
    s += fmt::format(R"(<line x1="{:.1f}" y1="{}" x2="{:.1f}" y2="{}" stroke="#999"/>)"
                     R"(<text x="{:.1f}" y="{}" text-anchor="middle">{}</text>)"
                     "\n",
                     x, fy1, x, fy1 + 5, x, fy1 + 18, svg_escape(x_.labels[i]));
  }
  s += fmt::format(R"(<rect x="{}" y="{}" width="{}" height="{}" fill="none" stroke="#333"/>)"
                   "\n",
                   fx0, fy0, fx1 - fx0, fy1 - fy0);
  s += fmt::format(R"(<text x="{}" y="{}" text-anchor="middle">{}</text>)"
                   "\n",
                   (fx0 + fx1) / 2, height_ - 12, svg_escape(xlabel_));
  s += fmt::format(R"svg(<text x="16" y="{}" text-anchor="middle" transform="rotate(-90 16 {})">{}</text>)svg"
                   "\n",
                   (fy0 + fy1) / 2, (fy0 + fy1) / 2, svg_escape(ylabel_));
  for (const auto& e : elements_) s += e + "\n";
  for (size_t i = 0; i < legend_.size(); ++i) {
    const int y = fy0 + 10 + static_cast<int>(i) * 18;
    s += fmt::format(R"(<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="3"/>)"
                     R"(<text x="{}" y="{}" dominant-baseline="middle">{}</text>)"
                     "\n",
                     fx1 + 10, y, fx1 + 30, y, legend_[i].second, fx1 + 36, y, svg_escape(legend_[i].first));
  }
  return s + "</svg>\n";
}

}  // namespace pn::experiments
