// Preprocessing: crop/pad, slice range, resampling (linear and nearest), the paper's
// intensity normalisation, one-hot encoding, lesion insertion.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "autograd/error.h"
#include "data/intensity.h"
#include "data/label_scheme.h"
#include "data/lesion_insertion.h"
#include "data/phantom.h"
#include "data/resample.h"
#include "data/tensor_bridge.h"

using namespace pn::data;

namespace {
// f(i, j, k) = a linear function of the voxel's world position.
Volume world_ramp(const Dims3& dims, const Vec3& spacing) {
  Volume v = Volume::zeros(dims, spacing);
  for (int64_t k = 0; k < dims[2]; ++k)
    for (int64_t j = 0; j < dims[1]; ++j)
      for (int64_t i = 0; i < dims[0]; ++i) {
        const auto w = mat4_apply(v.affine, {double(i), double(j), double(k)});
        v.at(i, j, k) = static_cast<float>(0.5 * w[0] - 0.25 * w[1] + w[2] + 3);
      }
  return v;
}
double ramp_at(const Volume& v, int64_t i, int64_t j, int64_t k) {
  const auto w = mat4_apply(v.affine, {double(i), double(j), double(k)});
  return 0.5 * w[0] - 0.25 * w[1] + w[2] + 3;
}
}  // namespace

TEST_CASE("crop/pad keeps every voxel at its world position") {
  const Volume v = world_ramp({10, 7, 5}, {2, 2, 3.6});
  const Volume p = crop_or_pad(v, {14, 6, 8});
  CHECK(p.dims == Dims3{14, 6, 8});
  int64_t inside = 0;
  for (int64_t k = 0; k < 8; ++k)
    for (int64_t j = 0; j < 6; ++j)
      for (int64_t i = 0; i < 14; ++i) {
        // Padded voxels are 0; the rest equal the ramp at their (moved) world position.
        const auto w = mat4_apply(mat4_inverse(v.affine), mat4_apply(p.affine, {double(i), double(j), double(k)}));
        const bool in = v.inside(std::llround(w[0]), std::llround(w[1]), std::llround(w[2]));
        inside += in;
        if (in) CHECK(p.at(i, j, k) == doctest::Approx(ramp_at(p, i, j, k)).epsilon(1e-5));
        else CHECK(p.at(i, j, k) == 0);
      }
  CHECK(inside == 10 * 6 * 5);
  // Pad then crop back: the original.
  const Volume back = crop_or_pad(crop_or_pad(v, {16, 11, 9}), v.dims);
  CHECK(back.data == v.data);
  CHECK(mat4_max_diff(back.affine, v.affine) < 1e-9);
  LabelVolume l = LabelVolume::zeros(v.grid().dims, v.spacing);
  for (int64_t i = 0; i < l.numel(); ++i) l.data[i] = static_cast<int32_t>(i % 5);
  const LabelVolume lb = crop_or_pad(crop_or_pad(l, {4, 4, 4}, 9), l.dims, 9);
  CHECK(lb.at(5, 3, 2) == l.at(5, 3, 2));
  CHECK(lb.at(0, 0, 0) == 9);  // cropped away, padded back with the fill
}

TEST_CASE("slice range keeps slices and moves the grid") {
  const Volume v = world_ramp({4, 4, 10}, {2, 2, 3.6});
  const Volume s = slice_range(v, 3, 7);
  REQUIRE(s.dims == Dims3{4, 4, 4});
  for (int64_t k = 0; k < 4; ++k) CHECK(s.at(1, 2, k) == v.at(1, 2, k + 3));
  CHECK(mat4_apply(s.affine, {0, 0, 0})[2] == doctest::Approx(mat4_apply(v.affine, {0, 0, 3})[2]));
  CHECK_THROWS_AS(slice_range(v, 5, 11), pn::Error);
}

TEST_CASE("resample to spacing: linear is exact on a ramp, nearest keeps labels") {
  const Volume v = world_ramp({20, 16, 8}, {1, 1.5, 3});
  const Volume r = resample_to_spacing(v, {2, 2, 2});
  CHECK(r.dims == Dims3{10, 12, 12});
  CHECK(r.spacing[0] == doctest::Approx(2));
  CHECK(r.spacing[2] == doctest::Approx(2));
  // Inside the original's voxel centres trilinear interpolation of a linear field is exact.
  double err = 0;
  for (int64_t k = 2; k < 10; ++k)
    for (int64_t j = 1; j < 11; ++j)
      for (int64_t i = 1; i < 9; ++i) err = std::max(err, std::abs(r.at(i, j, k) - ramp_at(r, i, j, k)));
  CHECK(err < 1e-4);
  // The field of view stays: the outer voxel edges coincide.
  const auto e0 = mat4_apply(v.affine, {-0.5, -0.5, -0.5}), e1 = mat4_apply(r.affine, {-0.5, -0.5, -0.5});
  for (int a = 0; a < 3; ++a) CHECK(e0[a] == doctest::Approx(e1[a]));
  // Same spacing: identity.
  CHECK(resample_to_spacing(v, v.spacing).data == v.data);
  LabelVolume l = LabelVolume::zeros({20, 16, 8}, {1, 1.5, 3});
  for (int64_t i = 0; i < l.numel(); ++i) l.data[i] = (i / 7) % 3 == 0 ? 4 : (i % 11 == 0 ? 2 : 0);
  const LabelVolume lr = resample_to_spacing(l, {0.5, 3, 2});
  std::set<int32_t> vals(lr.data.begin(), lr.data.end());
  CHECK(vals == std::set<int32_t>{0, 2, 4});
}

TEST_CASE("paper normalisation: clip at 0 and p99.5, z-score, rescale to [-1, 1]") {
  Volume v = Volume::zeros({10, 10, 10});
  for (int64_t i = 0; i < 1000; ++i) v.data[i] = static_cast<float>(i) - 50.f;  // -50 .. 949
  v.data[7] = 1e6f;  // an outlier the clip removes
  const double p = percentile(v.data, 99.5);
  // Sorted: -50..-44, -42..949, 1e6; position 0.995 * 999 = 994.005 lies between 945 and 946.
  CHECK(p == doctest::Approx(945.005).epsilon(1e-7));
  Volume n = v;
  normalise(n, Normalisation::Paper);
  const auto [lo, hi] = std::minmax_element(n.data.begin(), n.data.end());
  CHECK(*lo == doctest::Approx(-1));
  CHECK(*hi == doctest::Approx(1));
  // Expected by hand: clip to [0, p], then affine map [0, p] -> [-1, 1].
  for (int64_t i : {0, 7, 50, 300, 998})
    CHECK(n.data[i] == doctest::Approx(2 * std::clamp<double>(v.data[i], 0, p) / p - 1).epsilon(1e-4));
  Volume z = v;
  normalise(z, Normalisation::ZScore);
  double mean = 0;
  for (float f : z.data) mean += f;
  CHECK(mean / 1000 == doctest::Approx(0).epsilon(1e-5));
  CHECK(parse_normalisation("minmax") == Normalisation::MinMax);
  CHECK_THROWS_AS(parse_normalisation("fancy"), pn::Error);
}

TEST_CASE("one-hot encoding and tensors") {
  LabelVolume l = LabelVolume::zeros({3, 2, 2});
  for (int64_t i = 0; i < l.numel(); ++i) l.data[i] = static_cast<int32_t>(i % 4);
  const pn::Tensor t = one_hot(l, 4);
  CHECK(t.shape() == pn::Shape{4, 2, 2, 3});
  const float* p = t.data<float>();
  for (int64_t i = 0; i < 12; ++i)
    for (int c = 0; c < 4; ++c) CHECK(p[c * 12 + i] == (l.data[i] == c ? 1.f : 0.f));
  CHECK_THROWS_WITH_AS(one_hot(l, 3), doctest::Contains("label 3"), pn::Error);
  Volume v = Volume::zeros({3, 2, 2});
  v.at(2, 1, 0) = 5;
  const pn::Tensor x = to_tensor(v);
  CHECK(x.shape() == pn::Shape{1, 2, 2, 3});
  CHECK(x.data<float>()[(0 * 2 + 1) * 3 + 2] == 5);  // [0, d=0, h=1, w=2]
  const pn::Tensor b = stack({x, x});
  CHECK(b.shape() == pn::Shape{2, 1, 2, 2, 3});
}

TEST_CASE("lesion insertion: lesion class only in brain tissue, seeded placement") {
  PhantomOptions o;
  o.size = {64, 64, 16};
  const auto healthy = make_phantom_subject(o, 1, false);
  const auto donor = make_phantom_subject(o, 2, true);
  for (auto mode : {LesionPlacement::Keep, LesionPlacement::RandomShift}) {
    CAPTURE(static_cast<int>(mode));
    const auto r = insert_lesion(healthy.labels, donor.mask, {mode, 0.9, 64}, 7);
    int64_t donor_n = 0, lesion_n = 0;
    for (int32_t m : donor.mask.data) donor_n += m;
    for (size_t i = 0; i < r.labels.data.size(); ++i) {
      if (r.labels.data[i] == cls::kLesion) {
        ++lesion_n;
        CHECK(is_brain_tissue(healthy.labels.data[i]));
        CHECK(r.mask.data[i] == 1);
      } else {
        CHECK(r.labels.data[i] == healthy.labels.data[i]);  // nothing else changed
      }
    }
    CHECK(lesion_n == r.inserted);
    CHECK(r.inserted + r.dropped == donor_n);
    CHECK(r.inserted > 0);
    if (mode == LesionPlacement::Keep) CHECK(r.shift == Dims3{0, 0, 0});
    const auto again = insert_lesion(healthy.labels, donor.mask, {mode, 0.9, 64}, 7);
    CHECK(again.labels.data == r.labels.data);
  }
  CHECK_THROWS_AS(insert_lesion(healthy.labels, LabelVolume::zeros({4, 4, 4}), {}, 1), pn::Error);
}
