// Mat4: the 4x4 voxel-to-world matrices of NIfTI (qform, sform) and the few operations
// the data layer needs on them. Row-major: world = M * (i, j, k, 1)^T, in millimetres.
#pragma once
#include <array>
#include <string>

namespace pn::data {

using Mat4 = std::array<std::array<double, 4>, 4>;

Mat4 mat4_identity();
// diag(sx, sy, sz, 1) with the given translation column.
Mat4 mat4_scale_translate(double sx, double sy, double sz, double tx = 0, double ty = 0, double tz = 0);
Mat4 mat4_mul(const Mat4& a, const Mat4& b);
// General inverse (Gauss-Jordan with partial pivoting); throws pn::Error if singular.
Mat4 mat4_inverse(const Mat4& m);
// Applies m to the point (x, y, z, 1).
std::array<double, 3> mat4_apply(const Mat4& m, const std::array<double, 3>& p);
// Largest absolute element-wise difference.
double mat4_max_diff(const Mat4& a, const Mat4& b);
// Length of column c (0..2): the voxel size along index axis c.
double mat4_column_norm(const Mat4& m, int c);
std::string mat4_string(const Mat4& m);

}  // namespace pn::data
