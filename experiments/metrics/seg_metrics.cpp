#include "experiments/metrics/seg_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "autograd/error.h"

namespace pn::experiments {

namespace {
// a / b, with 0/0 = 1 when both masks are empty and 0 otherwise (see the header).
double ratio(double a, double b, bool both_empty) { return b > 0 ? a / b : (both_empty ? 1.0 : 0.0); }
bool both_empty(const Confusion& c) { return c.tp + c.fp + c.fn == 0; }
}  // namespace

Confusion confusion(const uint8_t* pred, const uint8_t* truth, int64_t n) {
  Confusion c;
  for (int64_t i = 0; i < n; ++i) {
    const bool p = pred[i] != 0, t = truth[i] != 0;
    c.tp += p && t, c.fp += p && !t, c.fn += !p && t, c.tn += !p && !t;
  }
  return c;
}

double soft_dice(const float* prob, const uint8_t* truth, int64_t n) {
  double inter = 0, ps = 0, ts = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double t = truth[i] ? 1.0 : 0.0;
    inter += prob[i] * t, ps += prob[i], ts += t;
  }
  return ratio(2 * inter, ps + ts, ps + ts == 0);
}

double hard_dice(const Confusion& c) { return ratio(2.0 * double(c.tp), double(2 * c.tp + c.fp + c.fn), both_empty(c)); }
double precision(const Confusion& c) { return ratio(double(c.tp), double(c.tp + c.fp), both_empty(c)); }
double recall(const Confusion& c) { return ratio(double(c.tp), double(c.tp + c.fn), both_empty(c)); }

double absolute_volume_difference_ml(const Confusion& c, const Grid3& g) {
  return std::abs(double(c.tp + c.fp) - double(c.tp + c.fn)) * g.voxel_ml();
}

double false_positive_volume_ml(const Confusion& c, const Grid3& g) { return double(c.fp) * g.voxel_ml(); }

std::vector<uint8_t> threshold_mask(const float* prob, int64_t n, double threshold) {
  std::vector<uint8_t> m(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) m[i] = prob[i] > threshold ? 1 : 0;
  return m;
}

std::vector<uint8_t> surface_voxels(const uint8_t* mask, const Grid3& g) {
  const int64_t D = g.dims[0], H = g.dims[1], W = g.dims[2];
  std::vector<uint8_t> s(static_cast<size_t>(g.voxels()), 0);
  for (int64_t z = 0; z < D; ++z)
    for (int64_t y = 0; y < H; ++y)
      for (int64_t x = 0; x < W; ++x) {
        const int64_t i = (z * H + y) * W + x;
        if (!mask[i]) continue;
        const bool edge = z == 0 || z == D - 1 || y == 0 || y == H - 1 || x == 0 || x == W - 1;
        s[i] = edge || !mask[i - H * W] || !mask[i + H * W] || !mask[i - W] || !mask[i + W] || !mask[i - 1] || !mask[i + 1];
      }
  return s;
}

double percentile_linear(std::vector<double> v, double q) {
  PN_CHECK(!v.empty(), "percentile of no values");
  PN_CHECK(q >= 0 && q <= 100, "percentile {} outside [0, 100]", q);
  std::sort(v.begin(), v.end());
  const double pos = q / 100.0 * double(v.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos)), hi = std::min(lo + 1, v.size() - 1);
  const double frac = pos - double(lo);
  if (frac == 0) return v[lo];  // also keeps inf - inf out of the interpolation
  return v[lo] + frac * (v[hi] - v[lo]);
}

double hausdorff_distance(const uint8_t* a, const uint8_t* b, const Grid3& g, double percentile) {
  std::vector<uint8_t> sa = surface_voxels(a, g), sb = surface_voxels(b, g);
  const bool ea = std::none_of(sa.begin(), sa.end(), [](uint8_t x) { return x; });
  const bool eb = std::none_of(sb.begin(), sb.end(), [](uint8_t x) { return x; });
  if (ea && eb) return 0.0;
  if (ea || eb) return std::numeric_limits<double>::infinity();
  std::vector<double> da = squared_distance_transform(sa.data(), g), db = squared_distance_transform(sb.data(), g);
  std::vector<double> dist;
  for (int64_t i = 0; i < g.voxels(); ++i) {
    if (sa[i]) dist.push_back(std::sqrt(db[i]));  // a's surface -> nearest of b's
    if (sb[i]) dist.push_back(std::sqrt(da[i]));
  }
  return percentile_linear(std::move(dist), percentile);
}

CaseMetrics evaluate_case(const float* prob, const uint8_t* truth, const Grid3& g, double threshold) {
  const int64_t n = g.voxels();
  std::vector<uint8_t> pred = threshold_mask(prob, n, threshold);
  Confusion c = confusion(pred.data(), truth, n);
  CaseMetrics m;
  m.lesion_positive = c.tp + c.fn > 0;
  m.truth_ml = double(c.tp + c.fn) * g.voxel_ml();
  m.pred_ml = double(c.tp + c.fp) * g.voxel_ml();
  m.avd_ml = absolute_volume_difference_ml(c, g);
  m.fp_volume_ml = false_positive_volume_ml(c, g);
  if (m.lesion_positive) {
    m.soft_dice = soft_dice(prob, truth, n);
    m.hard_dice = hard_dice(c);
    m.precision = precision(c);
    m.recall = recall(c);
    m.hd95_mm = hausdorff_distance(pred.data(), truth, g, 95.0);
  } else {
    m.soft_dice = m.hard_dice = m.precision = m.recall = m.hd95_mm = std::numeric_limits<double>::quiet_NaN();
  }
  return m;
}

}  // namespace pn::experiments
