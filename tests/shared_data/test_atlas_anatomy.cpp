// The ICBM152-derived anatomy and the atlas subjects on the real template: class volumes
// plausible and left/right symmetric, the MNI study grid centred where documented and
// holding the brain (and the SOOP lesion incidence), determinism, volumes kept by the
// deformation, real-style lesions in tissue and bright, and a skull-stripped image.
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>

#include "data/atlas_subject.h"
#include "data/label_scheme.h"
#include "data/mni_grid.h"
#include "data/nifti_io.h"
#include "data/shared_data.h"

using namespace pn::data;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::shared_ptr<const AtlasAnatomy> atlas() {
  const auto t0 = std::chrono::steady_clock::now();
  auto a = shared_icbm152_anatomy();
  REQUIRE(a);
  MESSAGE("ICBM152 anatomy ready in ", seconds_since(t0), " s (loaded once per process, then cached)");
  return a;
}

bool is_grey(int l) {
  if (l < cls::kLeft || l >= cls::kThirdVentricle) return false;
  const int s = (l - cls::kLeft) % cls::kPerSide;
  return s != cls::kWM && s != cls::kCblmWM && s != cls::kLatVent;
}
bool is_white(int l) {
  if (l == cls::kBrainStem) return true;
  if (l < cls::kLeft || l >= cls::kThirdVentricle) return false;
  const int s = (l - cls::kLeft) % cls::kPerSide;
  return s == cls::kWM || s == cls::kCblmWM;
}

// Grey, white, CSF (inside the brain mask) volumes in ml.
std::array<double, 3> tissue_ml(const LabelVolume& labels, const LabelVolume* brain) {
  std::array<double, 3> ml{};
  for (int64_t i = 0; i < labels.numel(); ++i) {
    const int l = labels.data[i];
    if (is_grey(l)) ml[0] += 1;
    else if (is_white(l)) ml[1] += 1;
    else if (brain && brain->data[i] && is_csf(l)) ml[2] += 1;
  }
  for (double& v : ml) v *= labels.voxel_volume_ml();
  return ml;
}

PoseRanges no_pose() {
  PoseRanges r;
  r.yaw_deg = r.pitch_deg = 0;
  r.scale_lo = r.scale_hi = 1;
  r.shift_mm = {0, 0, 0};
  return r;
}

}  // namespace

TEST_CASE("atlas anatomy: class volumes plausible, left and right within 3 %") {
  const auto a = atlas();
  const auto ml = class_volumes_ml(a->labels);
  double brain_ml = 0;
  for (const int32_t b : a->brain.data) brain_ml += b;
  brain_ml *= a->brain.voxel_volume_ml();
  const auto t = tissue_ml(a->labels, &a->brain);
  MESSAGE("brain mask ", brain_ml, " ml: grey ", t[0], ", white ", t[1], " (incl. brain stem), CSF ", t[2]);
  for (int c = 0; c < cls::kNumClasses; ++c) MESSAGE(class_name(c), ": ", ml[c], " ml");
  const double parenchyma = t[0] + t[1];
  // MNI space is some 10-15 % larger than an average brain; the template's parenchyma
  // (argmax tissue) comes out near the top of the adult range.
  CHECK(parenchyma > 1200);
  CHECK(parenchyma < 1800);
  CHECK(t[0] / t[1] > 1.0);  // adult GM/WM ~ 1.1-1.5
  CHECK(t[0] / t[1] < 1.8);
  CHECK(t[2] > 80);
  CHECK(t[2] < 450);
  for (int s = 0; s < cls::kPerSide; ++s) {
    const double l = ml[cls::left(cls::Side(s))], r = ml[cls::right(cls::Side(s))];
    CAPTURE(class_name(cls::left(cls::Side(s))));
    if (s == cls::kPallidum || s == cls::kHippocampus || s == cls::kAmygdala || s == cls::kVentralDC) {
      CHECK(l == 0);  // left out: not separable from these maps with boxes
      continue;
    }
    CHECK(l > 0.3);
    CHECK(std::abs(l - r) <= 0.03 * std::max(l, r));
  }
  // Sizes against adult norms (generous: a template, argmax tissue classes, boxes).
  auto both = [&](cls::Side s) { return ml[cls::left(s)] + ml[cls::right(s)]; };
  CHECK(both(cls::kLatVent) > 5);
  CHECK(both(cls::kLatVent) < 60);
  CHECK(both(cls::kThalamus) > 6);
  CHECK(both(cls::kThalamus) < 25);
  CHECK(both(cls::kCaudate) > 3);
  CHECK(both(cls::kCaudate) < 15);
  CHECK(both(cls::kPutamen) > 4);
  CHECK(both(cls::kPutamen) < 18);
  CHECK(both(cls::kCblmCortex) + both(cls::kCblmWM) > 90);
  CHECK(both(cls::kCblmCortex) + both(cls::kCblmWM) < 180);
  CHECK(ml[cls::kBrainStem] > 10);
  CHECK(ml[cls::kBrainStem] < 45);
  CHECK(ml[cls::kThirdVentricle] > 0.2);
  CHECK(ml[cls::kFourthVentricle] > 0.2);
}

TEST_CASE("study grid: centred at the documented MNI point, holding the supratentorial brain and the SOOP lesions") {
  const Grid g = mni_study_grid({128, 128, 32}, {2, 2, 3.6});
  const auto c = mat4_apply(g.affine, {63.5, 63.5, 15.5});
  for (int a = 0; a < 3; ++a) CHECK(c[a] == doctest::Approx(kStudyCentreMni[a]));
  CHECK(mat4_apply(g.affine, {1, 0, 0})[0] < mat4_apply(g.affine, {0, 0, 0})[0]);  // LAS: i towards the left
  const Mat4 to_grid = mat4_inverse(g.affine);
  auto in_grid = [&](const Grid& src, int64_t i, int64_t j, int64_t k) {
    const auto v = mat4_apply(to_grid, mat4_apply(src.affine, {double(i), double(j), double(k)}));
    for (int a = 0; a < 3; ++a)
      if (v[a] < -0.5 || v[a] > g.dims[a] - 0.5) return false;
    return true;
  };
  const auto a = atlas();
  double all = 0, all_in = 0, supra = 0, supra_in = 0;
  double y_lo = 1e9, y_hi = -1e9;
  for (int64_t k = 0; k < a->brain.dims[2]; ++k)
    for (int64_t j = 0; j < a->brain.dims[1]; ++j)
      for (int64_t i = 0; i < a->brain.dims[0]; ++i) {
        const int l = a->labels.at(i, j, k);
        if (!is_grey(l) && !is_white(l)) continue;
        const bool in = in_grid(a->labels, i, j, k);
        const double y = mat4_apply(a->labels.affine, {double(i), double(j), double(k)})[1];
        y_lo = std::min(y_lo, y);
        y_hi = std::max(y_hi, y);
        all += 1;
        all_in += in;
        const int s = (l - cls::kLeft) % cls::kPerSide;
        const bool infra = l == cls::kBrainStem || (l < cls::kThirdVentricle && (s == cls::kCblmWM || s == cls::kCblmCortex));
        if (!infra) { supra += 1; supra_in += in; }
      }
  MESSAGE("brain tissue inside the study grid: ", all_in / all, " (supratentorial ", supra_in / supra,
          "); brain y extent ", y_lo, " .. ", y_hi, " mm");
  CHECK(supra_in / supra > 0.97);
  CHECK(all_in / all > 0.85);
  CHECK((y_lo + y_hi) / 2 == doctest::Approx(kStudyCentreMni[1]).epsilon(0.2));
  // The SOOP lesion incidence map (sum over 1,449 patients) lies inside the grid.
  const auto mean_path = shared_data_path("soop/lesion_mean_1449.nii.gz");
  REQUIRE(mean_path);
  const Volume inc = read_nifti(*mean_path);
  double total = 0, inside = 0;
  for (int64_t k = 0; k < inc.dims[2]; ++k)
    for (int64_t j = 0; j < inc.dims[1]; ++j)
      for (int64_t i = 0; i < inc.dims[0]; ++i) {
        const double v = inc.at(i, j, k);
        if (!(v > 0)) continue;
        total += v;
        inside += in_grid(inc, i, j, k) ? v : 0;
      }
  MESSAGE("SOOP lesion incidence inside the study grid: ", inside / total);
  CHECK(inside / total > 0.95);
}

TEST_CASE("atlas subjects: deterministic, deformation keeps tissue volumes, zero outside the brain") {
  const auto a = atlas();
  PhantomOptions opt;
  const auto s1 = make_atlas_subject(*a, opt, 7, false), s2 = make_atlas_subject(*a, opt, 7, false);
  const auto s3 = make_atlas_subject(*a, opt, 8, false);
  CHECK(s1.image.data == s2.image.data);
  CHECK(s1.labels.data == s2.labels.data);
  CHECK(s1.labels.data != s3.labels.data);
  CHECK(s1.image.data != s3.image.data);
  // Deformation alone (no pose): grey and white volumes on the grid within 5 % of the
  // undeformed template's (the field is smooth, +-4 mm over ~45 mm: |det J - 1| is small).
  PhantomOptions flat = opt;
  flat.deformation_mm = 0;
  const auto ref = make_atlas_subject(*a, flat, 7, false, nullptr, no_pose());
  const auto def = make_atlas_subject(*a, opt, 7, false, nullptr, no_pose());
  const auto tr = tissue_ml(ref.labels, nullptr), td = tissue_ml(def.labels, nullptr);
  MESSAGE("grey/white on the grid: template ", tr[0], "/", tr[1], " ml, deformed ", td[0], "/", td[1], " ml");
  CHECK(td[0] == doctest::Approx(tr[0]).epsilon(0.05));
  CHECK(td[1] == doctest::Approx(tr[1]).epsilon(0.05));
  // Skull-stripped: with no pose and no deformation each voxel reads one template voxel;
  // where that is outside the brain mask the image is exactly zero, inside positive.
  const Mat4 to_atlas = mat4_inverse(a->brain.affine);
  int64_t bad = 0, inside = 0;
  for (int64_t k = 0; k < ref.image.dims[2]; ++k)
    for (int64_t j = 0; j < ref.image.dims[1]; ++j)
      for (int64_t i = 0; i < ref.image.dims[0]; ++i) {
        const auto v = mat4_apply(to_atlas, mat4_apply(ref.image.affine, {double(i), double(j), double(k)}));
        const int64_t ti = std::lround(v[0]), tj = std::lround(v[1]), tk = std::lround(v[2]);
        const bool in = a->brain.inside(ti, tj, tk) && a->brain.at(ti, tj, tk);
        inside += in;
        bad += in ? !(ref.image.at(i, j, k) > 0) : ref.image.at(i, j, k) != 0;
      }
  CHECK(inside > 100000);
  CHECK(bad == 0);
}

TEST_CASE("atlas subjects: a given lesion stays in place, only in tissue, brighter than white matter") {
  const auto a = atlas();
  PhantomOptions opt;
  const Grid g = atlas_subject_grid(opt);
  // A 12 mm ball in the left corona radiata / insula region (MCA territory), as a real
  // MNI-space mask would be; partly in grey matter and near the ventricle.
  LabelVolume ball = LabelVolume::zeros_on(g);
  const Mat4 to_grid = mat4_inverse(g.affine);
  const auto c = mat4_apply(to_grid, {-28, -8, 22});
  int64_t n_ball = 0;
  for (int64_t k = 0; k < g.dims[2]; ++k)
    for (int64_t j = 0; j < g.dims[1]; ++j)
      for (int64_t i = 0; i < g.dims[0]; ++i) {
        const double dx = (i - c[0]) * 2, dy = (j - c[1]) * 2, dz = (k - c[2]) * 3.6;
        if (dx * dx + dy * dy + dz * dz < 144) { ball.at(i, j, k) = 1; ++n_ball; }
      }
  const auto s = make_atlas_subject(*a, opt, 21, true, &ball);
  const auto twin = make_atlas_subject(*a, opt, 21, false);  // same anatomy, no lesion
  CHECK(s.lesion_count == 1);
  int64_t n = 0, off_ball = 0, off_tissue = 0, wm_n = 0;
  double les = 0, wm = 0;
  for (int64_t i = 0; i < s.mask.numel(); ++i) {
    if (s.mask.data[i]) {
      ++n;
      off_ball += ball.data[i] == 0;
      off_tissue += !is_brain_tissue(twin.labels.data[i]);
      les += s.image.data[i];
    } else if (s.labels.data[i] == cls::left(cls::kWM) || s.labels.data[i] == cls::right(cls::kWM)) {
      ++wm_n;
      wm += s.image.data[i];
    }
  }
  MESSAGE("lesion ", n, " of ", n_ball, " ball voxels in tissue; lesion/WM intensity ", (les / n) / (wm / wm_n));
  CHECK(n > 0.5 * n_ball);
  CHECK(off_ball == 0);
  CHECK(off_tissue == 0);
  CHECK(les / n > 1.3 * wm / wm_n);
}

TEST_CASE("atlas subjects: time per subject") {
  const auto a = atlas();
  for (const Dims3 size : {Dims3{128, 128, 32}, Dims3{32, 32, 16}}) {
    PhantomOptions opt;
    opt.size = size;
    const std::string label = grid_string(atlas_subject_grid(opt));
    const auto t0 = std::chrono::steady_clock::now();
    const int reps = 3;
    for (int r = 0; r < reps; ++r) CHECK(make_atlas_subject(*a, opt, 100 + r, true).lesion_count >= 1);
    MESSAGE("atlas subject ", label, ": ", seconds_since(t0) / reps, " s");
  }
}
