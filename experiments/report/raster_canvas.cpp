#include "experiments/report/raster_canvas.h"

#include <algorithm>
#include <cmath>

#include "autograd/error.h"
#include "data/montage.h"
#include "experiments/report/bitmap_font.h"

namespace pn::experiments {

namespace {

// Distance from p to the segment a-b.
double segment_distance(double px, double py, const Point& a, const Point& b) {
  const double dx = b.first - a.first, dy = b.second - a.second, len2 = dx * dx + dy * dy;
  const double t = len2 > 0 ? std::clamp(((px - a.first) * dx + (py - a.second) * dy) / len2, 0.0, 1.0) : 0.0;
  return std::hypot(px - a.first - t * dx, py - a.second - t * dy);
}

double clamp01(double v) { return std::clamp(v, 0.0, 1.0); }

}  // namespace

PixelBox text_box(const TextPrim& t, int gs) {
  const int w = font::text_columns(t.text) * gs, h = font::kRows * gs;
  const double f = t.anchor == Anchor::start ? 0.0 : t.anchor == Anchor::middle ? 0.5 : 1.0;
  // The cap rows are centred on the anchor line: across it for vertical text.
  const int across = static_cast<int>(std::lround((t.vertical ? t.x : t.y) - font::kCapRows * gs / 2.0));
  if (!t.vertical) {
    const int left = static_cast<int>(std::lround(t.x - w * f));
    return {left, across, left + w, across + h};
  }
  const int bottom = static_cast<int>(std::lround(t.y + w * f));  // the text starts at the bottom
  return {across, bottom - w, across + h, bottom};
}

RasterCanvas::RasterCanvas(int width, int height, const Colour& bg) : w_(width), h_(height) {
  PN_CHECK(width > 0 && height > 0, "raster: size {}x{} is empty", width, height);
  rgb_.resize(static_cast<size_t>(w_) * static_cast<size_t>(h_) * 3);
  for (size_t i = 0; i < rgb_.size(); i += 3) rgb_[i] = bg.r, rgb_[i + 1] = bg.g, rgb_[i + 2] = bg.b;
}

std::array<uint8_t, 3> RasterCanvas::at(int x, int y) const {
  PN_CHECK(x >= 0 && y >= 0 && x < w_ && y < h_, "raster: pixel ({}, {}) is outside {}x{}", x, y, w_, h_);
  const size_t i = (static_cast<size_t>(y) * static_cast<size_t>(w_) + static_cast<size_t>(x)) * 3;
  return {rgb_[i], rgb_[i + 1], rgb_[i + 2]};
}

void RasterCanvas::blend(int x, int y, const Colour& c, double coverage) {
  const double a = c.alpha * coverage;
  if (c.none || a <= 0 || x < 0 || y < 0 || x >= w_ || y >= h_) return;
  uint8_t* p = &rgb_[(static_cast<size_t>(y) * static_cast<size_t>(w_) + static_cast<size_t>(x)) * 3];
  const uint8_t src[3] = {c.r, c.g, c.b};
  for (int k = 0; k < 3; ++k) p[k] = static_cast<uint8_t>(std::lround(src[k] * a + p[k] * (1 - a)));
}

// Blends f(pixel centre x, y) as the coverage of every pixel touching [x0, x1] x [y0, y1].
template <class Coverage>
void RasterCanvas::cover(double x0, double y0, double x1, double y1, const Colour& c, Coverage f) {
  if (c.none) return;
  const int i0 = std::max(0, static_cast<int>(std::floor(x0))), i1 = std::min(w_ - 1, static_cast<int>(std::ceil(x1)));
  const int j0 = std::max(0, static_cast<int>(std::floor(y0))), j1 = std::min(h_ - 1, static_cast<int>(std::ceil(y1)));
  for (int j = j0; j <= j1; ++j)
    for (int i = i0; i <= i1; ++i) blend(i, j, c, f(i + 0.5, j + 0.5));
}

void RasterCanvas::fill_rect(double x0, double y0, double x1, double y1, const Colour& c) {
  if (x0 > x1) std::swap(x0, x1);
  if (y0 > y1) std::swap(y0, y1);
  cover(x0, y0, x1, y1, c, [&](double cx, double cy) {
    const double ox = std::min(x1, cx + 0.5) - std::max(x0, cx - 0.5), oy = std::min(y1, cy + 0.5) - std::max(y0, cy - 0.5);
    return ox > 0 && oy > 0 ? ox * oy : 0.0;
  });
}

void RasterCanvas::stroke_polyline(const std::vector<Point>& pts, double width, const Colour& c, bool closed) {
  if (pts.empty() || c.none || width <= 0) return;
  std::vector<Point> p = pts;
  if (closed && p.size() > 1) p.push_back(p.front());
  if (p.size() == 1) p.push_back(p.front());
  double x0 = p[0].first, x1 = x0, y0 = p[0].second, y1 = y0;
  for (const auto& [x, y] : p) x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
  // The largest coverage over the segments, per pixel of the polyline's box, blended once
  // (so translucent strokes do not darken where segments meet). Each segment only visits
  // its own box.
  const double reach = width / 2 + 1;
  const int i0 = std::max(0, static_cast<int>(std::floor(x0 - reach))), i1 = std::min(w_ - 1, static_cast<int>(std::ceil(x1 + reach)));
  const int j0 = std::max(0, static_cast<int>(std::floor(y0 - reach))), j1 = std::min(h_ - 1, static_cast<int>(std::ceil(y1 + reach)));
  if (i0 > i1 || j0 > j1) return;
  const int bw = i1 - i0 + 1;
  std::vector<float> cov(static_cast<size_t>(bw) * static_cast<size_t>(j1 - j0 + 1), 0.f);
  for (size_t k = 0; k + 1 < p.size(); ++k) {
    const Point &a = p[k], &b = p[k + 1];
    const int si0 = std::max(i0, static_cast<int>(std::floor(std::min(a.first, b.first) - reach)));
    const int si1 = std::min(i1, static_cast<int>(std::ceil(std::max(a.first, b.first) + reach)));
    const int sj0 = std::max(j0, static_cast<int>(std::floor(std::min(a.second, b.second) - reach)));
    const int sj1 = std::min(j1, static_cast<int>(std::ceil(std::max(a.second, b.second) + reach)));
    for (int j = sj0; j <= sj1; ++j)
      for (int i = si0; i <= si1; ++i) {
        float& v = cov[static_cast<size_t>(j - j0) * static_cast<size_t>(bw) + static_cast<size_t>(i - i0)];
        v = std::max(v, static_cast<float>(clamp01(width / 2 + 0.5 - segment_distance(i + 0.5, j + 0.5, a, b))));
      }
  }
  for (int j = j0; j <= j1; ++j)
    for (int i = i0; i <= i1; ++i) blend(i, j, c, cov[static_cast<size_t>(j - j0) * static_cast<size_t>(bw) + static_cast<size_t>(i - i0)]);
}

void RasterCanvas::fill_circle(double cx, double cy, double r, const Colour& c) {
  cover(cx - r - 1, cy - r - 1, cx + r + 1, cy + r + 1, c,
        [&](double x, double y) { return clamp01(r + 0.5 - std::hypot(x - cx, y - cy)); });
}

void RasterCanvas::stroke_circle(double cx, double cy, double r, double width, const Colour& c) {
  const double reach = r + width / 2 + 1;
  cover(cx - reach, cy - reach, cx + reach, cy + reach, c,
        [&](double x, double y) { return clamp01(width / 2 + 0.5 - std::abs(std::hypot(x - cx, y - cy) - r)); });
}

void RasterCanvas::text(const TextPrim& t, int gs) {
  const PixelBox box = text_box(t, gs);
  int col = 0;  // font column along the text
  for (char32_t cp : font::decode_utf8(t.text)) {
    const font::Glyph& g = font::glyph(cp);
    for (int r = 0; r < font::kRows; ++r)
      for (int c = 0; c < font::kWidth; ++c) {
        if (!(g[static_cast<size_t>(r)] >> (font::kWidth - 1 - c) & 1)) continue;
        for (int dy = 0; dy < gs; ++dy)
          for (int dx = 0; dx < gs; ++dx) {
            const int u = (col + c) * gs + dx, v = r * gs + dy;  // along the text, and down its rows
            if (t.vertical) blend(box.x0 + v, box.y1 - 1 - u, t.colour, 1);
            else blend(box.x0 + u, box.y0 + v, t.colour, 1);
          }
      }
    col += font::kAdvance;
  }
}

void RasterCanvas::write_png(const std::string& path) const { data::write_png_rgb(path, w_, h_, rgb_); }

}  // namespace pn::experiments
