// Laid-out chart primitives (chart_primitives.h) drawn with Cairo into an 8-bit RGB image:
// anti-aliased strokes with round caps and joins, translucent fills (source over), and
// text in a real sans-serif font (DejaVu Sans through fontconfig, unhinted so that text
// scales exactly with the image). The same font measures text for the chart's layout.
// Ensures: the same primitives give the same pixels (no hinting, no subpixel order, no
// clock or counter enters the drawing).
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "experiments/report/chart_primitives.h"

namespace pn::experiments {

// The font of chart text, as a fontconfig pattern; the SVG output names the same family.
inline constexpr const char* kChartFont = "DejaVu Sans";
// Font size in chart pixels of TextPrim sizes 1 (body) and 2 (title).
double chart_font_px(int size);
// How far text reaches along its direction, in chart pixels (the advance of the string).
double text_width(const std::string& text, int size = 1);

// Half-open pixel box [x0, x1) x [y0, y1).
struct PixelBox {
  int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  bool contains(int x, int y) const { return x >= x0 && x < x1 && y >= y0 && y < y1; }
};
// The pixels of an image drawn at `scale` that the text's ink may cover: the glyphs' ink
// extents where the renderer places them, rounded outwards and a pixel wider all round.
PixelBox text_box(const TextPrim& t, int scale);

struct RgbImage {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;  // row-major, 3 bytes per pixel
  std::array<uint8_t, 3> at(int x, int y) const;
};

// The primitives, back to front, on a white width x height chart drawn at `scale` times
// its size (coordinates, line widths and text all multiplied).
RgbImage render_primitives(const std::vector<Primitive>& prims, int width, int height, int scale);

}  // namespace pn::experiments
