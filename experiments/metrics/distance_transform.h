// Exact Euclidean distance transform of a 3-D binary volume with anisotropic voxel
// spacing (Felzenszwalb & Huttenlocher, "Distance transforms of sampled functions",
// 2012): the squared distance is separable, so one pass per axis computes
//   d_a(p) = min_q [ d_{a-1}(q) + (s_a (p - q))^2 ]
// along every line of axis a, as the lower envelope of parabolas rooted at q, in O(n)
// per line. The first pass starts from 0 on feature voxels and +inf elsewhere.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

namespace pn::experiments {

// Volume dimensions (D, H, W), W contiguous, and voxel spacing in mm in the same order.
struct Grid3 {
  std::array<int64_t, 3> dims{0, 0, 0};
  std::array<double, 3> spacing{1, 1, 1};
  int64_t voxels() const { return dims[0] * dims[1] * dims[2]; }
  double voxel_ml() const { return spacing[0] * spacing[1] * spacing[2] / 1000.0; }  // mm^3 -> ml
};

// Squared distance in mm^2 from each voxel to the nearest voxel with feature != 0;
// +inf everywhere when there is no feature voxel.
std::vector<double> squared_distance_transform(const uint8_t* feature, const Grid3& g);

}  // namespace pn::experiments
