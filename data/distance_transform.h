// Exact Euclidean distance transform on a voxel grid (Felzenszwalb & Huttenlocher, "Distance
// transforms of sampled functions", 2012): for every voxel, the squared distance in voxel
// units to the nearest feature voxel, in O(voxels). The squared distance is separable:
//
//     D(x, y, z) = min over features (x', y', z') of (x - x')^2 + (y - y')^2 + (z - z')^2
//
// is three passes of the 1-D transform d(q) = min_p (q - p)^2 + f(p), one per axis, each on
// the previous pass's output; the 1-D pass keeps the lower envelope of the parabolas rooted
// at every p (the loop below). And the signed mask representation built on it, which the
// lesion-mask GAN can train on instead of binary masks (maskgan.distance_margin).
#pragma once
#include <cstdint>
#include <vector>

#include "data/volume.h"

namespace pn::data {

// Squared distances (voxel units) from every voxel of a dims[0] x dims[1] x dims[2] grid (x
// fastest) to the nearest voxel where feature[v] is true; every entry is a huge value
// (>= 1e30) when there is no feature voxel.
std::vector<double> squared_distance_transform(const std::vector<bool>& feature, const Dims3& dims);

// A binary mask as a truncated signed distance in [-1, 1]: a lesion voxel holds
// min(1, d_in / margin) (d_in: its distance to the nearest non-lesion voxel of the grid, at
// least 1), any other voxel -min(1, d_out / margin) (d_out: its distance to the nearest lesion
// voxel, at least 1; -1 for an empty mask). Positive exactly on the lesion, so thresholding at
// 0 gives the mask back; margin 1 gives the binary mask in {-1, 1}.
// requires: margin >= 1.
std::vector<float> signed_distance_mask(const std::vector<bool>& lesion, const Dims3& dims, double margin);

}  // namespace pn::data
