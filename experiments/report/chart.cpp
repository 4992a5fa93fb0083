#include "experiments/report/chart.h"

#include <cmath>
#include <type_traits>
#include <variant>

#include "autograd/error.h"
#include "data/montage.h"

namespace pn::experiments {

namespace {

constexpr int kLegendRight = 170;  // the right margin that holds a legend of short labels
constexpr int kNoLegendRight = 24;

// A 1-pixel line on x + 0.5 fills pixel column floor(x) exactly instead of blurring two.
double crisp(double v) { return std::floor(v) + 0.5; }

}  // namespace

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

Chart::Chart(std::string title, std::string xlabel, std::string ylabel, int width, int height, bool legend)
    : title_(std::move(title)), xlabel_(std::move(xlabel)), ylabel_(std::move(ylabel)), width_(width), height_(height),
      legend_on_(legend) {
  PN_CHECK(width > left_ + kLegendRight && height > top_ + bottom_, "plot: {}x{} leaves no room for the plot", width, height);
}

// Legend: a 20-pixel sample at +10, the label from +36, and 8 pixels to spare.
int Chart::right_margin() const {
  if (!legend_on_) return kNoLegendRight;
  double label = 0;
  for (const auto& e : legend_) label = std::max(label, text_width(e.label));
  return std::max(kLegendRight, 36 + static_cast<int>(std::ceil(label)) + 8);
}

// The plot keeps its width; a long legend widens the chart.
int Chart::width() const { return legend_on_ ? width_ - kLegendRight + right_margin() : width_; }

double Chart::px(double x) const {
  const int plot_w = width_ - left_ - (legend_on_ ? kLegendRight : kNoLegendRight);
  return left_ + (x - x_.lo) / (x_.hi - x_.lo) * static_cast<double>(plot_w);
}

double Chart::py(double y) const {
  return static_cast<double>(height_ - bottom_) - (y - y_.lo) / (y_.hi - y_.lo) * static_cast<double>(height_ - top_ - bottom_);
}

void Chart::polyline(const std::vector<double>& x, const std::vector<double>& y, const Colour& color,
                     const std::string& label, double width_px) {
  PN_CHECK(x.size() == y.size(), "plot: series '{}' has {} x and {} y values", label, x.size(), y.size());
  PolylinePrim piece{{}, color, width_px};
  auto flush = [&] {
    if (!piece.points.empty()) data_.emplace_back(piece);
    piece.points.clear();
  };
  for (size_t i = 0; i < x.size(); ++i) {
    if (std::isfinite(x[i]) && std::isfinite(y[i])) piece.points.emplace_back(x[i], y[i]);
    else flush();
  }
  flush();
  if (!label.empty()) legend_entry(label, color);
}

void Chart::circle(double x, double y, double r, const Colour& color, bool filled) {
  data_.emplace_back(CirclePrim{x, y, r, filled ? color : Colour("none"), color, 1});
}

void Chart::segment(double x0, double y0, double x1, double y1, const Colour& color, double w) {
  data_.emplace_back(PolylinePrim{{{x0, y0}, {x1, y1}}, color, w});
}

void Chart::rect(double x0, double y0, double x1, double y1, const Colour& stroke, const Colour& fill, double w) {
  data_.emplace_back(RectPrim{x0, y0, x1, y1, fill, stroke, w});
}

void Chart::legend_entry(const std::string& label, const Colour& color, bool swatch) {
  legend_.push_back({label, color, swatch});
}

std::vector<Primitive> Chart::elements() const {
  const int w = width(), fx0 = left_, fx1 = w - right_margin(), fy0 = top_, fy1 = height_ - bottom_;
  const double xm = (fx0 + fx1) / 2.0, ym = (fy0 + fy1) / 2.0;
  std::vector<Primitive> out;
  out.emplace_back(RectPrim{0, 0, double(w), double(height_), Colour("white"), Colour("none"), 0});
  out.emplace_back(TextPrim{xm, 18, title_, Anchor::middle, 2});
  for (size_t i = 0; i < y_.ticks.size(); ++i) {
    const double y = py(y_.ticks[i]);
    out.emplace_back(PolylinePrim{{{fx0, crisp(y)}, {fx1, crisp(y)}}, Colour("#e4e4e4"), 1});
    out.emplace_back(TextPrim{double(fx0 - 6), y, y_.labels[i], Anchor::end});
  }
  for (size_t i = 0; i < x_.ticks.size(); ++i) {
    const double x = px(x_.ticks[i]);
    out.emplace_back(PolylinePrim{{{crisp(x), fy1 + 0.5}, {crisp(x), fy1 + 4.5}}, Colour("#999"), 1});
    out.emplace_back(TextPrim{x, double(fy1 + 14), x_.labels[i], Anchor::middle});
  }
  out.emplace_back(TextPrim{xm, double(height_ - 16), xlabel_, Anchor::middle});
  out.emplace_back(TextPrim{16, ym, ylabel_, Anchor::middle, 1, true});
  for (const Primitive& d : data_) {
    std::visit(
        [&](auto p) {
          using T = decltype(p);
          if constexpr (std::is_same_v<T, PolylinePrim>) {
            for (auto& [x, y] : p.points) x = px(x), y = py(y);
          } else if constexpr (std::is_same_v<T, RectPrim>) {
            p.x0 = px(p.x0), p.x1 = px(p.x1), p.y0 = py(p.y0), p.y1 = py(p.y1);
          } else if constexpr (std::is_same_v<T, CirclePrim>) {
            p.cx = px(p.cx), p.cy = py(p.cy);
          }
          out.emplace_back(std::move(p));
        },
        d);
  }
  // The frame just outside the plot area, so data at the range's ends stays visible.
  out.emplace_back(RectPrim{fx0 - 0.5, fy0 - 0.5, fx1 + 0.5, fy1 + 0.5, Colour("none"), Colour("#333"), 1});
  for (size_t i = 0; i < legend_.size(); ++i) {
    const double y = fy0 + 10 + 18.0 * double(i);
    const LegendEntry& e = legend_[i];
    if (e.swatch) out.emplace_back(RectPrim{fx1 + 12.0, y - 6, fx1 + 28.0, y + 6, e.color, e.color.with_alpha(1), 1});
    else out.emplace_back(PolylinePrim{{{fx1 + 10.0, y}, {fx1 + 30.0, y}}, e.color, 3});
    out.emplace_back(TextPrim{fx1 + 36.0, y, e.label, Anchor::start});
  }
  return out;
}

RgbImage Chart::raster(int scale) const { return render_primitives(elements(), width(), height(), scale); }

void Chart::write_png(const std::string& path, int scale) const {
  const RgbImage im = raster(scale);
  data::write_png_rgb(path, im.width, im.height, im.rgb);
}

}  // namespace pn::experiments
