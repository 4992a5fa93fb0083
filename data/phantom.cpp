#include "data/phantom.h"

#include <cmath>
#include <vector>

#include "autograd/error.h"
#include "data/label_scheme.h"
#include "data/mni_grid.h"
#include "data/noise.h"
#include "data/phantom_anatomy.h"
#include "data/phantom_contrast.h"
#include "data/phantom_lesions.h"
#include "data/subject_warp.h"

namespace pn::data {

uint64_t phantom_subject_seed(uint64_t seed, int64_t index, bool stroke) {
  return mix64(mix64(seed * 2 + (stroke ? 1 : 0)) ^ static_cast<uint64_t>(index));
}

Vec3 phantom_spacing(const PhantomOptions& opt) {
  for (int a = 0; a < 3; ++a)
    PN_CHECK(opt.size[a] >= 4 && opt.size[a] <= 1024 && opt.fov_mm[a] > 0, "phantom: bad grid {} over {} mm",
             dims_string(opt.size), fmt::join(opt.fov_mm, "x"));
  return {opt.fov_mm[0] / opt.size[0], opt.fov_mm[1] / opt.size[1], opt.fov_mm[2] / opt.size[2]};
}

// LAS, like the atlas grid: the canonical anatomy's x (towards the subject's left) runs
// along i, which is world -x in NIfTI's RAS convention.
Grid phantom_grid(const PhantomOptions& opt) { return las_grid(opt.size, phantom_spacing(opt), {0, 0, 0}); }

PhantomSubject make_phantom_subject(const PhantomOptions& opt, uint64_t seed, bool stroke, const LabelVolume* lesion) {
  const Vec3 spacing = phantom_spacing(opt);
  SeedStream st(mix64(seed));
  const Grid grid = phantom_grid(opt);
  AnatomyParams ap;
  for (double& s : ap.brain_scale) s = st.uniform(0.95, 1.05);
  ap.ventricle_scale = std::exp(st.uniform(std::log(0.7), std::log(1.6)));
  ap.cortex_mm = st.uniform(2.5, 3.5);
  const BrainTemplate brain(ap, st.next());
  const SubjectWarp warp(st, PoseRanges{}, opt.deformation_mm);
  const Contrast contrast = draw_contrast(st);
  const double dz_canonical = -2.0;  // the slab starts just below the cerebellum

  PhantomSubject out;
  out.labels = LabelVolume::zeros_on(grid);
  std::vector<uint8_t> inside(static_cast<size_t>(grid.numel()));
  const Dims3& d = grid.dims;
#pragma omp parallel for schedule(static)
  for (int64_t k = 0; k < d[2]; ++k)
    for (int64_t j = 0; j < d[1]; ++j)
      for (int64_t i = 0; i < d[0]; ++i) {
        // World point (mm), then the subject's pose and smooth displacement.
        const std::array<double, 3> q = warp.undo_pose(
            {(i - (d[0] - 1) / 2.0) * spacing[0], (j - (d[1] - 1) / 2.0) * spacing[1], (k - (d[2] - 1) / 2.0) * spacing[2]});
        const int64_t idx = grid.index(i, j, k);
        // Points far outside the template's bounding box (with room for the deformation and
        // the brain-size factors) are background: skip the noise evaluations there.
        const double margin = 2 * opt.deformation_mm + 6;
        if (std::abs(q[0]) > 72 + margin || q[1] < -92 - margin || q[1] > 86 + margin ||
            q[2] - dz_canonical < -78 - margin || q[2] - dz_canonical > 70 + margin) {
          out.labels.data[idx] = cls::kBackground;
          inside[idx] = 0;
          continue;
        }
        const std::array<double, 3> p = warp.displace(q);
        bool in = false;
        out.labels.data[idx] = brain.label(p[0], p[1], p[2] - dz_canonical, &in);
        inside[idx] = in;
      }

  // A given mask moves to a random place: the procedural anatomy is not in MNI space, so
  // where the mask sat in its own space means nothing here.
  finish_subject(opt, contrast, st, stroke, lesion, LesionPlacement::RandomShift, inside, "penumbra phantom", out);
  return out;
}

}  // namespace pn::data
