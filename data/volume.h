// Volume: one 3-D image in memory (voxels i fastest, as NIfTI stores them) with its grid:
// dimensions, voxel spacing in mm and the voxel-to-world affine. The grid also keeps what
// the file header said (NIfTI version, datatype, scaling, qform and sform with their codes)
// so that a volume read and written back keeps its place in world space.
// Two voxel types: Volume (float intensities) and LabelVolume (int32 class indices: masks
// and anatomy label maps). Index (i, j, k) is voxel data[(k * ny + j) * nx + i]; as a
// tensor that is D = nz, H = ny, W = nx.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "data/affine.h"

namespace pn::data {

using Dims3 = std::array<int64_t, 3>;
using Vec3 = std::array<double, 3>;

// What the NIfTI header held. A volume made in memory has from_file = false and codes 0;
// the writer then stores `Grid::affine` as both qform and sform (code 1, scanner).
struct NiftiInfo {
  bool from_file = false;
  int version = 1;           // 1 or 2
  int datatype = 16;         // NIfTI DT_* code on disk (16 = float32)
  double scl_slope = 0;      // 0 = no scaling
  double scl_inter = 0;
  int qform_code = 0, sform_code = 0;
  Mat4 qform = mat4_identity();  // valid when qform_code > 0
  Mat4 sform = mat4_identity();  // valid when sform_code > 0
  int xyz_units = 2;             // NIFTI_UNITS_MM
  std::string descrip;
};

struct Grid {
  Dims3 dims{0, 0, 0};            // nx, ny, nz
  Vec3 spacing{1, 1, 1};          // mm, pixdim[1..3]
  Mat4 affine = mat4_identity();  // sform if coded, else qform if coded, else diag(spacing)
  NiftiInfo header;

  // The grid diag(spacing) with its centre voxel at the world origin.
  static Grid centred(const Dims3& dims, const Vec3& spacing = {1, 1, 1});

  int64_t numel() const { return dims[0] * dims[1] * dims[2]; }
  int64_t index(int64_t i, int64_t j, int64_t k) const { return (k * dims[1] + j) * dims[0] + i; }
  bool inside(int64_t i, int64_t j, int64_t k) const {
    return i >= 0 && j >= 0 && k >= 0 && i < dims[0] && j < dims[1] && k < dims[2];
  }
  double voxel_volume_ml() const { return spacing[0] * spacing[1] * spacing[2] / 1000.0; }
  const Grid& grid() const { return *this; }

  // Re-indexes the grid: new voxel v lies at old voxel T * v. Updates affine, qform and
  // sform together (crop, pad, resample and flips go through here), and the spacing.
  void reindex(const Mat4& new_to_old, const Dims3& new_dims);
};

template <class T>
struct BasicVolume : Grid {
  std::vector<T> data;

  // Zero voxels on grid g (dims, spacing, affine, header).
  static BasicVolume zeros_on(const Grid& g) {
    BasicVolume v;
    static_cast<Grid&>(v) = g;
    v.data.assign(static_cast<size_t>(g.numel()), T{});
    return v;
  }
  static BasicVolume zeros(const Dims3& dims, const Vec3& spacing = {1, 1, 1}) {
    return zeros_on(Grid::centred(dims, spacing));
  }
  T& at(int64_t i, int64_t j, int64_t k) { return data[static_cast<size_t>(index(i, j, k))]; }
  T at(int64_t i, int64_t j, int64_t k) const { return data[static_cast<size_t>(index(i, j, k))]; }
};

using Volume = BasicVolume<float>;
using LabelVolume = BasicVolume<int32_t>;

// Same dims, and affines equal within tol mm (a mask lies exactly on its image).
bool same_grid(const Grid& a, const Grid& b, double tol = 1e-3);
// Throws a pn::Error naming both files and both grids unless same_grid(a, b).
void check_same_grid(const Grid& a, const std::string& name_a, const Grid& b, const std::string& name_b);
// "128x128x32 @ 2.00x2.00x3.60 mm"
std::string grid_string(const Grid& g);
// "128x128x32"
std::string dims_string(const Dims3& d);

}  // namespace pn::data
