#include "data/affine.h"

#include <cmath>
#include <utility>

#include "autograd/error.h"

namespace pn::data {

Mat4 mat4_identity() { return mat4_scale_translate(1, 1, 1); }

Mat4 mat4_scale_translate(double sx, double sy, double sz, double tx, double ty, double tz) {
  Mat4 m{};
  m[0][0] = sx; m[1][1] = sy; m[2][2] = sz; m[3][3] = 1;
  m[0][3] = tx; m[1][3] = ty; m[2][3] = tz;
  return m;
}

Mat4 mat4_mul(const Mat4& a, const Mat4& b) {
  Mat4 r{};
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j)
      for (int k = 0; k < 4; ++k) r[i][j] += a[i][k] * b[k][j];
  return r;
}

Mat4 mat4_inverse(const Mat4& m) {
  Mat4 a = m, inv = mat4_identity();
  for (int c = 0; c < 4; ++c) {
    int piv = c;
    for (int r = c + 1; r < 4; ++r)
      if (std::abs(a[r][c]) > std::abs(a[piv][c])) piv = r;
    PN_CHECK(std::abs(a[piv][c]) > 1e-12, "affine matrix is singular:\n{}", mat4_string(m));
    std::swap(a[piv], a[c]);
    std::swap(inv[piv], inv[c]);
    const double d = a[c][c];
    for (int j = 0; j < 4; ++j) { a[c][j] /= d; inv[c][j] /= d; }
    for (int r = 0; r < 4; ++r) {
      if (r == c) continue;
      const double f = a[r][c];
      for (int j = 0; j < 4; ++j) { a[r][j] -= f * a[c][j]; inv[r][j] -= f * inv[c][j]; }
    }
  }
  return inv;
}

std::array<double, 3> mat4_apply(const Mat4& m, const std::array<double, 3>& p) {
  std::array<double, 3> r{};
  for (int i = 0; i < 3; ++i) r[i] = m[i][0] * p[0] + m[i][1] * p[1] + m[i][2] * p[2] + m[i][3];
  return r;
}

double mat4_max_diff(const Mat4& a, const Mat4& b) {
  double d = 0;
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) d = std::max(d, std::abs(a[i][j] - b[i][j]));
  return d;
}

double mat4_column_norm(const Mat4& m, int c) {
  return std::sqrt(m[0][c] * m[0][c] + m[1][c] * m[1][c] + m[2][c] * m[2][c]);
}

std::string mat4_string(const Mat4& m) {
  std::string s;
  for (int i = 0; i < 4; ++i)
    s += fmt::format("[{:10.4f} {:10.4f} {:10.4f} {:10.4f}]{}", m[i][0], m[i][1], m[i][2], m[i][3], i < 3 ? "\n" : "");
  return s;
}

}  // namespace pn::data
