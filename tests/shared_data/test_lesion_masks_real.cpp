// The lesion-mask layer on the real data: SOOP (LAS, 157x189x136) and LESYMAP (RAS,
// 181x217x181) masks moved onto the ICBM152 grid through their affines reproduce the index
// shifts the shared README states; LESYMAP lesions are left-hemispheric; the arterial
// atlas gives sensible territories. The load-time measurement of all 1,449 SOOP masks is
// skipped by default: run it with
//   test_shared_data -tc='*timing*' --no-skip
#include <doctest/doctest.h>

#include <filesystem>
#include <map>

#include "data/arterial_atlas.h"
#include "data/lesion_set.h"
#include "data/lesion_stats.h"
#include "data/nifti_io.h"
#include "data/shared_data.h"
#include "../data/data_test_util.h"

using namespace pn::data;

namespace {

std::string shared(const std::string& rel) {
  const auto p = shared_data_path(rel);
  REQUIRE_MESSAGE(p, rel, " is missing from shared/data");
  return *p;
}

// The template's grid, from its grey-matter map's header.
Grid icbm_grid() {
  const auto files = list_lesion_files(shared("icbm152"), "");
  for (const auto& f : files)
    if (f.find("mni_icbm152_gm_") != std::string::npos) return read_nifti(f).grid();
  FAIL("no mni_icbm152_gm_* file in shared/data/icbm152");
  return {};
}

// Every lesion voxel (i,j,k) of `m` is set at shift(i,j,k) in `out`, and nothing else is.
void check_shift(const LabelVolume& m, const LabelVolume& out, int64_t si, int64_t sj, int64_t sk, bool flip_i,
                 const std::string& name) {
  const auto vox = lesion_voxels(m);
  REQUIRE(!vox.empty());
  CHECK_MESSAGE(lesion_voxels(out).size() == vox.size(), name);
  int64_t misplaced = 0;
  for (int64_t v : vox) {
    const int64_t i = v % m.dims[0], j = v / m.dims[0] % m.dims[1], k = v / (m.dims[0] * m.dims[1]);
    const int64_t ti = flip_i ? si - i : i + si;
    misplaced += !out.inside(ti, j + sj, k + sk) || out.at(ti, j + sj, k + sk) != 1;
  }
  CHECK_MESSAGE(misplaced == 0, name);
}

}  // namespace

TEST_CASE("real masks onto ICBM152 through the affines: the README's index shifts") {
  const Grid icbm = icbm_grid();
  CHECK(icbm.dims == Dims3{197, 233, 189});
  const auto soop = list_lesion_files(shared("soop/lesions"), "_lesion.nii.gz");
  CHECK(soop.size() == 1449);
  for (size_t n : {size_t{0}, size_t{700}, soop.size() - 1}) {
    const LabelVolume m = read_labels(soop[n], 2);
    CHECK(m.affine[0][0] < 0);  // LAS
    // SOOP voxel (i, j, k) is template voxel (176 - i, j + 22, k + 22).
    check_shift(m, transfer_mask(m, icbm, MaskTransfer::Nearest), 176, 22, 22, true, soop[n]);
  }
  const auto lesymap = list_lesion_files(shared("lesymap/lesions"), "");
  CHECK(lesymap.size() == 131);
  for (size_t n : {size_t{0}, size_t{64}, lesymap.size() - 1}) {
    const LabelVolume m = read_labels(lesymap[n], 2);
    // LESYMAP voxel (i, j, k) is template voxel (i + 8, j + 9, k + 1).
    check_shift(m, transfer_mask(m, icbm, MaskTransfer::Nearest), 8, 9, 1, false, lesymap[n]);
  }
}

TEST_CASE("LESYMAP lesions are left-hemispheric; the arterial atlas places them sensibly") {
  const auto atlas = ArterialAtlas::find_shared();
  REQUIRE(atlas);
  // Points of known territory (MNI mm): lateral frontal/insular cortex is MCA, the medial
  // superior frontal gyrus ACA, the occipital pole PCA, the cerebellum vertebrobasilar.
  CHECK(ArterialAtlas::group_name(atlas->group_at({-45, 0, 10})) == "MCA L");
  CHECK(ArterialAtlas::group_name(atlas->group_at({45, 0, 10})) == "MCA R");
  CHECK(ArterialAtlas::group_name(atlas->group_at({-6, 30, 45})) == "ACA L");
  CHECK(ArterialAtlas::group_name(atlas->group_at({12, -95, 5})) == "PCA R");
  CHECK(ArterialAtlas::group_name(atlas->group_at({-25, -70, -35})) == "VB L");

  const auto files = list_lesion_files(shared("lesymap/lesions"), "");
  std::map<std::string, int> territories;
  for (size_t n = 0; n < files.size(); n += 13) {
    const LabelVolume m = read_labels(files[n], 2);
    const LesionStats s = lesion_stats(m);
    CHECK_MESSAGE(s.hemisphere == Hemisphere::Left, files[n]);
    const TerritoryHit hit = atlas->territory(m);
    CHECK_MESSAGE(ArterialAtlas::group_side(hit.group) == Hemisphere::Left, files[n]);
    ++territories[ArterialAtlas::group_name(hit.group)];
    // The same lesion mirrored is right-hemispheric and in the mirrored territory.
    if (n == 0) {
      const LabelVolume f = mirror_left_right(m);
      CHECK(lesion_stats(f).hemisphere == Hemisphere::Right);
      CHECK(lesion_stats(f).voxels == s.voxels);
      CHECK(atlas->territory(f).group == hit.group + 1);
    }
  }
  // LESYMAP's chronic strokes are mostly middle-cerebral.
  int most = 0;
  std::string top;
  for (const auto& [g, c] : territories)
    if (c > most) { most = c; top = g; }
  CHECK(top == "MCA L");
}

TEST_CASE("timing: all SOOP masks onto two study grids, cold then warm" * doctest::skip()) {
  const std::string dir = shared("soop/lesions");
  pn::test::TempDir cache("soop_cache");
  for (const Grid& g : {centred_grid({32, 32, 16}, {8, 8, 7.2}, {0, -18, 18}),
                        centred_grid({128, 128, 32}, {2, 2, 3.6}, {0, -18, 18})}) {
    LesionSetOptions opt;
    opt.cache_dir = cache.path.string();
    opt.min_voxels = 1;
    const LesionSet cold = load_lesion_set(dir, g, opt);
    const LesionSet warm = load_lesion_set(dir, g, opt);
    CHECK(warm.from_cache);
    CHECK(warm.masks.size() == cold.masks.size());
    std::vector<double> ml;
    for (const auto& m : cold.masks) ml.push_back(static_cast<double>(m.voxels.size()) * g.voxel_volume_ml());
    MESSAGE(grid_string(g), ": cold ", cold.seconds, " s, warm ", warm.seconds, " s; ", cold.masks.size(), " kept, ",
            cold.dropped.size(), " dropped (empty after transfer); train ", cold.train().size(), ", held out ",
            cold.held_out().size(), "; volume ", summary_string(summarize(ml), 2), " ml");
  }
}
