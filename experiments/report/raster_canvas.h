// An RGB raster for charts: anti-aliased strokes (round caps and joins) and discs, filled
// rectangles with exact area coverage, alpha blending over what is already drawn, and
// text in the bitmap font (bitmap_font.h) drawn as crisp blocks. Coordinates are pixels,
// origin top-left; pixel (i, j) covers [i, i+1) x [j, j+1), so a rectangle on integer
// edges fills whole pixels and nothing else.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "experiments/report/chart_primitives.h"

namespace pn::experiments {

// Half-open pixel box [x0, x1) x [y0, y1).
struct PixelBox {
  int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  bool contains(int x, int y) const { return x >= x0 && x < x1 && y >= y0 && y < y1; }
};

// The pixels text covers when its font pixels are `glyph_scale` x `glyph_scale` blocks:
// every glyph cell including the descender rows (TextPrim's size is not applied here).
PixelBox text_box(const TextPrim& t, int glyph_scale);

class RasterCanvas {
 public:
  RasterCanvas(int width, int height, const Colour& background = Colour(255, 255, 255));
  int width() const { return w_; }
  int height() const { return h_; }
  std::array<uint8_t, 3> at(int x, int y) const;
  const std::vector<uint8_t>& rgb() const { return rgb_; }

  // Coverage of each pixel is the exact overlap area with the rectangle.
  void fill_rect(double x0, double y0, double x1, double y1, const Colour& c);
  // Coverage clamp(width/2 + 1/2 - d, 0, 1), d the distance of the pixel centre to the
  // nearest segment; each pixel is blended once even where segments meet.
  void stroke_polyline(const std::vector<Point>& pts, double width, const Colour& c, bool closed = false);
  // Coverage clamp(r + 1/2 - d, 0, 1) for a disc, clamp(width/2 + 1/2 - |d - r|, 0, 1) for a ring.
  void fill_circle(double cx, double cy, double r, const Colour& c);
  void stroke_circle(double cx, double cy, double r, double width, const Colour& c);
  void text(const TextPrim& t, int glyph_scale);

  void write_png(const std::string& path) const;

 private:
  // out = c * (alpha * coverage) + out * (1 - alpha * coverage), per channel, rounded.
  void blend(int x, int y, const Colour& c, double coverage);
  template <class Coverage>
  void cover(double x0, double y0, double x1, double y1, const Colour& c, Coverage f);

  int w_, h_;
  std::vector<uint8_t> rgb_;
};

}  // namespace pn::experiments
