// The raster (PNG) output of charts, drawn with Cairo: the file decodes to the chart's
// size, rectangles, lines and text land on the pixels the axes and text boxes predict,
// translucent bars blend source-over, every character has a glyph of its own, and SVG and
// PNG put the same element at the same place.
#include <doctest/doctest.h>
#include <png.h>

#include <algorithm>
#include <cmath>
#include <regex>
#include <set>
#include <variant>

#include "experiments/report/chart.h"
#include "experiments/report/report_figures.h"
#include "tests/experiments/error_text.h"

using namespace pn::experiments;
using Rgb = std::array<uint8_t, 3>;

namespace {

const Rgb kWhite{255, 255, 255};
Rgb rgb_of(const Colour& c) { return {c.r, c.g, c.b}; }
// A colour `c` at opacity a over `under`, per channel rounded (source over).
Rgb over(const Rgb& under, const Colour& c, double a) {
  const uint8_t src[3] = {c.r, c.g, c.b};
  Rgb out{};
  for (int k = 0; k < 3; ++k) out[size_t(k)] = static_cast<uint8_t>(std::lround(src[k] * a + under[size_t(k)] * (1 - a)));
  return out;
}

bool near(const Rgb& a, const Rgb& b) {
  for (size_t k = 0; k < 3; ++k)
    if (std::abs(int(a[k]) - int(b[k])) > 1) return false;
  return true;
}

// Axes that map data to whole pixels: x -> left + x, y -> bottom - y, with no ticks (so no grid).
Chart pixel_chart(bool legend = false) {
  Chart p("", "", "", 720, 420, legend);
  const double plot_w = legend ? 720 - 64 - 170 : 720 - 64 - 24, plot_h = 420 - 36 - 52;
  p.set_x(Axis{0, plot_w, {}, {}});
  p.set_y(Axis{0, plot_h, {}, {}});
  return p;
}

struct Decoded {
  int w = 0, h = 0;
  std::vector<uint8_t> rgb;
};
Decoded read_png(const std::string& path) {
  png_image im{};
  im.version = PNG_IMAGE_VERSION;
  REQUIRE(png_image_begin_read_from_file(&im, path.c_str()) != 0);
  im.format = PNG_FORMAT_RGB;
  Decoded d{int(im.width), int(im.height), std::vector<uint8_t>(PNG_IMAGE_SIZE(im))};
  REQUIRE(png_image_finish_read(&im, nullptr, d.rgb.data(), 0, nullptr) != 0);
  return d;
}

// The numbers of attribute `name` in the first SVG element that contains `marker`.
double svg_attr(const std::string& svg, const std::string& marker, const std::string& name) {
  const size_t at = svg.find(marker);
  REQUIRE(at != std::string::npos);
  const size_t open = svg.rfind('<', at), close = svg.find('>', at);
  std::smatch m;
  const std::string el = svg.substr(open, close - open);
  REQUIRE(std::regex_search(el, m, std::regex(" " + name + "=\"([-0-9.]+)\"")));
  return std::stod(m[1]);
}

}  // namespace

TEST_CASE("png: decodes with libpng to the chart's size times the scale, pixel for pixel") {
  Chart p = line_chart({{"a", {0, 1, 2}, {0.1, 0.5, 0.3}}}, "title", "epoch", "dice");
  const auto path = pn::test::scratch_dir("chart-png") / "c.png";
  for (int scale : {1, 2}) {
    p.write_png(path.string(), scale);
    Decoded d = read_png(path.string());
    CHECK(d.w == p.width() * scale);
    CHECK(d.h == p.height() * scale);
    CHECK(d.rgb == p.raster(scale).rgb);
  }
  // A long legend label widens the chart by its width in the font, not the plot.
  Chart wide = line_chart({{std::string(60, 'x'), {0, 1}, {0, 1}}}, "t", "x", "y");
  CHECK(wide.width() == 720 - 170 + 36 + int(std::ceil(text_width(std::string(60, 'x')))) + 8);
  CHECK(wide.px(wide.x_axis().hi) == doctest::Approx(p.px(p.x_axis().hi)));
}

TEST_CASE("png: a rectangle in data coordinates fills exactly its pixels, translucent ones blend") {
  Chart p = pixel_chart();
  const Colour solid("#123456"), glass = Colour("#c03020").with_alpha(0.5);
  p.rect(10, 20, 30, 60, "none", solid, 0);
  p.rect(100, 20, 140, 60, "none", glass, 0);
  p.rect(120, 40, 160, 80, "none", glass, 0);  // overlaps the previous bar's upper right
  for (int s : {1, 2}) {
    RgbImage c = p.raster(s);
    // The corners the axes give, which are whole pixels here.
    auto box = [&](double x0, double y0, double x1, double y1) {
      PixelBox b{int(p.px(x0)) * s, int(p.py(y1)) * s, int(p.px(x1)) * s, int(p.py(y0)) * s};
      REQUIRE(double(b.x0) == p.px(x0) * s);
      REQUIRE(double(b.y0) == p.py(y1) * s);
      return b;
    };
    const PixelBox a = box(10, 20, 30, 60), g1 = box(100, 20, 140, 60), g2 = box(120, 40, 160, 80);
    const Rgb one = over(kWhite, glass, 0.5), two = over(one, glass, 0.5);
    size_t inside = 0;
    const PixelBox all{a.x0 - 3 * s, g2.y0 - 3 * s, g2.x1 + 3 * s, a.y1 + 3 * s};  // the three and a margin
    for (int y = all.y0; y < all.y1; ++y)
      for (int x = all.x0; x < all.x1; ++x) {
        const bool in1 = g1.contains(x, y), in2 = g2.contains(x, y);
        const Rgb want = a.contains(x, y) ? rgb_of(solid) : in1 && in2 ? two : in1 || in2 ? one : kWhite;
        inside += a.contains(x, y);
        // Cairo blends in 8-bit premultiplied steps: translucent pixels may be one level off.
        if (in1 || in2 ? !near(c.at(x, y), want) : c.at(x, y) != want)
          FAIL_CHECK("pixel (" << x << ", " << y << ") at scale " << s);
      }
    CHECK(inside == size_t(20 * 40 * s * s));
  }
}

TEST_CASE("png: a line passes through the pixels the axes predict, and breaks at NaN") {
  Chart p("t", "x", "y");
  p.set_x(nice_axis(0, 10));
  p.set_y(nice_axis(0, 1));
  const Colour ink("#8b0a50");
  p.polyline({0, 10, 11, 12}, {0, 1, NAN, 0.5}, ink, "", 3);
  RgbImage c = p.raster(1);
  // Width 3: every pixel whose centre is within 1.5 + 0.5 - sqrt(1/2) of the line is solid.
  for (double t = 0.02; t < 1; t += 0.01) {
    const double x = p.px(10 * t), y = p.py(t);
    CHECK(c.at(int(x), int(y)) == rgb_of(ink));
    CHECK(c.at(int(x), int(y) - 6) != rgb_of(ink));  // 6 px above: > 2 px from the line
    CHECK(c.at(int(x), int(y) + 6) != rgb_of(ink));
  }
  // Nothing joins (10, 1) to the point after the NaN.
  CHECK(c.at(int(p.px(11)), int(p.py(0.75))) != rgb_of(ink));
}

TEST_CASE("png: text draws inside its box and nowhere else, horizontal and vertical") {
  const std::string text = "Hg_1|y \u00b1";
  const double len = text_width(text);
  for (Anchor anchor : {Anchor::start, Anchor::middle, Anchor::end})
    for (bool vertical : {false, true})
      for (int s : {1, 2}) {
        const TextPrim t{120, 120, text, anchor, 1, vertical, Colour("#000")};
        const RgbImage c = render_primitives({t}, 240, 240, s);
        const PixelBox b = text_box(t, s);
        // The anchor is where the text starts, centres or ends along its direction (the
        // ink starts within a glyph's side bearing of it); across, the box holds the cap
        // height centred on y, and no more than two font sizes.
        const double f = anchor == Anchor::start ? 0 : anchor == Anchor::middle ? 0.5 : 1;
        const double start = vertical ? (120 + len * f) * s : (120 - len * f) * s;
        CHECK(std::abs((vertical ? b.y1 : b.x0) - start) <= 2 * s);
        const int across0 = vertical ? b.x0 : b.y0, across1 = vertical ? b.x1 : b.y1;
        CHECK(across0 <= (120 - 4) * s);
        CHECK(across1 >= (120 + 4) * s);
        CHECK(across1 - across0 <= 2 * chart_font_px(1) * s);
        // Ink only inside the box; every character but the space has ink in its own advance.
        size_t in = 0, out = 0;
        std::set<size_t> inked_chars;
        std::vector<double> ends;  // where each character's advance ends, along the text
        for (size_t k = 1; k <= text.size(); ++k)
          if (k == text.size() || (text[k] & 0xc0) != 0x80) ends.push_back(text_width(text.substr(0, k)));
        for (int y = 0; y < c.height; ++y)
          for (int x = 0; x < c.width; ++x) {
            if (c.at(x, y) == kWhite) continue;
            if (!b.contains(x, y)) {
              ++out;
              continue;
            }
            ++in;
            const double along = (vertical ? start - (y + 0.5) : x + 0.5 - start) / s;
            inked_chars.insert(size_t(std::lower_bound(ends.begin(), ends.end(), along) - ends.begin()));
          }
        CHECK(in > 0);
        CHECK(out == 0);
        REQUIRE(ends.size() == 8);
        for (size_t k : {0, 1, 2, 3, 4, 5, 7}) CHECK_MESSAGE(inked_chars.count(k) == 1, "character " << k);
      }
}

TEST_CASE("png: every label of the report's figures has ink where the layout puts it") {
  const CsvTable a = parse_csv("epoch,test_soft_dice\n1,0.2\n2,0.5\n3,0.6\n", "a");
  const CsvTable v = parse_csv("case,lesion_positive,hard_dice\nx,1,0.5\ny,1,0.7\nw,1,0.9\n", "v");
  const std::vector<Chart> charts{training_curves({{"clinical", a}, {"synthetic", a}}, "test_soft_dice"),
                                  volume_box_plot({{"clinical", v}, {"a much longer experiment name", v}}, "hard_dice"),
                                  histogram_chart({{"real", {1, 2, 2, 3}}, {"generated", {2, 3, 5}}}, "Lesions", "voxels")};
  for (const Chart& chart : charts) {
    const RgbImage im = chart.raster(1);
    size_t labels = 0;
    for (const Primitive& p : chart.elements()) {
      const auto* t = std::get_if<TextPrim>(&p);
      if (!t || t->text.empty()) continue;
      ++labels;
      const PixelBox b = text_box(*t, 1);
      size_t dark = 0;  // the text colour (#222) where glyphs cover whole pixels
      for (int y = std::max(b.y0, 0); y < std::min(b.y1, im.height); ++y)
        for (int x = std::max(b.x0, 0); x < std::min(b.x1, im.width); ++x) dark += im.at(x, y)[0] < 100;
      CHECK_MESSAGE(dark > 0, "label '" << t->text << "'");
    }
    CHECK(labels >= 8);  // title, axis labels, ticks, legend
  }
}

TEST_CASE("font: every printable ASCII character and the report's symbols draw a glyph of their own") {
  std::vector<std::string> chars{"\u00b1", "\u00d7", "\u2013", "\u2014"};  // plus-minus, times, en and em dash
  for (char c = 33; c < 127; ++c) chars.emplace_back(1, c);
  std::set<std::string> seen;  // the pixels of each glyph
  for (const std::string& ch : chars) {
    const RgbImage im = render_primitives({TextPrim{4, 16, ch, Anchor::start, 1, false, Colour("#000")}}, 24, 32, 1);
    CHECK_MESSAGE(std::any_of(im.rgb.begin(), im.rgb.end(), [](uint8_t v) { return v != 255; }), "glyph " << ch);
    CHECK_MESSAGE(seen.insert(std::string(im.rgb.begin(), im.rgb.end())).second, "glyph " << ch << " repeats another");
  }
  // A multi-byte character is one glyph (decoded as UTF-8, not drawn byte by byte).
  CHECK(text_width("\u00b1") == doctest::Approx(text_width("+")).epsilon(0.01));
  CHECK_ERROR_HAS(text_width("a\xff"), "UTF-8");
}

TEST_CASE("svg and png of one chart put the same element at the same pixels") {
  Chart p("Same place", "x", "y");
  p.set_x(nice_axis(0, 7));
  p.set_y(nice_axis(0, 3));
  p.rect(1.3, 0.4, 2.9, 2.2, "none", "#0a7b3c", 0);
  p.circle(5.1, 1.7, 6, "#7b0a3c", true);
  const std::string svg = p.svg();
  for (int s : {1, 2}) {
    RgbImage c = p.raster(s);
    const double x = svg_attr(svg, "#0a7b3c", "x") * s, y = svg_attr(svg, "#0a7b3c", "y") * s;
    const double w = svg_attr(svg, "#0a7b3c", "width") * s, h = svg_attr(svg, "#0a7b3c", "height") * s;
    // Pixels wholly inside the SVG rectangle have its colour; those a pixel beyond do not
    // (the rectangle is 0.05 px off whole pixels at most by the SVG's rounding).
    for (int yy = int(std::ceil(y + 0.1)); yy + 1 < y + h - 0.1; ++yy) {
      CHECK(c.at(int(std::ceil(x + 0.1)), yy) == Rgb{0x0a, 0x7b, 0x3c});
      CHECK(c.at(int(std::floor(x + w - 0.1)) - 1, yy) == Rgb{0x0a, 0x7b, 0x3c});
      CHECK(c.at(int(std::floor(x - 1.1)), yy) != Rgb{0x0a, 0x7b, 0x3c});
      CHECK(c.at(int(std::ceil(x + w + 1.1)), yy) != Rgb{0x0a, 0x7b, 0x3c});
    }
    const double cx = svg_attr(svg, "#7b0a3c", "cx") * s, cy = svg_attr(svg, "#7b0a3c", "cy") * s;
    const double r = svg_attr(svg, "#7b0a3c", "r") * s;
    CHECK(c.at(int(cx), int(cy)) == Rgb{0x7b, 0x0a, 0x3c});
    CHECK(c.at(int(cx + r + 2), int(cy)) != Rgb{0x7b, 0x0a, 0x3c});
    // The title's SVG anchor, drawn in the raster's font, has its ink in the box it predicts.
    TextPrim title{svg_attr(svg, ">Same place<", "x"), svg_attr(svg, ">Same place<", "y"), "Same place",
                   Anchor::middle, 2};
    const PixelBox b = text_box(title, s);
    size_t ink = 0;
    for (int yy = b.y0; yy < b.y1; ++yy)
      for (int xx = b.x0; xx < b.x1; ++xx) ink += c.at(xx, yy) != kWhite;
    CHECK(ink > 0);
    for (int xx = b.x0 - 4 * s; xx < b.x1 + 4 * s; ++xx) CHECK(c.at(xx, b.y1 + 1) == kWhite);  // title band below
  }
}
