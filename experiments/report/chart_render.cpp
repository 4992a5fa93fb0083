#include "experiments/report/chart_render.h"

#include <cairo.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <numbers>
#include <variant>

#include "autograd/error.h"

namespace pn::experiments {

namespace {

// A Cairo context on its own RGB image surface, both released together.
struct Canvas {
  std::unique_ptr<cairo_surface_t, decltype(&cairo_surface_destroy)> surface;
  std::unique_ptr<cairo_t, decltype(&cairo_destroy)> context;

  Canvas(int w, int h)
      : surface(cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h), cairo_surface_destroy),
        context(cairo_create(surface.get()), cairo_destroy) {
    check("create a canvas");
  }
  cairo_t* cr() const { return context.get(); }
  void check(const std::string& what) const {
    const cairo_status_t st = cairo_status(cr());
    PN_CHECK(st == CAIRO_STATUS_SUCCESS, "chart: Cairo cannot {}: {}", what, cairo_status_to_string(st));
  }
};

// Unhinted, grey anti-aliased glyphs: text measures and draws the same at every scale.
void set_font(cairo_t* cr, int size) {
  cairo_select_font_face(cr, kChartFont, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, chart_font_px(size));
  std::unique_ptr<cairo_font_options_t, decltype(&cairo_font_options_destroy)> o(cairo_font_options_create(),
                                                                                  cairo_font_options_destroy);
  cairo_font_options_set_antialias(o.get(), CAIRO_ANTIALIAS_GRAY);
  cairo_font_options_set_hint_style(o.get(), CAIRO_HINT_STYLE_NONE);
  cairo_font_options_set_hint_metrics(o.get(), CAIRO_HINT_METRICS_OFF);
  cairo_set_font_options(cr, o.get());
}

// Moves the current point to where `t` starts (TextPrim's anchor and cap-centred y), in a
// frame rotated for vertical text; returns the string's extents. The caller saves and
// restores the context around it.
cairo_text_extents_t place_text(const Canvas& c, const TextPrim& t) {
  cairo_t* cr = c.cr();
  set_font(cr, t.size);
  cairo_text_extents_t cap, ext;
  cairo_text_extents(cr, "H", &cap);
  cairo_text_extents(cr, t.text.c_str(), &ext);
  c.check(fmt::format("measure the text '{}' (is it UTF-8?)", t.text));
  const double f = t.anchor == Anchor::start ? 0.0 : t.anchor == Anchor::middle ? 0.5 : 1.0;
  cairo_translate(cr, t.x, t.y);
  if (t.vertical) cairo_rotate(cr, -std::numbers::pi / 2);
  cairo_move_to(cr, -ext.x_advance * f, -cap.y_bearing / 2);
  return ext;
}

bool set_colour(cairo_t* cr, const Colour& c) {
  if (c.none) return false;
  cairo_set_source_rgba(cr, c.r / 255.0, c.g / 255.0, c.b / 255.0, c.alpha);
  return true;
}

// Fills the current path with `fill` and strokes it with `stroke` (either may be none).
// A whole-pixel fill covers the pixels whose centres are inside, so that bars sharing an
// edge leave no seam of half-covered pixels between them.
void paint_path(cairo_t* cr, const Colour& fill, const Colour& stroke, double width, bool whole_pixel_fill = false) {
  cairo_set_antialias(cr, whole_pixel_fill ? CAIRO_ANTIALIAS_NONE : CAIRO_ANTIALIAS_DEFAULT);
  if (set_colour(cr, fill)) cairo_fill_preserve(cr);
  cairo_set_antialias(cr, CAIRO_ANTIALIAS_DEFAULT);
  cairo_set_line_width(cr, width);
  if (width > 0 && set_colour(cr, stroke)) cairo_stroke_preserve(cr);
  cairo_new_path(cr);
}

struct Draw {
  const Canvas& c;

  void operator()(const PolylinePrim& p) const {
    if (p.points.empty()) return;
    cairo_move_to(c.cr(), p.points[0].first, p.points[0].second);
    // A single point still gets a line_to: a round cap draws it as a dot.
    for (size_t i = p.points.size() == 1 ? 0 : 1; i < p.points.size(); ++i)
      cairo_line_to(c.cr(), p.points[i].first, p.points[i].second);
    paint_path(c.cr(), Colour("none"), p.stroke, p.width);
  }
  void operator()(const RectPrim& r) const {
    cairo_rectangle(c.cr(), std::min(r.x0, r.x1), std::min(r.y0, r.y1), std::abs(r.x1 - r.x0), std::abs(r.y1 - r.y0));
    paint_path(c.cr(), r.fill, r.stroke, r.width, /*whole_pixel_fill=*/true);
  }
  void operator()(const CirclePrim& p) const {
    cairo_new_sub_path(c.cr());
    cairo_arc(c.cr(), p.cx, p.cy, p.r, 0, 2 * std::numbers::pi);
    paint_path(c.cr(), p.fill, p.stroke, p.width);
  }
  void operator()(const TextPrim& t) const {
    cairo_save(c.cr());
    place_text(c, t);
    if (set_colour(c.cr(), t.colour)) cairo_show_text(c.cr(), t.text.c_str());
    cairo_restore(c.cr());
    c.check(fmt::format("draw the text '{}'", t.text));
  }
};

}  // namespace

double chart_font_px(int size) { return size == 1 ? 12.0 : 15.0; }

double text_width(const std::string& text, int size) {
  const Canvas c(1, 1);
  return place_text(c, TextPrim{0, 0, text, Anchor::start, size}).x_advance;
}

PixelBox text_box(const TextPrim& t, int scale) {
  const Canvas c(1, 1);
  cairo_scale(c.cr(), scale, scale);
  const cairo_text_extents_t e = place_text(c, t);
  double ox = 0, oy = 0;
  cairo_get_current_point(c.cr(), &ox, &oy);
  double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
  for (double u : {e.x_bearing, e.x_bearing + e.width})
    for (double v : {e.y_bearing, e.y_bearing + e.height}) {
      double x = ox + u, y = oy + v;
      cairo_user_to_device(c.cr(), &x, &y);
      x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
    }
  // A pixel more on each side: the glyph metrics are rounded to 1/64 pixel at the font's size.
  return {int(std::floor(x0)) - 1, int(std::floor(y0)) - 1, int(std::ceil(x1)) + 1, int(std::ceil(y1)) + 1};
}

std::array<uint8_t, 3> RgbImage::at(int x, int y) const {
  PN_CHECK(x >= 0 && y >= 0 && x < width && y < height, "chart: pixel ({}, {}) is outside {}x{}", x, y, width, height);
  const size_t i = (size_t(y) * size_t(width) + size_t(x)) * 3;
  return {rgb[i], rgb[i + 1], rgb[i + 2]};
}

RgbImage render_primitives(const std::vector<Primitive>& prims, int width, int height, int scale) {
  PN_CHECK(scale >= 1 && scale <= 8, "chart: raster scale {} is not 1..8", scale);
  PN_CHECK(width > 0 && height > 0, "chart: size {}x{} is empty", width, height);
  RgbImage im{width * scale, height * scale, {}};
  const Canvas c(im.width, im.height);
  cairo_set_source_rgb(c.cr(), 1, 1, 1);
  cairo_paint(c.cr());
  cairo_scale(c.cr(), scale, scale);
  cairo_set_line_cap(c.cr(), CAIRO_LINE_CAP_ROUND);
  cairo_set_line_join(c.cr(), CAIRO_LINE_JOIN_ROUND);
  for (const Primitive& p : prims) std::visit(Draw{c}, p);
  c.check("draw the chart");
  cairo_surface_flush(c.surface.get());
  const unsigned char* data = cairo_image_surface_get_data(c.surface.get());
  const int stride = cairo_image_surface_get_stride(c.surface.get());
  im.rgb.resize(size_t(im.width) * size_t(im.height) * 3);
  for (int y = 0; y < im.height; ++y)
    for (int x = 0; x < im.width; ++x) {
      uint32_t px = 0;  // RGB24: native-endian 0x00RRGGBB
      std::copy_n(data + size_t(y) * size_t(stride) + size_t(x) * 4, 4, reinterpret_cast<unsigned char*>(&px));
      uint8_t* out = &im.rgb[(size_t(y) * size_t(im.width) + size_t(x)) * 3];
      out[0] = uint8_t(px >> 16), out[1] = uint8_t(px >> 8), out[2] = uint8_t(px);
    }
  return im;
}

}  // namespace pn::experiments
