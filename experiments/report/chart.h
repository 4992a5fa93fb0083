// A chart for reports (training curves, box plots, histograms): a plot frame with axes,
// grid lines, tick labels, axis labels, a title and a legend on the right. Data elements
// are recorded in data coordinates; elements() lays the whole chart out once into pixel
// primitives (chart_primitives.h), which svg() writes as a standalone SVG document and
// raster()/write_png() draw with Cairo (chart_render.h) into a PNG at an integer scale,
// so both outputs show the same elements at the same places, in the same font.
#pragma once
#include <string>
#include <vector>

#include "experiments/report/chart_axis.h"
#include "experiments/report/chart_primitives.h"
#include "experiments/report/chart_render.h"

namespace pn::experiments {

// The i-th colour of a fixed qualitative palette (cycles), as "#rrggbb".
const char* palette_color(size_t i);
// Escapes &, <, >, " for SVG text and attributes.
std::string svg_escape(const std::string& s);

class Chart {
 public:
  // Without a legend the plot takes the legend's space on the right; with one, the right
  // margin grows to fit the longest legend label.
  Chart(std::string title, std::string xlabel, std::string ylabel, int width = 720, int height = 420,
        bool legend = true);
  void set_x(Axis a) { x_ = std::move(a); }
  void set_y(Axis a) { y_ = std::move(a); }
  const Axis& x_axis() const { return x_; }
  const Axis& y_axis() const { return y_; }
  // The size of the output: a long legend label widens the chart, never the plot.
  int width() const;
  int height() const { return height_; }

  // Data -> pixel.
  double px(double x) const;
  double py(double y) const;

  // A polyline, broken where x or y is not finite; `label` (if any) goes into the legend.
  void polyline(const std::vector<double>& x, const std::vector<double>& y, const Colour& color, const std::string& label,
                double width_px = 1.8);
  void circle(double x, double y, double radius_px, const Colour& color, bool filled = true);
  void segment(double x0, double y0, double x1, double y1, const Colour& color, double width_px = 1.5);
  // A rectangle between data corners; `fill` may be translucent (histogram bars).
  void rect(double x0, double y0, double x1, double y1, const Colour& stroke, const Colour& fill, double width_px = 1);
  // A legend entry without a data element: a line sample, or a filled swatch.
  void legend_entry(const std::string& label, const Colour& color, bool swatch = false);

  // The laid-out chart, back to front: background, grid, ticks and labels, data, frame, legend.
  std::vector<Primitive> elements() const;
  std::string svg() const;
  // Drawn at `scale` x the chart's size (lines, text and all), anti-aliased.
  RgbImage raster(int scale = 1) const;
  void write_png(const std::string& path, int scale = 2) const;

 private:
  struct LegendEntry {
    std::string label;
    Colour color;
    bool swatch;
  };
  int right_margin() const;

  std::string title_, xlabel_, ylabel_;
  int width_, height_;
  bool legend_on_;
  static constexpr int left_ = 64, top_ = 36, bottom_ = 52;  // margins; the legend sits on the right
  Axis x_, y_;
  std::vector<Primitive> data_;  // in data coordinates (radii and widths in pixels)
  std::vector<LegendEntry> legend_;
};

}  // namespace pn::experiments
