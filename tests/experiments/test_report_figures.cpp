// Report figures: nice axes, box statistics against their definitions, and SVG output
// whose coordinates follow from the axes.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "experiments/report/report_figures.h"
#include "experiments/report/chart.h"
#include "tests/experiments/error_text.h"

using namespace pn::experiments;

namespace {
size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}
}  // namespace

TEST_CASE("nice axes cover the range with 1-2-5 steps") {
  Axis a = nice_axis(0.13, 0.87);
  CHECK(a.lo == doctest::Approx(0.0));
  CHECK(a.hi == doctest::Approx(1.0));
  REQUIRE(a.ticks.size() == 6);  // step 0.2
  CHECK(a.ticks[1] == doctest::Approx(0.2));
  CHECK(a.labels[1] == "0.2");
  Axis b = nice_axis(1, 97, 5);  // raw step 19.2 -> 20
  CHECK(b.lo == 0);
  CHECK(b.hi == 100);
  CHECK(b.labels.back() == "100");
  Axis c = nice_axis(-3, -3);
  CHECK(c.lo <= -3.5);
  CHECK(c.hi >= -2.5);
  Axis d = nice_axis(0.0, 0.002);  // raw step 4e-4 -> 5e-4: labels with four decimals
  CHECK(d.labels.back() == "0.0020");
  CHECK(d.ticks.size() == 5);
  for (const Axis& x : {a, b, c, d})
    for (size_t i = 1; i < x.ticks.size(); ++i) CHECK(x.ticks[i] > x.ticks[i - 1]);
  CHECK_ERROR_HAS(nice_axis(1, std::numeric_limits<double>::infinity()), "not finite");
}

TEST_CASE("box statistics follow Tukey's definition") {
  // 1..9 and an outlier 40: quartiles of the ten values by numpy's rule: 3.25, 5.5, 7.75.
  std::vector<double> v{5, 1, 9, 3, 40, 7, 2, 8, 4, 6, std::nan(""), INFINITY};
  BoxStats b = box_stats(v);
  CHECK(b.n == 10);
  CHECK(b.skipped == 2);
  CHECK(b.q1 == doctest::Approx(3.25));
  CHECK(b.median == doctest::Approx(5.5));
  CHECK(b.q3 == doctest::Approx(7.75));
  // Fences 3.25 - 6.75 = -3.5 and 7.75 + 6.75 = 14.5: 40 is out, the whiskers reach 1 and 9.
  CHECK(b.whisker_lo == 1);
  CHECK(b.whisker_hi == 9);
  REQUIRE(b.outliers.size() == 1);
  CHECK(b.outliers[0] == 40);
  CHECK(b.mean == doctest::Approx(85.0 / 10));
  CHECK(box_stats({}).n == 0);
}

TEST_CASE("line chart: points land where the axes put them; NaN breaks the line") {
  Chart p("t", "x", "y", 720, 420);
  p.set_x(nice_axis(0, 10));
  p.set_y(nice_axis(0, 1));
  // Frame: x from 64 to 720 - 170 = 550, y from 420 - 52 = 368 (bottom) to 36 (top).
  CHECK(p.px(0) == doctest::Approx(64));
  CHECK(p.px(10) == doctest::Approx(550));
  CHECK(p.py(0) == doctest::Approx(368));
  CHECK(p.py(1) == doctest::Approx(36));
  CHECK(p.px(5) == doctest::Approx(307));
  p.polyline({0, 5, 6, 10}, {0, 1, std::nan(""), 0.5}, "#000", "a <b> & c");
  std::string s = p.svg();
  CHECK(count(s, R"(<polyline fill="none" stroke="#000000" stroke-width="1.8")") == 2);  // split at the NaN
  CHECK(s.find("points=\"64.0,368.0 307.0,36.0\"") != std::string::npos);
  CHECK(s.find("points=\"550.0,202.0\"") != std::string::npos);
  CHECK(s.find("a &lt;b&gt; &amp; c") != std::string::npos);
  CHECK(s.rfind("<svg", 0) == 0);
  CHECK(s.find("</svg>") != std::string::npos);
}

TEST_CASE("training curves and box plots from CSV tables") {
  CsvTable a = parse_csv("epoch,test_soft_dice\n1,0.2\n2,0.5\n3,0.6\n", "a");
  CsvTable b = parse_csv("epoch,test_soft_dice\n1,0.1\n2,0.3\n", "b");
  std::string curves = training_curves({{"clinical", a}, {"synthetic", b}}, "test_soft_dice").svg();
  CHECK(count(curves, R"(stroke-width="1.8")") == 2);  // the data lines (grid: 1, legend: 3)
  CHECK(curves.find(">clinical</text>") != std::string::npos);
  CHECK(curves.find("test_soft_dice (%)") != std::string::npos);
  CHECK_ERROR_HAS(training_curves({{"x", a}}, "loss"), "no column 'loss'");

  CsvTable v = parse_csv("case,lesion_positive,hard_dice\nx,1,0.5\ny,1,0.7\nz,0,nan\nw,1,0.9\n", "v");
  std::string box = volume_box_plot({{"clinical", v}}, "hard_dice").svg();
  CHECK(count(box, "<rect x=") >= 2);  // background frame + the box
  CHECK(box.find(">clinical</text>") != std::string::npos);
  CHECK(count(box, "<circle") == 1);   // the mean; no outliers
  // Names too long for their slots: numbered boxes, named in a legend.
  const std::string long_name(40, 'n');
  std::string numbered = volume_box_plot({{long_name, v}, {"b", v}, {"c", v}, {"d", v}, {"e", v}}, "hard_dice").svg();
  CHECK(numbered.find(">1  " + long_name + "</text>") != std::string::npos);
  CHECK(numbered.find(">5</text>") != std::string::npos);
  CHECK(numbered.find(">" + long_name + "</text>") == std::string::npos);
}
