// Chart::svg(): the laid-out primitives as SVG elements, one per primitive, in order.
#include <variant>

#include "autograd/error.h"
#include "experiments/report/chart.h"

namespace pn::experiments {

namespace {

// ` fill="#rrggbb"` plus ` fill-opacity="a"` when translucent (likewise for stroke).
std::string paint(const char* what, const Colour& c) {
  std::string s = fmt::format(R"( {}="{}")", what, c.hex());
  if (!c.none && c.alpha < 1) s += fmt::format(R"( {}-opacity="{:.3g}")", what, c.alpha);
  return s;
}

std::string stroke(const Colour& c, double width) {
  return c.none || width <= 0 ? std::string(R"( stroke="none")") : paint("stroke", c) + fmt::format(R"( stroke-width="{}")", width);
}

struct SvgElement {
  std::string operator()(const PolylinePrim& p) const {
    std::string pts;
    for (const auto& [x, y] : p.points) pts += fmt::format("{}{:.1f},{:.1f}", pts.empty() ? "" : " ", x, y);
    return fmt::format(R"(<polyline fill="none"{} points="{}"/>)", stroke(p.stroke, p.width), pts);
  }
  std::string operator()(const RectPrim& r) const {
    return fmt::format(R"(<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}"{}{}/>)", std::min(r.x0, r.x1),
                       std::min(r.y0, r.y1), std::abs(r.x1 - r.x0), std::abs(r.y1 - r.y0), paint("fill", r.fill),
                       stroke(r.stroke, r.width));
  }
  std::string operator()(const CirclePrim& c) const {
    return fmt::format(R"(<circle cx="{:.1f}" cy="{:.1f}" r="{:.1f}"{}{}/>)", c.cx, c.cy, c.r, paint("fill", c.fill),
                       stroke(c.stroke, c.width));
  }
  std::string operator()(const TextPrim& t) const {
    const char* anchor = t.anchor == Anchor::start ? "start" : t.anchor == Anchor::middle ? "middle" : "end";
    std::string s = fmt::format(R"(<text x="{:.1f}" y="{:.1f}" text-anchor="{}" dominant-baseline="middle")", t.x, t.y, anchor);
    if (t.size != 1) s += fmt::format(R"( font-size="{}")", chart_font_px(t.size));
    if (t.vertical) s += fmt::format(R"svg( transform="rotate(-90 {:.1f} {:.1f})")svg", t.x, t.y);
    return s + paint("fill", t.colour) + ">" + svg_escape(t.text) + "</text>";
  }
};

}  // namespace

std::string Chart::svg() const {
  // Round caps and joins, as the raster draws them.
  std::string s = fmt::format(
      R"(<svg xmlns="http://www.w3.org/2000/svg" width="{0}" height="{1}" viewBox="0 0 {0} {1}" font-family="{2}, sans-serif" )"
      R"(font-size="{3}" stroke-linecap="round" stroke-linejoin="round">)"
      "\n",
      width(), height(), kChartFont, chart_font_px(1));
  for (const Primitive& p : elements()) s += std::visit(SvgElement{}, p) + "\n";
  return s + "</svg>\n";
}

}  // namespace pn::experiments
