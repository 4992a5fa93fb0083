#include "data/atlas_subject.h"

#include <cmath>
#include <vector>

#include "autograd/error.h"
#include "data/mni_grid.h"
#include "data/phantom_contrast.h"
#include "data/phantom_lesions.h"

namespace pn::data {

Grid atlas_subject_grid(const PhantomOptions& opt) { return mni_study_grid(opt.size, phantom_spacing(opt)); }

PhantomSubject make_atlas_subject(const AtlasAnatomy& atlas, const PhantomOptions& opt, uint64_t seed, bool stroke,
                                  const LabelVolume* lesion, const PoseRanges& pose) {
  PN_CHECK(atlas.labels.dims == atlas.brain.dims && atlas.labels.numel() > 0,
           "atlas subject: the atlas anatomy ({}) has no label map or a brain mask of another size", atlas.source);
  const Grid grid = atlas_subject_grid(opt);
  // A stream of its own (salted), so an atlas subject and a phantom subject of one seed differ.
  SeedStream st(mix64(seed ^ 0x61746c6173ull));
  const SubjectWarp warp(st, pose, opt.deformation_mm);
  const Contrast contrast = draw_contrast(st);

  PhantomSubject out;
  out.labels = LabelVolume::zeros_on(grid);
  std::vector<uint8_t> inside(static_cast<size_t>(grid.numel()));
  const Mat4 world_to_atlas = mat4_inverse(atlas.labels.affine);
  const Dims3& d = grid.dims;
#pragma omp parallel for schedule(static)
  for (int64_t k = 0; k < d[2]; ++k)
    for (int64_t j = 0; j < d[1]; ++j)
      for (int64_t i = 0; i < d[0]; ++i) {
        // Study voxel -> MNI mm -> the subject's anatomy point -> nearest template voxel.
        const auto w = mat4_apply(grid.affine, {static_cast<double>(i), static_cast<double>(j), static_cast<double>(k)});
        const auto v = mat4_apply(world_to_atlas, warp(w));
        const int64_t ti = std::lround(v[0]), tj = std::lround(v[1]), tk = std::lround(v[2]);
        const int64_t idx = grid.index(i, j, k);
        if (!atlas.labels.inside(ti, tj, tk)) continue;  // zeros: background, outside
        out.labels.data[idx] = atlas.labels.at(ti, tj, tk);
        inside[idx] = atlas.brain.at(ti, tj, tk) != 0;
      }

  finish_subject(opt, contrast, st, stroke, lesion, LesionPlacement::Keep, inside, "penumbra atlas subject (ICBM152)", out);
  return out;
}

}  // namespace pn::data
