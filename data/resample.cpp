#include "data/resample.h"

#include <algorithm>
#include <cmath>

#include "autograd/error.h"

namespace pn::data {
namespace {

// Fills a volume on grid g voxel by voxel with f(old continuous index of the voxel).
template <class T, class Map, class F>
BasicVolume<T> fill_grid(const Grid& g, const Map& map, F&& f) {
  BasicVolume<T> out = BasicVolume<T>::zeros_on(g);
  const Dims3& dims = g.dims;
#pragma omp parallel for schedule(static)
  for (int64_t k = 0; k < dims[2]; ++k)
    for (int64_t j = 0; j < dims[1]; ++j)
      for (int64_t i = 0; i < dims[0]; ++i) out.data[static_cast<size_t>(out.index(i, j, k))] = f(map(i, j, k));
  return out;
}

template <class T, class F>
BasicVolume<T> sample(const BasicVolume<T>& v, const Mat4& new_to_old, const Dims3& dims, F&& f) {
  for (int a = 0; a < 3; ++a) PN_CHECK(dims[a] >= 1, "resample: bad target size {}", dims_string(dims));
  Grid g = v.grid();
  g.reindex(new_to_old, dims);
  auto map = [&](int64_t i, int64_t j, int64_t k) {
    return mat4_apply(new_to_old, {static_cast<double>(i), static_cast<double>(j), static_cast<double>(k)});
  };
  return fill_grid<T>(g, map, f);
}

// Trilinear value at continuous index p (edge-clamped within half a voxel, else fill).
float linear_at(const Volume& v, const std::array<double, 3>& p, float fill) {
  const Dims3& n = v.dims;
  double c[3];
  for (int a = 0; a < 3; ++a) {
    if (p[a] < -0.5 || p[a] > n[a] - 0.5) return fill;
    c[a] = std::clamp(p[a], 0.0, static_cast<double>(n[a] - 1));
  }
  int64_t i0[3], i1[3];
  double t[3];
  for (int a = 0; a < 3; ++a) {
    i0[a] = std::min<int64_t>(static_cast<int64_t>(std::floor(c[a])), n[a] - 1);
    i1[a] = std::min<int64_t>(i0[a] + 1, n[a] - 1);
    t[a] = c[a] - static_cast<double>(i0[a]);
  }
  double acc = 0;
  for (int corner = 0; corner < 8; ++corner) {
    const int bx = corner & 1, by = (corner >> 1) & 1, bz = corner >> 2;
    const double w = (bx ? t[0] : 1 - t[0]) * (by ? t[1] : 1 - t[1]) * (bz ? t[2] : 1 - t[2]);
    if (w == 0) continue;
    acc += w * v.at(bx ? i1[0] : i0[0], by ? i1[1] : i0[1], bz ? i1[2] : i0[2]);
  }
  return static_cast<float>(acc);
}

int32_t nearest_at(const LabelVolume& v, const std::array<double, 3>& p, int32_t fill) {
  int64_t q[3];
  for (int a = 0; a < 3; ++a) {
    q[a] = static_cast<int64_t>(std::floor(p[a] + 0.5));
    if (q[a] < 0 || q[a] >= v.dims[a]) return fill;
  }
  return v.at(q[0], q[1], q[2]);
}

Mat4 translation(double x, double y, double z) { return mat4_scale_translate(1, 1, 1, x, y, z); }

Mat4 centre_crop(const Dims3& from, const Dims3& to) {
  // Old index = new index + (from - to) / 2, rounded towards the low end.
  double off[3];
  for (int a = 0; a < 3; ++a) off[a] = std::floor((from[a] - to[a]) / 2.0);
  return translation(off[0], off[1], off[2]);
}

Mat4 to_spacing(const Grid& g, const Vec3& spacing, Dims3& dims) {
  Mat4 m = mat4_identity();
  for (int a = 0; a < 3; ++a) {
    PN_CHECK(spacing[a] > 0, "resample_to_spacing: spacing must be positive, got {}", fmt::join(spacing, "x"));
    dims[a] = std::max<int64_t>(1, std::llround(g.dims[a] * g.spacing[a] / spacing[a]));
    const double f = static_cast<double>(g.dims[a]) / static_cast<double>(dims[a]);  // keeps the field of view exactly
    m[a][a] = f;
    m[a][3] = 0.5 * f - 0.5;  // voxel centres: (i' + 1/2) f - 1/2
  }
  return m;
}

}  // namespace

Volume sample_linear(const Volume& v, const Mat4& new_to_old, const Dims3& dims, float fill) {
  return sample(v, new_to_old, dims, [&](const std::array<double, 3>& p) { return linear_at(v, p, fill); });
}

LabelVolume sample_nearest(const LabelVolume& v, const Mat4& new_to_old, const Dims3& dims, int32_t fill) {
  return sample(v, new_to_old, dims, [&](const std::array<double, 3>& p) { return nearest_at(v, p, fill); });
}

Volume warp_linear(const Volume& v, const IndexMap& new_to_old, float fill) {
  return fill_grid<float>(v.grid(), new_to_old, [&](const std::array<double, 3>& p) { return linear_at(v, p, fill); });
}

LabelVolume warp_nearest(const LabelVolume& v, const IndexMap& new_to_old, int32_t fill) {
  return fill_grid<int32_t>(v.grid(), new_to_old, [&](const std::array<double, 3>& p) { return nearest_at(v, p, fill); });
}

Volume crop_or_pad(const Volume& v, const Dims3& dims, float fill) {
  return sample_linear(v, centre_crop(v.dims, dims), dims, fill);
}
LabelVolume crop_or_pad(const LabelVolume& v, const Dims3& dims, int32_t fill) {
  return sample_nearest(v, centre_crop(v.dims, dims), dims, fill);
}

Volume slice_range(const Volume& v, int64_t k0, int64_t k1) {
  PN_CHECK(0 <= k0 && k0 < k1 && k1 <= v.dims[2], "slice_range: [{}, {}) is not inside the {} slices of {}", k0, k1,
           v.dims[2], grid_string(v));
  return sample_linear(v, translation(0, 0, static_cast<double>(k0)), {v.dims[0], v.dims[1], k1 - k0});
}
LabelVolume slice_range(const LabelVolume& v, int64_t k0, int64_t k1) {
  PN_CHECK(0 <= k0 && k0 < k1 && k1 <= v.dims[2], "slice_range: [{}, {}) is not inside the {} slices of {}", k0, k1,
           v.dims[2], grid_string(v));
  return sample_nearest(v, translation(0, 0, static_cast<double>(k0)), {v.dims[0], v.dims[1], k1 - k0});
}

namespace {
template <class T, class F>
BasicVolume<T> onto(const BasicVolume<T>& v, const Grid& target, F&& sample_fn) {
  BasicVolume<T> out = sample_fn(v, mat4_mul(mat4_inverse(v.affine), target.affine), target.dims);
  static_cast<Grid&>(out) = target;
  return out;
}
}  // namespace

Volume resample_onto(const Volume& v, const Grid& target, float fill) {
  return onto(v, target, [&](const Volume& s, const Mat4& m, const Dims3& d) { return sample_linear(s, m, d, fill); });
}
LabelVolume resample_onto(const LabelVolume& v, const Grid& target, int32_t fill) {
  return onto(v, target, [&](const LabelVolume& s, const Mat4& m, const Dims3& d) { return sample_nearest(s, m, d, fill); });
}

double field_of_view_overlap(const Grid& source, const Grid& target) {
  const Mat4 m = mat4_mul(mat4_inverse(source.affine), target.affine);
  int64_t inside = 0;
  for (int64_t k = 0; k < target.dims[2]; ++k)
    for (int64_t j = 0; j < target.dims[1]; ++j)
      for (int64_t i = 0; i < target.dims[0]; ++i) {
        const auto p = mat4_apply(m, {static_cast<double>(i), static_cast<double>(j), static_cast<double>(k)});
        bool in = true;
        for (int a = 0; a < 3; ++a) in = in && p[a] >= -0.5 && p[a] <= source.dims[a] - 0.5;
        inside += in;
      }
  return target.numel() > 0 ? static_cast<double>(inside) / static_cast<double>(target.numel()) : 0.0;
}

Volume resample_to_spacing(const Volume& v, const Vec3& spacing) {
  Dims3 dims;
  const Mat4 m = to_spacing(v, spacing, dims);
  return sample_linear(v, m, dims);
}
LabelVolume resample_to_spacing(const LabelVolume& v, const Vec3& spacing) {
  Dims3 dims;
  const Mat4 m = to_spacing(v, spacing, dims);
  return sample_nearest(v, m, dims);
}

}  // namespace pn::data
