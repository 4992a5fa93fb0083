#include "data/subject_warp.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace pn::data {

Pose random_pose(SeedStream& st, const PoseRanges& r) {
  Pose p{};
  constexpr double deg = std::numbers::pi / 180;
  const double yaw = st.uniform(-r.yaw_deg, r.yaw_deg) * deg, pitch = st.uniform(-r.pitch_deg, r.pitch_deg) * deg;
  const double cy = std::cos(yaw), sy = std::sin(yaw), cp = std::cos(pitch), sp = std::sin(pitch);
  // R = Rz(yaw) * Rx(pitch)
  const double rot[3][3] = {{cy, -sy * cp, sy * sp}, {sy, cy * cp, -cy * sp}, {0, sp, cp}};
  std::copy(&rot[0][0], &rot[0][0] + 9, &p.rot[0][0]);
  for (double& s : p.scale) s = st.uniform(r.scale_lo, r.scale_hi);
  for (int a = 0; a < 3; ++a) p.shift[a] = st.uniform(-r.shift_mm[a], r.shift_mm[a]);
  return p;
}

SubjectWarp::SubjectWarp(SeedStream& st, const PoseRanges& ranges, double deformation_mm)
    : pose_(random_pose(st, ranges)),
      field_{ValueNoise(st.next()), ValueNoise(st.next()), ValueNoise(st.next())},
      deformation_mm_(deformation_mm) {}

std::array<double, 3> SubjectWarp::undo_pose(const std::array<double, 3>& w) const {
  std::array<double, 3> q{};
  for (int a = 0; a < 3; ++a) {
    for (int b = 0; b < 3; ++b) q[a] += pose_.rot[b][a] * (w[b] - pose_.shift[b]);
    q[a] /= pose_.scale[a];
  }
  return q;
}

std::array<double, 3> SubjectWarp::displace(const std::array<double, 3>& q) const {
  std::array<double, 3> p = q;
  if (deformation_mm_ == 0) return p;
  for (int a = 0; a < 3; ++a) p[a] += deformation_mm_ * field_[a].at(q[0] / 45.0, q[1] / 45.0, q[2] / 45.0);
  return p;
}

}  // namespace pn::data
