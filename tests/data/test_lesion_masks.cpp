// Lesion masks between grids (data/lesion_masks.h), the lesion set with its split and
// cache (data/lesion_set.h), per-mask statistics and the arterial atlas lookup, all on
// synthetic shapes whose true volume, centre and topology are known.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include "autograd/error.h"
#include "data/arterial_atlas.h"
#include "data/lesion_check.h"
#include "data/lesion_set.h"
#include "data/lesion_stats.h"
#include "data/nifti_io.h"
#include "data_test_util.h"

using namespace pn::data;

namespace {

// Voxels whose centre lies within `r` mm of world point c.
LabelVolume ball(const Grid& g, const Vec3& c, double r) {
  LabelVolume m = LabelVolume::zeros_on(g);
  for (int64_t k = 0; k < g.dims[2]; ++k)
    for (int64_t j = 0; j < g.dims[1]; ++j)
      for (int64_t i = 0; i < g.dims[0]; ++i) {
        const auto p = mat4_apply(g.affine, {double(i), double(j), double(k)});
        const double d2 = (p[0] - c[0]) * (p[0] - c[0]) + (p[1] - c[1]) * (p[1] - c[1]) + (p[2] - c[2]) * (p[2] - c[2]);
        if (d2 <= r * r) m.at(i, j, k) = 1;
      }
  return m;
}

// An axis-aligned box of voxels [lo, hi] (inclusive) set to `value`.
void box(LabelVolume& m, Dims3 lo, Dims3 hi, int32_t value = 1) {
  for (int64_t k = lo[2]; k <= hi[2]; ++k)
    for (int64_t j = lo[1]; j <= hi[1]; ++j)
      for (int64_t i = lo[0]; i <= hi[0]; ++i) m.at(i, j, k) = value;
}

double volume_ml(const LabelVolume& m) { return static_cast<double>(lesion_voxels(m).size()) * m.voxel_volume_ml(); }

const Vec3 kCentre{0, -18, 18};
const Grid kFine = centred_grid({128, 128, 32}, {2, 2, 3.6}, kCentre);
const Grid kCoarse = centred_grid({32, 32, 16}, {8, 8, 7.2}, kCentre);

}  // namespace

TEST_CASE("transfer_mask: an off-grid ball keeps its volume and centre on study grids, both modes") {
  // The tolerances of data/lesion_masks.h: 10 % volume, 0.35 target voxel per axis.
  const Grid src = centred_grid({96, 96, 96}, {1, 1, 1}, kCentre);
  const double r = 20;  // 2.5 voxels of the 8 mm grid, 10 of the 2 mm grid
  std::map<std::string, std::pair<double, double>> worst;  // grid and mode -> volume, centre errors
  for (int t = 0; t < 5; ++t) {
    const Vec3 c{kCentre[0] + 3.3 * t - 6.1, kCentre[1] + 2.7 * t - 4.4, kCentre[2] - 1.9 * t + 3.7};
    const LabelVolume m = ball(src, c, r);
    const double v0 = volume_ml(m);
    const Vec3 com0 = centre_of_mass(m);
    for (const Grid* target : {&kFine, &kCoarse}) {
      // The coverage map conserves the volume exactly.
      const Volume cov = mask_coverage(m, *target);
      double sum = 0;
      for (float x : cov.data) sum += x;
      CHECK(sum * target->voxel_volume_ml() == doctest::Approx(v0).epsilon(1e-4));
      for (MaskTransfer mode : {MaskTransfer::Nearest, MaskTransfer::Area}) {
        const LabelVolume out = transfer_mask(m, *target, mode);
        CHECK(same_grid(out, *target));
        const double rel = std::abs(volume_ml(out) - v0) / v0;
        CHECK_MESSAGE(rel <= 0.10, "volume ", volume_ml(out), " vs ", v0, " on ", grid_string(*target));
        auto& w = worst[grid_string(*target) + (mode == MaskTransfer::Area ? " area" : " nearest")];
        w.first = std::max(w.first, rel);
        const Vec3 com = centre_of_mass(out);
        for (int a = 0; a < 3; ++a) {
          const double err = std::abs(com[a] - com0[a]) / target->spacing[a];
          CHECK_MESSAGE(err <= 0.35, "axis ", a, ": centre ", com[a], " vs ", com0[a], " on ", grid_string(*target));
          w.second = std::max(w.second, err);
        }
      }
    }
  }
  for (const auto& [k, w] : worst)
    MESSAGE(k, ": worst volume error ", w.first * 100, " %, worst centre error ", w.second, " target voxels");
}

TEST_CASE("mask_coverage: an oblique target (sub-point sampling) still conserves the volume") {
  const Grid src = centred_grid({64, 64, 64}, {1, 1, 1}, kCentre);
  const LabelVolume m = ball(src, {3, -15, 20}, 12);
  Grid oblique = kFine;
  const double c = std::cos(0.4), s = std::sin(0.4);
  Mat4 rot = mat4_identity();
  rot[0][0] = c; rot[0][1] = -s; rot[1][0] = s; rot[1][1] = c;
  oblique.affine = mat4_mul(rot, kFine.affine);
  double sum = 0;
  for (float x : mask_coverage(m, oblique).data) sum += x;
  CHECK(sum * oblique.voxel_volume_ml() == doctest::Approx(volume_ml(m)).epsilon(1e-4));
  const LabelVolume out = transfer_mask(m, oblique, MaskTransfer::Area);
  CHECK(volume_ml(out) == doctest::Approx(volume_ml(m)).epsilon(0.1));
  const Vec3 com = centre_of_mass(out), com0 = centre_of_mass(m);
  for (int a = 0; a < 3; ++a) CHECK(std::abs(com[a] - com0[a]) < 1.0);
}

TEST_CASE("transfer_mask: a LAS source lands at its world place, not at its index") {
  // x = 40 - i (LAS, as SOOP's files): voxel i = 15 is world x = +25, the right hemisphere.
  Grid las = Grid::centred({64, 64, 64});
  las.affine = mat4_scale_translate(-1, 1, 1, 40, -50, -20);
  const Vec3 c{25, -10, 5};
  const LabelVolume m = ball(las, c, 6);
  CHECK(centre_of_mass(m)[0] == doctest::Approx(25).epsilon(1e-9));
  for (MaskTransfer mode : {MaskTransfer::Nearest, MaskTransfer::Area}) {
    const LabelVolume out = transfer_mask(m, kFine, mode);
    const Vec3 com = centre_of_mass(out);
    for (int a = 0; a < 3; ++a) CHECK(std::abs(com[a] - c[a]) <= 0.35 * kFine.spacing[a]);
    CHECK(lesion_stats(out).hemisphere == Hemisphere::Right);
  }
}

TEST_CASE("transfer_mask: a source coarser than the target is filled, not speckled") {
  LabelVolume m = LabelVolume::zeros_on(kCoarse);
  box(m, {14, 14, 7}, {16, 15, 8});
  const LabelVolume out = transfer_mask(m, kFine, MaskTransfer::Area);
  CHECK(volume_ml(out) == doctest::Approx(volume_ml(m)).epsilon(0.05));
  CHECK(count_components(out) == 1);
}

TEST_CASE("mirror_left_right: negates world x, keeps the volume, twice is the identity") {
  const Grid sym = centred_grid({60, 50, 40}, {1, 1, 1}, {0, -18, 18});  // symmetric about x = 0
  const LabelVolume m = ball(sym, {13.5, -20, 15}, 7);
  const LabelVolume f = mirror_left_right(m);
  CHECK(same_grid(f, m));
  CHECK(centre_of_mass(f)[0] == doctest::Approx(-centre_of_mass(m)[0]).epsilon(1e-9));
  CHECK(centre_of_mass(f)[1] == doctest::Approx(centre_of_mass(m)[1]).epsilon(1e-9));
  CHECK(lesion_voxels(f).size() == lesion_voxels(m).size());
  CHECK(mirror_left_right(f).data == m.data);
  CHECK(lesion_stats(m).hemisphere == Hemisphere::Right);
  CHECK(lesion_stats(f).hemisphere == Hemisphere::Left);

  // A grid not symmetric about x = 0 (shifted by 10 voxels): the mirror goes through the
  // affine, so the lesion moves to -x, not to the mirrored index.
  const Grid shifted = centred_grid({60, 50, 40}, {1, 1, 1}, {10, -18, 18});
  const LabelVolume s = ball(shifted, {5, -20, 15}, 4);
  const LabelVolume sf = mirror_left_right(s);
  CHECK(centre_of_mass(sf)[0] == doctest::Approx(-5).epsilon(1e-9));
  CHECK(lesion_voxels(sf).size() == lesion_voxels(s).size());
}

TEST_CASE("lesion stats on known shapes") {
  LabelVolume m = LabelVolume::zeros_on(centred_grid({30, 30, 30}, {1, 1, 1}, {0, 0, 0}));
  box(m, {2, 2, 2}, {5, 5, 5});  // a cube of side 4
  LesionStats s = lesion_stats(m);
  CHECK(s.voxels == 64);
  CHECK(s.volume_ml == doctest::Approx(0.064));
  CHECK(s.components == 1);
  CHECK(s.surface_to_volume == doctest::Approx(6.0 / 4.0));
  CHECK(s.extent_mm == Vec3{4, 4, 4});
  CHECK(s.hemisphere == Hemisphere::Left);  // i = 2..5 of 30: x < 0
  box(m, {20, 20, 20}, {22, 22, 22});       // a second, separate cube
  CHECK(count_components(m) == 2);
  box(m, {6, 6, 6}, {6, 6, 6});  // touches the first cube by a corner only: 26-connected
  CHECK(count_components(m) == 2);
  box(m, {20, 20, 20}, {22, 22, 22}, 0);
  box(m, {2, 2, 2}, {6, 6, 6}, 0);
  box(m, {20, 20, 20}, {21, 21, 21});
  CHECK(lesion_stats(m).hemisphere == Hemisphere::Right);

  // Anisotropic voxels: a cube 8 mm on a side (4 voxels of 2 mm) gives 6 / 8 per mm.
  LabelVolume a = LabelVolume::zeros_on(centred_grid({10, 10, 10}, {2, 2, 2}, {0, 0, 0}));
  box(a, {3, 3, 3}, {6, 6, 6});
  CHECK(lesion_stats(a).surface_to_volume == doctest::Approx(6.0 / 8.0));
  CHECK(lesion_stats(a).extent_mm == Vec3{8, 8, 8});

  // The LAS convention: index i small is world x large, the right hemisphere.
  LabelVolume las = LabelVolume::zeros_on(Grid::centred({30, 30, 30}));
  las.affine = mat4_scale_translate(-1, 1, 1, 14.5, 0, 0);
  box(las, {2, 2, 2}, {5, 5, 5});
  CHECK(lesion_stats(las).hemisphere == Hemisphere::Right);

  const Summary sum = summarize({3, 1, 4, 1, 5, 9});
  CHECK(sum.min == 1);
  CHECK(sum.median == doctest::Approx(3.5));
  CHECK(sum.max == 9);
}

TEST_CASE("ArterialAtlas: the group with most lesion voxels, through the affines") {
  // Left half (world x < 0) region 1 -> MCA L, right half region 2 -> MCA R.
  LabelVolume labels = LabelVolume::zeros_on(centred_grid({40, 20, 20}, {1, 1, 1}, {0, 0, 0}));
  box(labels, {0, 0, 0}, {19, 19, 19}, 1);
  box(labels, {20, 0, 0}, {39, 19, 19}, 2);
  const ArterialAtlas atlas(labels, {0, 3, 4});
  CHECK(atlas.group_at({-5, 0, 0}) == 3);
  CHECK(atlas.group_at({5, 0, 0}) == 4);
  CHECK(atlas.group_at({500, 0, 0}) == 0);
  CHECK(ArterialAtlas::group_name(3) == "MCA L");
  // A mask on a coarser LAS grid, mostly at x < 0.
  Grid g = Grid::centred({10, 10, 10}, {2, 2, 2});
  g.affine = mat4_scale_translate(-2, 2, 2, 9, -9, -9);  // x = 9 - 2i
  LabelVolume m = LabelVolume::zeros_on(g);
  box(m, {5, 4, 4}, {8, 5, 5});  // x = -1 .. -7
  box(m, {4, 4, 4}, {4, 4, 4});  // x = +1
  const TerritoryHit hit = atlas.territory(m);
  CHECK(hit.group == 3);
  CHECK(hit.lesion == 17);
  CHECK(hit.voxels == 16);
  LabelVolume far = LabelVolume::zeros_on(centred_grid({4, 4, 4}, {1, 1, 1}, {300, 0, 0}));
  far.at(1, 1, 1) = 1;
  CHECK(atlas.territory(far).group == 0);

  // From files: a table whose "left" region sits in a right group is refused.
  pn::test::TempDir dir("atlas");
  write_labels(labels, dir.file("atlas.nii.gz"));
  std::ofstream(dir.file("ok.txt")) << "1|MCAL|middle cerebral artery left|3\n2|MCAR|middle cerebral artery right|4\n";
  CHECK(ArterialAtlas::load(dir.file("atlas.nii.gz"), dir.file("ok.txt")).territory(m).group == 3);
  std::ofstream(dir.file("bad.txt")) << "1|MCAL|middle cerebral artery left|4\n2|MCAR|middle cerebral artery right|3\n";
  CHECK_THROWS_WITH_AS(ArterialAtlas::load(dir.file("atlas.nii.gz"), dir.file("bad.txt")),
                       doctest::Contains("bad.txt:1"), pn::Error);
}

TEST_CASE("held_out_by_name: deterministic, seeded, near the fraction") {
  int held = 0, differ = 0;
  for (int i = 0; i < 1000; ++i) {
    const std::string n = "bwsrsub-" + std::to_string(i) + "_lesion.nii.gz";
    const bool h = held_out_by_name(n, 1, 0.2);
    CHECK(h == held_out_by_name(n, 1, 0.2));
    held += h;
    differ += h != held_out_by_name(n, 2, 0.2);
  }
  CHECK(held > 150);
  CHECK(held < 250);
  CHECK(differ > 100);  // another seed, another split
}

namespace {

// A folder of six 1 mm masks (balls at various places, one a single voxel).
void write_mask_folder(const pn::test::TempDir& dir) {
  const Grid g = centred_grid({40, 40, 30}, {1, 1, 1}, kCentre);
  for (int n = 0; n < 5; ++n)
    write_labels(ball(g, {-12.0 + 6 * n, -18.0 + 2 * n, 18.0 - n}, 4 + n), dir.file(fmt::format("m{}_lesion.nii.gz", n)));
  LabelVolume dot = LabelVolume::zeros_on(g);
  dot.at(20, 20, 15) = 1;
  write_labels(dot, dir.file("m5_lesion.nii.gz"));
  std::ofstream(dir.file("notes.txt")) << "not a mask\n";
}

bool same_masks(const LesionSet& a, const LesionSet& b) {
  if (a.masks.size() != b.masks.size() || a.dropped != b.dropped || a.files != b.files) return false;
  for (size_t i = 0; i < a.masks.size(); ++i) {
    const auto &x = a.masks[i], &y = b.masks[i];
    if (x.name != y.name || x.file != y.file || x.mirrored != y.mirrored || x.held_out != y.held_out ||
        x.voxels != y.voxels)
      return false;
  }
  return true;
}

}  // namespace

TEST_CASE("load_lesion_set: transfer, drops, mirroring, a disjoint split") {
  pn::test::TempDir dir("lesion_set");
  write_mask_folder(dir);
  LesionSetOptions opt;
  opt.held_out_fraction = 0.5;
  opt.min_voxels = 2;
  const Grid target = centred_grid({24, 24, 12}, {2, 2, 3.6}, kCentre);
  const LesionSet s = load_lesion_set(dir.path.string(), target, opt);
  CHECK(s.files == 6);
  CHECK(s.masks.size() == 5);
  CHECK(s.dropped == std::vector<std::string>{"m5_lesion.nii.gz"});  // one voxel of 1 mm is 7 % of a 2x2x3.6 voxel
  CHECK(s.mask(0).dims == target.dims);
  auto train = s.train(), held = s.held_out();
  CHECK(train.size() + held.size() == s.masks.size());
  for (size_t i : train) CHECK(std::find(held.begin(), held.end(), i) == held.end());
  CHECK(same_masks(s, load_lesion_set(dir.path.string(), target, opt)));

  opt.mirror = MirrorMode::AddCopies;
  const LesionSet m = load_lesion_set(dir.path.string(), target, opt);
  REQUIRE(m.masks.size() == 10);
  for (size_t i = 0; i < m.masks.size(); i += 2) {
    CHECK(m.masks[i + 1].mirrored);
    CHECK(m.masks[i + 1].held_out == m.masks[i].held_out);  // a copy follows its original
    CHECK(m.masks[i + 1].voxels.size() == doctest::Approx(double(m.masks[i].voxels.size())).epsilon(0.1));
    CHECK(centre_of_mass(m.mask(i + 1))[0] == doctest::Approx(-centre_of_mass(m.mask(i))[0]).epsilon(0.05));
  }
}

TEST_CASE("load_lesion_set: the cache equals a fresh load and is rebuilt when stale") {
  pn::test::TempDir dir("lesion_cache"), cache("lesion_cache_dir");
  write_mask_folder(dir);
  LesionSetOptions opt;
  opt.cache_dir = cache.path.string();
  opt.mirror = MirrorMode::Random;
  const Grid target = centred_grid({24, 24, 12}, {2, 2, 3.6}, kCentre);
  const LesionSet cold = load_lesion_set(dir.path.string(), target, opt);
  CHECK_FALSE(cold.from_cache);
  const LesionSet warm = load_lesion_set(dir.path.string(), target, opt);
  CHECK(warm.from_cache);
  CHECK(same_masks(cold, warm));
  CHECK(same_grid(warm.grid, target));

  auto changed = opt;  // another threshold: other masks, the cache does not apply
  changed.threshold = 0.3;
  CHECK_FALSE(load_lesion_set(dir.path.string(), target, changed).from_cache);
  changed = opt;
  changed.seed = 7;  // random mirroring depends on the seed
  CHECK_FALSE(load_lesion_set(dir.path.string(), target, changed).from_cache);
  CHECK_FALSE(load_lesion_set(dir.path.string(), kCoarse, opt).from_cache);  // another grid

  // A file rewritten: the cache is stale and rebuilt with the new content.
  const Grid g = centred_grid({40, 40, 30}, {1, 1, 1}, kCentre);
  write_labels(ball(g, {0, -18, 18}, 9), dir.file("m0_lesion.nii.gz"));
  std::filesystem::last_write_time(dir.file("m0_lesion.nii.gz"),
                                   std::filesystem::last_write_time(dir.file("m0_lesion.nii.gz")) + std::chrono::seconds(5));
  const LesionSet rebuilt = load_lesion_set(dir.path.string(), target, opt);
  CHECK_FALSE(rebuilt.from_cache);
  CHECK(rebuilt.masks[0].voxels != cold.masks[0].voxels);
  CHECK(load_lesion_set(dir.path.string(), target, opt).from_cache);

  // A truncated cache file reads as no cache.
  for (const auto& e : std::filesystem::directory_iterator(cache.path))
    std::filesystem::resize_file(e.path(), std::filesystem::file_size(e.path()) / 2);
  const LesionSet again = load_lesion_set(dir.path.string(), target, opt);
  CHECK_FALSE(again.from_cache);
  CHECK(same_masks(again, rebuilt));
}

TEST_CASE("lesion masks: bad input names the folder or the file") {
  pn::test::TempDir dir("lesion_bad");
  const Grid target = centred_grid({8, 8, 8}, {8, 8, 8}, kCentre);
  CHECK_THROWS_WITH_AS(load_lesion_set(dir.file("nowhere"), target), doctest::Contains("nowhere"), pn::Error);
  CHECK_THROWS_WITH_AS(load_lesion_set(dir.path.string(), target), doctest::Contains("holds no lesion masks"), pn::Error);
  LabelVolume m = LabelVolume::zeros_on(centred_grid({10, 10, 10}, {1, 1, 1}, kCentre));
  m.at(5, 5, 5) = 1;
  write_labels(m, dir.file("a_lesion.nii.gz"));
  m.at(4, 5, 5) = 2;  // not binary
  write_labels(m, dir.file("b_lesion.nii.gz"));
  CHECK_THROWS_WITH_AS(load_lesion_set(dir.path.string(), target), doctest::Contains("b_lesion.nii.gz"), pn::Error);
  LesionSetOptions only_a;
  only_a.suffix = "a_lesion.nii.gz";
  CHECK(load_lesion_set(dir.path.string(), target, only_a).files == 1);

  const LesionFolderReport r = check_lesion_folder(dir.path.string());
  CHECK(r.files == 2);
  CHECK(r.loaded == 1);
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0].find("b_lesion.nii.gz") != std::string::npos);
  CHECK(r.text().find("1 problem(s)") != std::string::npos);
}
