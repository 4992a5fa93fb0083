// Chart::raster() and write_png(): the laid-out primitives drawn on a RasterCanvas at an
// integer scale (coordinates, line widths and font pixels all multiplied by it).
#include <cmath>
#include <variant>

#include "autograd/error.h"
#include "experiments/report/chart.h"

namespace pn::experiments {

namespace {

struct RasterElement {
  RasterCanvas& canvas;
  double s;

  void operator()(const PolylinePrim& p) const {
    std::vector<Point> pts;
    for (const auto& [x, y] : p.points) pts.emplace_back(x * s, y * s);
    canvas.stroke_polyline(pts, p.width * s, p.stroke);
  }
  void operator()(const RectPrim& r) const {
    canvas.fill_rect(r.x0 * s, r.y0 * s, r.x1 * s, r.y1 * s, r.fill);
    if (r.width > 0)
      canvas.stroke_polyline({{r.x0 * s, r.y0 * s}, {r.x1 * s, r.y0 * s}, {r.x1 * s, r.y1 * s}, {r.x0 * s, r.y1 * s}},
                             r.width * s, r.stroke, /*closed=*/true);
  }
  void operator()(const CirclePrim& c) const {
    canvas.fill_circle(c.cx * s, c.cy * s, c.r * s, c.fill);
    if (c.width > 0) canvas.stroke_circle(c.cx * s, c.cy * s, c.r * s, c.width * s, c.stroke);
  }
  void operator()(const TextPrim& t) const {
    TextPrim scaled = t;
    scaled.x *= s, scaled.y *= s;
    // Titles (size 2) are 1.5 times body text, rounded to whole font pixels.
    canvas.text(scaled, t.size == 1 ? static_cast<int>(s) : static_cast<int>(std::lround(1.5 * s)));
  }
};

}  // namespace

RasterCanvas Chart::raster(int scale) const {
  PN_CHECK(scale >= 1 && scale <= 8, "plot: raster scale {} is not 1..8", scale);
  RasterCanvas canvas(width() * scale, height() * scale);
  for (const Primitive& p : elements()) std::visit(RasterElement{canvas, double(scale)}, p);
  return canvas;
}

void Chart::write_png(const std::string& path, int scale) const { raster(scale).write_png(path); }

}  // namespace pn::experiments
