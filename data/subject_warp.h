// Per-subject geometry shared by the procedural phantom and the atlas subjects: a random
// small affine (rotation, per-axis scale, shift) and a smooth random displacement field.
// A study-grid point w (mm) maps to the anatomy's point
//   q = R^T (w - shift) / scale          (undo_pose)
//   p = q + deformation_mm * n(q / 45)  (displace; n: three ValueNoise fields in [-1, 1])
// so the anatomy seen on the grid is scaled, rotated, shifted and smoothly warped (features
// of the displacement about 45 mm apart, a plausible scale for inter-subject shape
// differences that leaves the anatomy recognisable).
#pragma once
#include <array>

#include "data/noise.h"

namespace pn::data {

// Ranges of the random pose: angles uniform in [-deg, deg], scale factors uniform in
// [scale_lo, scale_hi] per axis, shifts uniform in [-mm, mm] per axis.
struct PoseRanges {
  double yaw_deg = 7, pitch_deg = 4;
  double scale_lo = 0.92, scale_hi = 1.08;
  std::array<double, 3> shift_mm{4, 6, 4};
};

struct Pose {
  double rot[3][3];  // R = Rz(yaw) * Rx(pitch)
  double scale[3], shift[3];
  // det of the point map anatomy -> grid (the factor by which volumes grow on the grid).
  double volume_factor() const { return scale[0] * scale[1] * scale[2]; }
};

Pose random_pose(SeedStream& st, const PoseRanges& r = {});

class SubjectWarp {
 public:
  // Draws the pose, then the three displacement fields, from st (in that order).
  SubjectWarp(SeedStream& st, const PoseRanges& ranges, double deformation_mm);
  const Pose& pose() const { return pose_; }
  double deformation_mm() const { return deformation_mm_; }
  std::array<double, 3> undo_pose(const std::array<double, 3>& w) const;
  std::array<double, 3> displace(const std::array<double, 3>& q) const;
  std::array<double, 3> operator()(const std::array<double, 3>& w) const { return displace(undo_pose(w)); }

 private:
  Pose pose_;
  std::array<ValueNoise, 3> field_;
  double deformation_mm_;
};

}  // namespace pn::data
