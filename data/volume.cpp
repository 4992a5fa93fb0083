#include "data/volume.h"

#include <cmath>

#include "autograd/error.h"

namespace pn::data {

Grid Grid::centred(const Dims3& dims, const Vec3& spacing) {
  for (int a = 0; a < 3; ++a)
    PN_CHECK(dims[a] >= 1 && spacing[a] > 0, "Grid::centred: bad grid {} with spacing {}", dims_string(dims),
             fmt::join(spacing, "x"));
  Grid g;
  g.dims = dims;
  g.spacing = spacing;
  // Centre voxel at the world origin: x = s * (i - (n - 1) / 2).
  g.affine = mat4_scale_translate(spacing[0], spacing[1], spacing[2], -spacing[0] * (dims[0] - 1) / 2.0,
                                  -spacing[1] * (dims[1] - 1) / 2.0, -spacing[2] * (dims[2] - 1) / 2.0);
  return g;
}

void Grid::reindex(const Mat4& new_to_old, const Dims3& new_dims) {
  affine = mat4_mul(affine, new_to_old);
  if (header.qform_code > 0) header.qform = mat4_mul(header.qform, new_to_old);
  if (header.sform_code > 0) header.sform = mat4_mul(header.sform, new_to_old);
  for (int a = 0; a < 3; ++a) {
    // Spacing scales with the length of the new index axis in old voxels.
    const double f = std::sqrt(new_to_old[0][a] * new_to_old[0][a] + new_to_old[1][a] * new_to_old[1][a] +
                               new_to_old[2][a] * new_to_old[2][a]);
    spacing[a] *= f;
  }
  dims = new_dims;
}

bool same_grid(const Grid& a, const Grid& b, double tol) {
  return a.dims == b.dims && mat4_max_diff(a.affine, b.affine) <= tol;
}

void check_same_grid(const Grid& a, const std::string& name_a, const Grid& b, const std::string& name_b) {
  if (same_grid(a, b)) return;
  PN_FAIL("{} and {} lie on different grids: {} vs {}{}", name_a, name_b, grid_string(a), grid_string(b),
          a.dims == b.dims ? fmt::format(" (affines differ by up to {:.4g} mm)", mat4_max_diff(a.affine, b.affine))
                           : std::string());
}

std::string dims_string(const Dims3& d) { return fmt::format("{}x{}x{}", d[0], d[1], d[2]); }

std::string grid_string(const Grid& g) {
  return fmt::format("{} @ {:.2f}x{:.2f}x{:.2f} mm", dims_string(g.dims), g.spacing[0], g.spacing[1], g.spacing[2]);
}

}  // namespace pn::data
