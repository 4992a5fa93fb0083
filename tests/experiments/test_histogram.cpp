// Histogram binning (edges, values on edges, out of range, NaN), nice bin edges, and the
// histogram chart's bins, log10 mode and legend counts.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <random>

#include "experiments/report/report_figures.h"
#include "tests/experiments/error_text.h"

using namespace pn::experiments;
using namespace pn::data;

namespace {
const double kInf = std::numeric_limits<double>::infinity();
}

TEST_CASE("histogram: half-open bins, the last one closed, outside values and NaN counted apart") {
  const std::vector<double> edges{0, 1, 2, 4};
  // 0 -> bin 0 (on the first edge); 0.5 -> bin 0; 1 -> bin 1 (an inner edge opens its bin);
  // 1.999 -> bin 1; 2 and 3.5 -> bin 2; 4 -> bin 2 (the last edge is in the last bin);
  // -0.1 and -inf below; 4.0001 and +inf above; two NaN.
  Histogram h = histogram({0, 0.5, 1, 1.999, 2, 3.5, 4, -0.1, -kInf, 4.0001, kInf, std::nan(""), NAN}, edges);
  CHECK(h.edges == edges);
  REQUIRE(h.counts.size() == 3);
  CHECK(h.counts[0] == 2);
  CHECK(h.counts[1] == 2);
  CHECK(h.counts[2] == 3);
  CHECK(h.below == 2);
  CHECK(h.above == 2);
  CHECK(h.nan == 2);
  CHECK(h.binned() == 7);
  CHECK(h.total() == 11);  // NaN is not a value of the set; out-of-range values are
  CHECK(histogram({}, edges).total() == 0);
  CHECK_ERROR_HAS(histogram({1}, {0}), "at least two bin edges");
  CHECK_ERROR_HAS(histogram({1}, {0, 2, 2}), "increasing");
  CHECK_ERROR_HAS(histogram({1}, {0, kInf}), "finite");
}

TEST_CASE("nice bin edges: multiples of a 1-2-5 step covering the range") {
  // Range 0.3..9.7 in about 5 bins: raw width 1.88 -> 2; edges 0, 2, ..., 10.
  std::vector<double> e = nice_bin_edges(0.3, 9.7, 5);
  REQUIRE(e.size() == 6);
  for (size_t i = 0; i < e.size(); ++i) CHECK(e[i] == doctest::Approx(2.0 * double(i)));
  // An exact multiple at the top stays the last edge (and is binned, by the closed last bin).
  e = nice_bin_edges(0, 10, 5);
  CHECK(e.back() == doctest::Approx(10));
  CHECK(histogram({10}, e).counts.back() == 1);
  // A single value gets one bin around it.
  e = nice_bin_edges(3, 3, 10);
  REQUIRE(e.size() == 2);
  CHECK(e[0] < 3);
  CHECK(e[1] > 3);
  CHECK_ERROR_HAS(nice_bin_edges(0, kInf, 5), "not finite");
}

TEST_CASE("histogram chart: shared bins, fractions, log10 volumes, legend counts") {
  NamedValues sets{{"real", {1, 2, 2, 3, NAN}}, {"generated", {2, 3, 3, 3, 100}}};
  HistogramOptions o;
  o.edges = {0, 2, 4};
  std::vector<Histogram> hs = histograms_of(sets, o);
  REQUIRE(hs.size() == 2);
  CHECK(hs[0].counts == std::vector<size_t>{1, 3});
  CHECK(hs[0].nan == 1);
  CHECK(hs[1].counts == std::vector<size_t>{0, 4});
  CHECK(hs[1].above == 1);
  std::string svg = histogram_chart(sets, "Lesion size", "voxels", o).svg();
  CHECK(svg.find(">real (n=4, 1 NaN)</text>") != std::string::npos);
  CHECK(svg.find(">generated (n=5, 1 outside)</text>") != std::string::npos);
  CHECK(svg.find(">fraction of values</text>") != std::string::npos);

  // Without edges: nice edges over both sets, every value binned.
  o.edges.clear();
  o.bins = 4;
  hs = histograms_of(sets, o);
  CHECK(hs[0].edges == hs[1].edges);
  CHECK(hs[0].binned() == 4);
  CHECK(hs[1].binned() == 5);

  // log10: 1, 10, 100, 1000 in decades [0, 1), [1, 2), [2, 3]; 0 and -5 have no log: below.
  o.log10_x = true;
  o.edges = {1, 10, 100, 1000};
  hs = histograms_of({{"v", {1, 5, 10, 100, 1000, 0, -5}}}, o);
  CHECK(hs[0].counts == std::vector<size_t>{2, 1, 2});
  CHECK(hs[0].below == 2);
  CHECK(hs[0].edges[1] == doctest::Approx(1.0));
  Chart c = histogram_chart({{"v", {1, 5, 10, 100, 1000}}}, "t", "x", o);
  CHECK(c.x_axis().labels == std::vector<std::string>{"1", "10", "100", "1000"});
  o.outlines = true;
  CHECK(histogram_chart({{"v", {1, 5}}}, "t", "x", o).svg().find("<polyline") != std::string::npos);
  o.edges = {0, 1};
  CHECK_ERROR_HAS(histograms_of({{"v", {1}}}, o), "no log10");
}

TEST_CASE("histogram chart: overlaid log-normal sets write a PNG (an example to look at)") {
  // Lesion volumes (voxels) as log-normals: real exp(N(6, 1)), generated exp(N(6.5, 0.7)).
  std::mt19937 rng(7);
  std::normal_distribution<double> real_log(6, 1), gen_log(6.5, 0.7);
  NamedValues sets{{"real", {}}, {"generated", {}}};
  for (int i = 0; i < 400; ++i) sets[0].second.push_back(std::exp(real_log(rng)));
  for (int i = 0; i < 300; ++i) sets[1].second.push_back(std::exp(gen_log(rng)));
  HistogramOptions o;
  o.log10_x = true;
  o.bins = 24;
  const auto dir = pn::test::scratch_dir("histogram-chart");
  Chart c = histogram_chart(sets, "Lesion volume: real vs generated", "lesion volume (voxels)", o);
  c.write_png((dir / "lesion_volumes.png").string());
  o.outlines = true;
  histogram_chart(sets, "Lesion volume: real vs generated", "lesion volume (voxels)", o)
      .write_png((dir / "lesion_volumes_outlines.png").string());
  CHECK(std::filesystem::file_size(dir / "lesion_volumes.png") > 1000);
  // Fractions of each set sum to one when every value is binned.
  for (const Histogram& h : histograms_of(sets, o)) {
    double sum = 0;
    for (size_t n : h.counts) sum += double(n) / double(h.total());
    CHECK(sum == doctest::Approx(1.0));
  }
}
