// Binary lesion masks moved between grids through their affines: source voxel -> world
// (source affine) -> target voxel (inverse of the target affine). Two modes:
//  - Nearest: every target voxel centre takes the value of the nearest source voxel.
//  - Area: the fraction of every target voxel covered by lesion, then thresholded. Only
//    lesion voxels are visited (the cost grows with the lesion, not the grid), each adding
//    its overlap to the target voxels it touches. When the two grids are axis-aligned
//    (each target axis along one source axis, flips allowed: LAS vs RAS, any spacings, all
//    MNI data) the overlap of the two voxel boxes is computed exactly. For an oblique pair
//    each lesion voxel is split into n0 x n1 x n2 sub-points (n_b chosen so that one
//    sub-step moves at most a quarter of a target voxel along any target axis) and each
//    sub-point adds its share to the target voxel containing it; a voxel's coverage is
//    then approximate (it may read a little over 1) but the total is still conserved.
// Volume tolerance: the coverage map conserves the lesion volume that falls inside the
// target exactly (float rounding aside; tested to 1e-4). The thresholded mask (0.5) of a compact lesion
// at least 2.5 target voxels in radius keeps its volume within 10 % and its centre of mass
// within 0.35 target voxels in either mode (tests/data/test_lesion_masks.cpp measures it on
// off-grid balls); smaller or thinner lesions lose more, down to vanishing when they cover
// under half of every target voxel (the lesion set's minimum voxel count drops those).
// Mirroring reflects a mask about the world plane x = 0 (the MNI mid-sagittal plane).
// Nonzero source voxels are lesion; results are 0/1.
#pragma once
#include <cstdint>
#include <vector>

#include "data/volume.h"

namespace pn::data {

enum class MaskTransfer { Nearest, Area };

// Fraction of every target voxel covered by the lesion of `src` (Area mode before the
// threshold), in [0, 1].
Volume mask_coverage(const LabelVolume& src, const Grid& target);

// `src`'s lesion on `target`. Area mode keeps the voxels whose coverage is >= threshold.
LabelVolume transfer_mask(const LabelVolume& src, const Grid& target, MaskTransfer mode, double threshold = 0.5);

// The mask reflected about the world plane x = 0, on its own grid: output voxel v takes the
// source value at A^-1 F A v (F negates world x, A the grid's affine). On a grid symmetric
// about x = 0 this is exactly i -> n - 1 - i; lesion parts reflected outside the grid are lost.
LabelVolume mirror_left_right(const LabelVolume& mask);

// Linear indices of the nonzero voxels, ascending.
std::vector<int64_t> lesion_voxels(const LabelVolume& mask);

// A 0/1 mask on `g` with the given linear indices set.
LabelVolume mask_from_voxels(const Grid& g, const std::vector<int64_t>& voxels);

// The RAS grid diag(spacing) whose centre (between voxels when a size is even) lies at
// world point `centre_mm`: a study grid such as 128x128x32 at 2x2x3.6 mm around (0,-18,18).
Grid centred_grid(const Dims3& dims, const Vec3& spacing, const Vec3& centre_mm);

}  // namespace pn::data
