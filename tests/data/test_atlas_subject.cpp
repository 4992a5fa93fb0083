// Atlas subjects and the shared subject machinery without the real template: a synthetic
// "template" (an ellipsoidal brain with a grey rim, white core and central CSF) stands in
// for ICBM152; the procedural phantom keeps its behaviour through the refactor; the
// database hands stroke subjects the masks of a lesion source.
#include <doctest/doctest.h>

#include <algorithm>

#include "data/atlas_subject.h"
#include "data/label_scheme.h"
#include "data/mni_grid.h"
#include "data/phantom_database.h"
#include "data_test_util.h"

using namespace pn::data;

namespace {

// 2 mm maps over MNI x -90..90, y -120..90, z -70..90: brain = ellipsoid (70, 95, 70) mm
// centred at (0, -15, 10); GM in its outer 6 mm, CSF where |x| in 4..16 near the centre.
AtlasAnatomy synthetic_atlas() {
  Grid g = Grid::centred({91, 106, 81}, {2, 2, 2});
  g.affine = mat4_scale_translate(2, 2, 2, -90, -120, -70);
  Volume t1 = Volume::zeros_on(g), gm = t1, wm = t1;
  for (int64_t k = 0; k < g.dims[2]; ++k)
    for (int64_t j = 0; j < g.dims[1]; ++j)
      for (int64_t i = 0; i < g.dims[0]; ++i) {
        const auto p = mat4_apply(g.affine, {double(i), double(j), double(k)});
        const double x = p[0] / 70, y = (p[1] + 15) / 95, z = (p[2] - 10) / 70;
        const double r = std::sqrt(x * x + y * y + z * z);
        if (r >= 1) continue;
        const int64_t idx = g.index(i, j, k);
        t1.data[idx] = 100;
        const bool ventricle = std::abs(p[0]) >= 4 && std::abs(p[0]) <= 16 && std::abs(p[1] + 5) < 20 && std::abs(p[2] - 15) < 8;
        if (ventricle) continue;  // gm = wm = 0: CSF
        (r > 1 - 6.0 / 70 ? gm : wm).data[idx] = 230;
      }
  return derive_atlas_anatomy(t1, gm, wm);
}

int64_t count(const LabelVolume& v, int32_t label) { return std::count(v.data.begin(), v.data.end(), label); }

}  // namespace

TEST_CASE("render refactor: an empty lesion mask changes nothing; masks are on the subject grid") {
  PhantomOptions opt;
  opt.size = {48, 48, 12};
  const auto a = make_phantom_subject(opt, 9, true);
  const LabelVolume empty = LabelVolume::zeros_on(phantom_grid(opt));
  const auto b = make_phantom_subject(opt, 9, true, &empty);
  CHECK(a.image.data == b.image.data);
  CHECK(a.labels.data == b.labels.data);
  CHECK(a.lesion_count == b.lesion_count);
  const LabelVolume wrong = LabelVolume::zeros({48, 48, 13});
  CHECK_THROWS(make_phantom_subject(opt, 9, true, &wrong));
}

TEST_CASE("atlas anatomy (synthetic maps): hemispheres, ventricles by flooding, cortex and white matter") {
  const AtlasAnatomy at = synthetic_atlas();
  const auto ml = class_volumes_ml(at.labels);
  CHECK(ml[cls::left(cls::kCortex)] > 0);
  CHECK(ml[cls::left(cls::kCortex)] == doctest::Approx(ml[cls::right(cls::kCortex)]).epsilon(0.03));
  CHECK(ml[cls::left(cls::kWM)] == doctest::Approx(ml[cls::right(cls::kWM)]).epsilon(0.03));
  // The central CSF blocks are reached from the ventricle seeds: 2 x 12 x 40 x 16 mm each.
  CHECK(ml[cls::left(cls::kLatVent)] == doctest::Approx(12 * 40 * 16 / 1000.0).epsilon(0.25));
  CHECK(ml[cls::right(cls::kLatVent)] == doctest::Approx(ml[cls::left(cls::kLatVent)]));
  // Outside the brain: background and not in the brain mask.
  CHECK(at.labels.at(0, 0, 0) == cls::kBackground);
  CHECK(at.brain.at(0, 0, 0) == 0);
  CHECK(at.brain.at(45, 52, 40) == 1);
}

TEST_CASE("atlas subject (synthetic maps): deterministic, zero outside the brain, given lesion kept in place") {
  const AtlasAnatomy at = synthetic_atlas();
  PhantomOptions opt;
  opt.size = {64, 64, 16};
  const auto a = make_atlas_subject(at, opt, 5, false), b = make_atlas_subject(at, opt, 5, false);
  const auto c = make_atlas_subject(at, opt, 6, false);
  CHECK(a.image.data == b.image.data);
  CHECK(a.labels.data == b.labels.data);
  CHECK(a.labels.data != c.labels.data);
  CHECK(same_grid(a.image, atlas_subject_grid(opt)));
  CHECK(count(a.labels, cls::kLesion) == 0);
  // The synthetic brain has no CSF outside its (flooded) ventricles: background = outside.
  int64_t outside_nonzero = 0, inside_positive = 0;
  for (int64_t i = 0; i < a.image.numel(); ++i) {
    outside_nonzero += a.labels.data[i] == cls::kBackground && a.image.data[i] != 0;
    inside_positive += a.labels.data[i] != cls::kBackground && a.image.data[i] > 0;
  }
  CHECK(outside_nonzero == 0);
  CHECK(inside_positive > 1000);
  // A cube of 6^3 voxels at the grid centre (deep white matter): kept where it is.
  LabelVolume cube = LabelVolume::zeros_on(atlas_subject_grid(opt));
  for (int64_t k = 6; k < 12; ++k)
    for (int64_t j = 29; j < 35; ++j)
      for (int64_t i = 29; i < 35; ++i) cube.at(i, j, k) = 1;
  const auto s = make_atlas_subject(at, opt, 5, true, &cube);
  CHECK(s.lesion_count == 1);
  // Exactly the cube's voxels that are tissue in the same subject without a lesion.
  int64_t in_cube = 0, outside_cube = 0, cube_tissue = 0;
  for (int64_t i = 0; i < s.mask.numel(); ++i) {
    (cube.data[i] ? in_cube : outside_cube) += s.mask.data[i];
    cube_tissue += cube.data[i] && is_brain_tissue(a.labels.data[i]);
  }
  CHECK(in_cube > 108);
  CHECK(in_cube == cube_tissue);
  CHECK(outside_cube == 0);
}

TEST_CASE("phantom database: stroke subjects take the lesion source's masks") {
  pn::test::TempDir t("lesion_source");
  PhantomDatabaseOptions db;
  db.out = t.file("db");
  db.healthy = 1;
  db.stroke = 2;
  db.seed = 3;
  db.phantom.size = {48, 48, 12};
  std::vector<int64_t> asked;
  db.lesion_source = [&](int64_t index, uint64_t seed, const Grid& grid) {
    asked.push_back(index);
    CHECK(seed == phantom_subject_seed(3, index, true));
    LabelVolume m = LabelVolume::zeros_on(grid);
    if (index == 1) return LabelVolume{};  // none for subject 1: procedural blobs
    for (int64_t k = 5; k < 7; ++k)
      for (int64_t j = 20; j < 24; ++j)
        for (int64_t i = 20; i < 24; ++i) m.at(i, j, k) = 1;  // 32 voxels
    return m;
  };
  std::vector<int64_t> lesion_voxels;
  write_phantom_database(db, [&](const std::string&, bool stroke, PhantomSubject& s) {
    if (stroke) lesion_voxels.push_back(count(s.mask, 1));
  });
  CHECK(asked == std::vector<int64_t>{0, 1});
  REQUIRE(lesion_voxels.size() == 2);
  // Subject 0: the 32-voxel mask, moved to where at least 90 % of it is tissue.
  CHECK(lesion_voxels[0] >= 29);
  CHECK(lesion_voxels[0] <= 32);
  // Subject 1: the same subject as without a lesion source.
  const auto procedural = make_phantom_subject(db.phantom, phantom_subject_seed(3, 1, true), true);
  CHECK(lesion_voxels[1] == count(procedural.mask, 1));
}
