#include "data/distance_transform.h"

#include <algorithm>
#include <cmath>

#include "autograd/error.h"

namespace pn::data {

namespace {

constexpr double kFar = 1e30;  // "no feature": large, finite (no inf - inf in the envelope)

// d[q] = min_p (q - p)^2 + f[p] over one line of n samples (v, z: scratch of n and n + 1).
void distance_1d(const double* f, int64_t n, double* d, int64_t* v, double* z) {
  int64_t k = 0;
  v[0] = 0;
  z[0] = -kFar, z[1] = kFar;
  for (int64_t q = 1; q < n; ++q) {
    // Where the parabola rooted at q overtakes the rightmost one of the envelope.
    auto cross = [&](int64_t p) {
      return ((f[q] + static_cast<double>(q * q)) - (f[p] + static_cast<double>(p * p))) / static_cast<double>(2 * (q - p));
    };
    double s = cross(v[k]);
    while (k > 0 && s <= z[k]) s = cross(v[--k]);
    if (s <= z[k]) {  // k == 0 and q's parabola lies below v[0]'s everywhere
      v[0] = q;
      z[1] = kFar;
      continue;
    }
    v[++k] = q;
    z[k] = s, z[k + 1] = kFar;
  }
  k = 0;
  for (int64_t q = 0; q < n; ++q) {
    while (z[k + 1] < static_cast<double>(q)) ++k;
    const double dq = static_cast<double>(q - v[k]);
    d[q] = std::min(kFar, dq * dq + f[v[k]]);
  }
}

}  // namespace

std::vector<double> squared_distance_transform(const std::vector<bool>& feature, const Dims3& dims) {
  const int64_t n = dims[0] * dims[1] * dims[2];
  PN_CHECK(static_cast<int64_t>(feature.size()) == n, "squared_distance_transform: {} voxels for a {}x{}x{} grid",
           feature.size(), dims[0], dims[1], dims[2]);
  std::vector<double> g(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) g[static_cast<size_t>(i)] = feature[static_cast<size_t>(i)] ? 0.0 : kFar;
  const int64_t longest = std::max({dims[0], dims[1], dims[2]});
  std::vector<double> line(static_cast<size_t>(longest)), out(static_cast<size_t>(longest)),
      z(static_cast<size_t>(longest + 1));
  std::vector<int64_t> v(static_cast<size_t>(longest));
  const int64_t stride[3] = {1, dims[0], dims[0] * dims[1]};
  for (int axis = 0; axis < 3; ++axis) {  // each line along `axis`, from every start on the other two
    const int64_t len = dims[axis], step = stride[axis];
    for (int64_t start = 0; start < n; ++start) {
      if ((start / step) % len != 0) continue;  // not the first voxel of its line
      for (int64_t q = 0; q < len; ++q) line[static_cast<size_t>(q)] = g[static_cast<size_t>(start + q * step)];
      distance_1d(line.data(), len, out.data(), v.data(), z.data());
      for (int64_t q = 0; q < len; ++q) g[static_cast<size_t>(start + q * step)] = out[static_cast<size_t>(q)];
    }
  }
  return g;
}

std::vector<float> signed_distance_mask(const std::vector<bool>& lesion, const Dims3& dims, double margin) {
  PN_CHECK(margin >= 1, "signed_distance_mask: margin {} must be >= 1 voxel (1: the binary mask)", margin);
  std::vector<bool> background(lesion.size());
  for (size_t i = 0; i < lesion.size(); ++i) background[i] = !lesion[i];
  const std::vector<double> to_lesion = squared_distance_transform(lesion, dims);
  const std::vector<double> to_background = squared_distance_transform(background, dims);
  std::vector<float> out(lesion.size());
  for (size_t i = 0; i < lesion.size(); ++i)
    out[i] = lesion[i] ? static_cast<float>(std::min(1.0, std::sqrt(to_background[i]) / margin))
                       : static_cast<float>(-std::min(1.0, std::sqrt(to_lesion[i]) / margin));
  return out;
}

}  // namespace pn::data
