// What a chart is made of once laid out: coloured polylines, rectangles, circles and text
// in pixel coordinates (origin top-left, y down, a pixel (i, j) covers [i, i+1) x [j, j+1)).
// The SVG writer and the raster (PNG) renderer both draw exactly this list, so the two
// outputs of one chart agree element by element.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace pn::experiments {

// An sRGB colour with an opacity; `none` draws nothing (SVG's "none").
struct Colour {
  uint8_t r = 0, g = 0, b = 0;
  double alpha = 1;
  bool none = false;

  Colour() = default;
  Colour(uint8_t r_, uint8_t g_, uint8_t b_, double a = 1) : r(r_), g(g_), b(b_), alpha(a) {}
  // "#rgb", "#rrggbb", "none", "white" or "black"; anything else is an error.
  Colour(const char* spec);         // NOLINT(google-explicit-constructor): colours read best as strings
  Colour(const std::string& spec);  // NOLINT(google-explicit-constructor)
  Colour with_alpha(double a) const;
  std::string hex() const;  // "#rrggbb" (or "none")
  bool operator==(const Colour& o) const {
    return r == o.r && g == o.g && b == o.b && alpha == o.alpha && none == o.none;
  }
};

using Point = std::pair<double, double>;

// Strokes have round caps and joins in both outputs.
struct PolylinePrim {
  std::vector<Point> points;
  Colour stroke;
  double width = 1;
};
struct RectPrim {
  double x0 = 0, y0 = 0, x1 = 0, y1 = 0;  // any two opposite corners
  Colour fill, stroke;
  double width = 1;
};
struct CirclePrim {
  double cx = 0, cy = 0, r = 0;
  Colour fill, stroke;
  double width = 1;
};

enum class Anchor { start, middle, end };
// Text whose cap height is centred on y (SVG's dominant-baseline="middle"); `anchor`
// places x at the start, middle or end of the string. `size` 1 is body text, 2 a title.
// Vertical text reads bottom to top (rotated -90 degrees about (x, y)).
struct TextPrim {
  double x = 0, y = 0;
  std::string text;
  Anchor anchor = Anchor::start;
  int size = 1;
  bool vertical = false;
  Colour colour{"#222"};
};

using Primitive = std::variant<PolylinePrim, RectPrim, CirclePrim, TextPrim>;

}  // namespace pn::experiments
