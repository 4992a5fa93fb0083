// Segmentation metrics against brute force on small random volumes and against cases
// whose answer follows from geometry.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "experiments/metrics/seg_metrics.h"
#include "tests/experiments/error_text.h"

using namespace pn::experiments;

namespace {

std::vector<uint8_t> random_mask(const Grid3& g, double density, std::mt19937& rng) {
  std::bernoulli_distribution b(density);
  std::vector<uint8_t> m(static_cast<size_t>(g.voxels()));
  for (auto& x : m) x = b(rng);
  return m;
}

std::array<int64_t, 3> coords(const Grid3& g, int64_t i) {
  return {i / (g.dims[1] * g.dims[2]), (i / g.dims[2]) % g.dims[1], i % g.dims[2]};
}

double sq_dist(const Grid3& g, int64_t i, int64_t j) {
  auto a = coords(g, i), b = coords(g, j);
  double s = 0;
  for (int k = 0; k < 3; ++k) s += std::pow(g.spacing[k] * double(a[k] - b[k]), 2);
  return s;
}

// Surface by definition: a foreground voxel with one of its 6 face neighbours outside the
// mask or outside the grid.
std::vector<uint8_t> brute_surface(const std::vector<uint8_t>& m, const Grid3& g) {
  std::vector<uint8_t> s(m.size(), 0);
  for (int64_t i = 0; i < g.voxels(); ++i) {
    if (!m[i]) continue;
    auto c = coords(g, i);
    for (int a = 0; a < 3; ++a)
      for (int d : {-1, 1}) {
        auto n = c;
        n[a] += d;
        if (n[a] < 0 || n[a] >= g.dims[a] || !m[(n[0] * g.dims[1] + n[1]) * g.dims[2] + n[2]]) s[i] = 1;
      }
  }
  return s;
}

// Pooled directed distances between surfaces, all pairs.
double brute_hausdorff(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b, const Grid3& g, double q) {
  auto sa = brute_surface(a, g), sb = brute_surface(b, g);
  std::vector<double> d;
  auto directed = [&](const std::vector<uint8_t>& from, const std::vector<uint8_t>& to) {
    for (int64_t i = 0; i < g.voxels(); ++i) {
      if (!from[i]) continue;
      double best = std::numeric_limits<double>::infinity();
      for (int64_t j = 0; j < g.voxels(); ++j)
        if (to[j]) best = std::min(best, sq_dist(g, i, j));
      d.push_back(std::sqrt(best));
    }
  };
  directed(sa, sb);
  directed(sb, sa);
  // numpy.percentile by its definition: rank q/100 (n-1), linear between neighbours.
  std::sort(d.begin(), d.end());
  double pos = q / 100.0 * double(d.size() - 1);
  size_t lo = size_t(pos);
  return lo + 1 < d.size() ? d[lo] + (pos - double(lo)) * (d[lo + 1] - d[lo]) : d[lo];
}

std::vector<uint8_t> sphere(const Grid3& g, double cz, double cy, double cx, double r) {
  std::vector<uint8_t> m(static_cast<size_t>(g.voxels()), 0);
  for (int64_t i = 0; i < g.voxels(); ++i) {
    auto c = coords(g, i);
    m[i] = std::pow(c[0] - cz, 2) + std::pow(c[1] - cy, 2) + std::pow(c[2] - cx, 2) <= r * r;
  }
  return m;
}

std::vector<uint8_t> box(const Grid3& g, std::array<int64_t, 3> lo, std::array<int64_t, 3> hi) {
  std::vector<uint8_t> m(static_cast<size_t>(g.voxels()), 0);
  for (int64_t i = 0; i < g.voxels(); ++i) {
    auto c = coords(g, i);
    bool in = true;
    for (int a = 0; a < 3; ++a) in &= c[a] >= lo[a] && c[a] <= hi[a];
    m[i] = in;
  }
  return m;
}

}  // namespace

TEST_CASE("distance transform equals brute force, anisotropic spacing") {
  std::mt19937 rng(5);
  for (double density : {0.02, 0.1, 0.5}) {
    Grid3 g{{5, 7, 9}, {3.6, 2.0, 1.3}};
    auto f = random_mask(g, density, rng);
    f[17] = 1;
    auto d = squared_distance_transform(f.data(), g);
    for (int64_t i = 0; i < g.voxels(); ++i) {
      double best = std::numeric_limits<double>::infinity();
      for (int64_t j = 0; j < g.voxels(); ++j)
        if (f[j]) best = std::min(best, sq_dist(g, i, j));
      REQUIRE(d[i] == doctest::Approx(best).epsilon(1e-12));
    }
  }
  Grid3 g{{3, 4, 5}, {1, 1, 1}};
  std::vector<uint8_t> none(60, 0);
  for (double v : squared_distance_transform(none.data(), g)) CHECK(std::isinf(v));
  CHECK_ERROR_HAS(squared_distance_transform(none.data(), Grid3{{3, 4, 5}, {1, 0, 1}}), "spacing must be > 0");
}

TEST_CASE("surface voxels match the definition") {
  std::mt19937 rng(7);
  Grid3 g{{6, 5, 7}, {1, 1, 1}};
  for (double density : {0.3, 0.8, 1.0}) {
    auto m = random_mask(g, density, rng);
    CHECK(surface_voxels(m.data(), g) == brute_surface(m, g));
  }
  // A 3x3x3 cube away from the border: all but its centre voxel are surface.
  auto c = box(g, {1, 1, 1}, {3, 3, 3});
  auto s = surface_voxels(c.data(), g);
  CHECK(std::count(s.begin(), s.end(), 1) == 26);
}

TEST_CASE("Hausdorff distance equals brute force on random masks") {
  std::mt19937 rng(11);
  Grid3 g{{4, 6, 7}, {3.6, 2.0, 2.0}};
  for (int trial = 0; trial < 6; ++trial) {
    auto a = random_mask(g, 0.15 + 0.1 * trial, rng), b = random_mask(g, 0.3, rng);
    for (double q : {0.0, 50.0, 95.0, 100.0})
      CHECK(hausdorff_distance(a.data(), b.data(), g, q) == doctest::Approx(brute_hausdorff(a, b, g, q)).epsilon(1e-12));
  }
}

TEST_CASE("Hausdorff distance of known shapes") {
  Grid3 g{{24, 24, 24}, {1.5, 2.0, 2.5}};
  auto a = sphere(g, 11, 11, 11, 5);
  CHECK(hausdorff_distance(a.data(), a.data(), g, 95) == 0.0);
  // Any shape moved by k voxels along one axis: the classic (100th percentile) distance is
  // k spacings: every point has its moved copy k away, and the extreme point has nothing nearer.
  for (int axis = 0; axis < 3; ++axis)
    for (int k : {1, 3}) {
      double c[3] = {11, 11, 11};
      c[axis] += k;
      auto b = sphere(g, c[0], c[1], c[2], 5);
      double hd = hausdorff_distance(a.data(), b.data(), g, 100);
      CHECK(hd == doctest::Approx(k * g.spacing[axis]));
      CHECK(hausdorff_distance(a.data(), b.data(), g, 95) <= hd);
      CHECK(hausdorff_distance(b.data(), a.data(), g, 100) == doctest::Approx(hd));  // symmetric
    }
  // Two single voxels: their distance at every percentile.
  Grid3 s{{5, 5, 5}, {3.0, 2.0, 1.0}};
  std::vector<uint8_t> p(125, 0), q(125, 0);
  p[(1 * 5 + 1) * 5 + 1] = 1;
  q[(3 * 5 + 4) * 5 + 2] = 1;
  CHECK(hausdorff_distance(p.data(), q.data(), s, 95) == doctest::Approx(std::sqrt(36.0 + 36.0 + 1.0)));
  // A cube and the cube grown by k on every side (isotropic): every distance from the
  // inner surface is k, the outer faces are k away, its edges sqrt(2) k, its corners
  // sqrt(3) k. Faces outnumber edges and corners, so the median is k.
  Grid3 iso{{20, 20, 20}, {1, 1, 1}};
  auto inner = box(iso, {7, 7, 7}, {12, 12, 12}), outer = box(iso, {5, 5, 5}, {14, 14, 14});
  CHECK(hausdorff_distance(inner.data(), outer.data(), iso, 100) == doctest::Approx(2 * std::sqrt(3.0)));
  CHECK(hausdorff_distance(inner.data(), outer.data(), iso, 50) == doctest::Approx(2.0));
  CHECK(hausdorff_distance(inner.data(), outer.data(), iso, 0) == doctest::Approx(2.0));
}

TEST_CASE("overlap scores and volumes of known masks") {
  Grid3 g{{1, 2, 4}, {3.6, 2.0, 2.0}};  // voxel = 14.4 mm^3
  const uint8_t pred[8] = {1, 1, 1, 1, 0, 0, 0, 0};
  const uint8_t truth[8] = {0, 0, 1, 1, 1, 1, 1, 1};
  Confusion c = confusion(pred, truth, 8);
  CHECK(c.tp == 2);
  CHECK(c.fp == 2);
  CHECK(c.fn == 4);
  CHECK(c.tn == 0);
  CHECK(hard_dice(c) == doctest::Approx(4.0 / 10.0));
  CHECK(precision(c) == doctest::Approx(0.5));
  CHECK(recall(c) == doctest::Approx(2.0 / 6.0));
  CHECK(absolute_volume_difference_ml(c, g) == doctest::Approx(2 * 0.0144));
  CHECK(false_positive_volume_ml(c, g) == doctest::Approx(2 * 0.0144));
  // Soft Dice: probability 0.5 everywhere: 2 (0.5 * 6) / (0.5 * 8 + 6).
  std::vector<float> half(8, 0.5f), exact(truth, truth + 8);
  CHECK(soft_dice(half.data(), truth, 8) == doctest::Approx(6.0 / 10.0));
  CHECK(soft_dice(exact.data(), truth, 8) == doctest::Approx(1.0));
  // Random masks: the scores against their definitions.
  std::mt19937 rng(3);
  Grid3 r{{4, 5, 6}, {1, 1, 1}};
  auto a = random_mask(r, 0.4, rng), b = random_mask(r, 0.3, rng);
  double inter = 0, sa = 0, sb = 0;
  for (int64_t i = 0; i < r.voxels(); ++i) inter += a[i] && b[i], sa += a[i], sb += b[i];
  Confusion cr = confusion(a.data(), b.data(), r.voxels());
  CHECK(hard_dice(cr) == doctest::Approx(2 * inter / (sa + sb)));
  CHECK(precision(cr) == doctest::Approx(inter / sa));
  CHECK(recall(cr) == doctest::Approx(inter / sb));
}

TEST_CASE("empty prediction or truth") {
  Grid3 g{{3, 3, 3}, {2, 2, 2}};
  std::vector<uint8_t> empty(27, 0), one(27, 0);
  one[13] = 1;
  Confusion both = confusion(empty.data(), empty.data(), 27);
  CHECK(hard_dice(both) == 1.0);
  CHECK(precision(both) == 1.0);
  CHECK(recall(both) == 1.0);
  CHECK(hausdorff_distance(empty.data(), empty.data(), g) == 0.0);
  Confusion missed = confusion(empty.data(), one.data(), 27);  // nothing predicted
  CHECK(hard_dice(missed) == 0.0);
  CHECK(precision(missed) == 0.0);
  CHECK(recall(missed) == 0.0);
  CHECK(std::isinf(hausdorff_distance(empty.data(), one.data(), g)));
  Confusion false_alarm = confusion(one.data(), empty.data(), 27);  // nothing to find
  CHECK(hard_dice(false_alarm) == 0.0);
  CHECK(precision(false_alarm) == 0.0);
  CHECK(recall(false_alarm) == 0.0);
  CHECK(std::isinf(hausdorff_distance(one.data(), empty.data(), g)));
  CHECK(false_positive_volume_ml(false_alarm, g) == doctest::Approx(0.008));
  std::vector<float> zero(27, 0.f);
  CHECK(soft_dice(zero.data(), empty.data(), 27) == 1.0);
  CHECK(soft_dice(zero.data(), one.data(), 27) == 0.0);
}

TEST_CASE("evaluate_case: lesion-positive and lesion-free volumes") {
  Grid3 g{{16, 16, 16}, {2, 2, 2}};
  auto truth = sphere(g, 8, 8, 8, 4), shifted = sphere(g, 8, 8, 9, 4);
  std::vector<float> prob(shifted.size());
  for (size_t i = 0; i < prob.size(); ++i) prob[i] = shifted[i] ? 0.9f : 0.1f;
  CaseMetrics m = evaluate_case(prob.data(), truth.data(), g, 0.5);
  Confusion c = confusion(shifted.data(), truth.data(), g.voxels());
  CHECK(m.lesion_positive);
  CHECK(m.hard_dice == doctest::Approx(hard_dice(c)));
  CHECK(m.precision == doctest::Approx(precision(c)));
  CHECK(m.recall == doctest::Approx(recall(c)));
  CHECK(m.soft_dice == doctest::Approx(soft_dice(prob.data(), truth.data(), g.voxels())));
  CHECK(m.hd95_mm == doctest::Approx(hausdorff_distance(shifted.data(), truth.data(), g, 95)));
  CHECK(m.hd95_mm <= 2.0);
  CHECK(m.avd_ml == doctest::Approx(0.0));  // same shape, moved
  CHECK(m.truth_ml == doctest::Approx(double(c.tp + c.fn) * 0.008));

  std::vector<uint8_t> none(truth.size(), 0);
  CaseMetrics f = evaluate_case(prob.data(), none.data(), g, 0.5);
  CHECK_FALSE(f.lesion_positive);
  CHECK(std::isnan(f.hard_dice));
  CHECK(std::isnan(f.hd95_mm));
  CHECK(f.fp_volume_ml == doctest::Approx(double(std::count(shifted.begin(), shifted.end(), 1)) * 0.008));
}

TEST_CASE("percentile matches numpy's linear rule") {
  // numpy.percentile([1, 2, 3, 4, 10], q) for q = 0, 50, 95, 100: 1, 3, 8.8, 10.
  CHECK(percentile_linear({10, 3, 1, 4, 2}, 0) == 1);
  CHECK(percentile_linear({10, 3, 1, 4, 2}, 50) == 3);
  CHECK(percentile_linear({10, 3, 1, 4, 2}, 95) == doctest::Approx(8.8));
  CHECK(percentile_linear({10, 3, 1, 4, 2}, 100) == 10);
  CHECK_ERROR_HAS(percentile_linear({}, 50), "no values");
}
