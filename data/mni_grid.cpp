#include "data/mni_grid.h"

#include "autograd/error.h"

namespace pn::data {

Grid las_grid(const Dims3& dims, const Vec3& spacing, const Vec3& centre) {
  Grid g = Grid::centred(dims, spacing);  // checks dims and spacing
  // world = A (i, j, k) + t with A = diag(-sx, sy, sz); t puts voxel (n - 1) / 2 at the centre.
  g.affine = mat4_scale_translate(-spacing[0], spacing[1], spacing[2]);
  for (int a = 0; a < 3; ++a)
    g.affine[a][3] = centre[a] - g.affine[a][a] * (static_cast<double>(dims[a]) - 1) / 2;
  return g;
}

Grid mni_study_grid(const Dims3& dims, const Vec3& spacing) { return las_grid(dims, spacing, kStudyCentreMni); }

}  // namespace pn::data
