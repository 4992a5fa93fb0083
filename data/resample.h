// Resampling on index grids: the one sampling primitive (new voxel v reads old voxel
// T * v, trilinear for images, nearest for label maps), and what is built on it: crop or
// pad to a size, a slice range, resampling to a voxel spacing and onto another grid. Every operation moves
// the grid's affine (and qform/sform) so that each voxel keeps its world position.
#pragma once
#include <functional>

#include "data/volume.h"

namespace pn::data {

// New volume of `dims` whose voxel v takes the old value at continuous index T * v.
// Linear: trilinear, with points within half a voxel outside the grid clamped to the edge;
// further out `fill`. Nearest: the nearest voxel, `fill` outside.
Volume sample_linear(const Volume& v, const Mat4& new_to_old, const Dims3& dims, float fill = 0);
LabelVolume sample_nearest(const LabelVolume& v, const Mat4& new_to_old, const Dims3& dims, int32_t fill = 0);

// The same with any map from new index to old continuous index (elastic deformation).
// The result keeps v's grid: the content moves, the grid does not (dims must match).
using IndexMap = std::function<std::array<double, 3>(int64_t i, int64_t j, int64_t k)>;
Volume warp_linear(const Volume& v, const IndexMap& new_to_old, float fill = 0);
LabelVolume warp_nearest(const LabelVolume& v, const IndexMap& new_to_old, int32_t fill = 0);

// Crops or pads each axis symmetrically about the centre (an odd difference puts the extra
// voxel at the high end) to `dims`; padding takes `fill`.
Volume crop_or_pad(const Volume& v, const Dims3& dims, float fill = 0);
LabelVolume crop_or_pad(const LabelVolume& v, const Dims3& dims, int32_t fill = 0);

// Keeps slices k0 <= k < k1 along the third axis.
Volume slice_range(const Volume& v, int64_t k0, int64_t k1);
LabelVolume slice_range(const LabelVolume& v, int64_t k0, int64_t k1);

// `v` on another grid through both affines (world position of each target voxel): linear
// for images, nearest for masks; `fill` outside v's field of view. The result's grid is
// `target` (dims, spacing, affine, header).
Volume resample_onto(const Volume& v, const Grid& target, float fill = 0);
LabelVolume resample_onto(const LabelVolume& v, const Grid& target, int32_t fill = 0);
// The share of target's voxel centres that lie inside `source`'s field of view, in [0, 1]
// (0 when two headers place the volumes in different parts of the world).
double field_of_view_overlap(const Grid& source, const Grid& target);

// Resamples to `spacing` (mm) over the same field of view: n' = max(1, round(n s / s')),
// voxel edges of the first and last voxels kept in place.
Volume resample_to_spacing(const Volume& v, const Vec3& spacing);
LabelVolume resample_to_spacing(const LabelVolume& v, const Vec3& spacing);

}  // namespace pn::data
