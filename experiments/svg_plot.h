// A small SVG chart canvas for reports (training curves, box plots): a plot frame with
// "nice" ticks (1, 2 or 5 x 10^k), grid lines, axis labels, a title and a legend; data
// coordinates are mapped to pixels by the axes. Output is a standalone SVG document
// that browsers and Markdown viewers show directly.
#pragma once
#include <string>
#include <vector>

namespace pn::experiments {

struct Axis {
  double lo = 0, hi = 1;
  std::vector<double> ticks;
  std::vector<std::string> labels;  // one per tick
};

// Ticks at multiples of a nice step covering [lo, hi] in about `target` intervals; the
// range is widened to the outer ticks. lo == hi gets a unit-wide range around it.
Axis nice_axis(double lo, double hi, int target = 5);
// Categories 1..n at integer positions, range [0.5, n + 0.5].
Axis category_axis(const std::vector<std::string>& names);

// The i-th colour of a fixed qualitative palette (cycles).
const char* palette_color(size_t i);
// Escapes &, <, >, " for SVG text and attributes.
std::string svg_escape(const std::string& s);

class SvgPlot {
 public:
  // Without a legend the plot takes the legend's space on the right.
  SvgPlot(std::string title, std::string xlabel, std::string ylabel, int width = 720, int height = 420,
          bool legend = true);
  void set_x(Axis a) { x_ = std::move(a); }
  void set_y(Axis a) { y_ = std::move(a); }
  double px(double x) const;  // data -> pixel
  double py(double y) const;

  // A polyline, broken where x or y is not finite; `label` goes into the legend.
  void polyline(const std::vector<double>& x, const std::vector<double>& y, const std::string& color,
                const std::string& label);
  void circle(double x, double y, double radius_px, const std::string& color, bool filled = true);
  void segment(double x0, double y0, double x1, double y1, const std::string& color, double width_px = 1.5);
  // A rectangle between data corners.
  void rect(double x0, double y0, double x1, double y1, const std::string& stroke, const std::string& fill);

  std::string svg() const;

 private:
  std::string title_, xlabel_, ylabel_;
  int width_, height_;
  int left_ = 64, right_ = 170, top_ = 36, bottom_ = 52;  // margins; the legend sits on the right
  Axis x_, y_;
  std::vector<std::string> elements_;
  std::vector<std::pair<std::string, std::string>> legend_;  // label, colour
};

}  // namespace pn::experiments
