#include "data/augment.h"

#include <cmath>
#include <numbers>

#include "autograd/error.h"
#include "data/noise.h"
#include "data/resample.h"
#include "kernels/math/philox.h"

namespace pn::data {

AugmentDraw draw_augmentation(const AugmentOptions& opt, const Grid& g, uint64_t seed) {
  uint64_t n = 0;
  auto u = [&](double lo, double hi) { return lo + (hi - lo) * math::philox_uniform(seed, n++); };
  auto happens = [&](double p) { return u(0, 1) < p; };
  // The transform acts in millimetres about the grid centre: A maps output to input points.
  Mat4 a = mat4_identity();
  if (happens(opt.flip_probability)) a = mat4_mul(a, mat4_scale_translate(-1, 1, 1));
  if (happens(opt.rotate_probability)) {
    const double t = u(-opt.rotate_degrees, opt.rotate_degrees) * std::numbers::pi / 180;
    Mat4 r = mat4_identity();
    r[0][0] = std::cos(t); r[0][1] = -std::sin(t); r[1][0] = std::sin(t); r[1][1] = std::cos(t);
    a = mat4_mul(a, r);
  }
  if (happens(opt.zoom_probability)) {
    const double z = 1 + u(-opt.zoom, opt.zoom);
    a = mat4_mul(a, mat4_scale_translate(z, z, 1));
  }
  if (happens(opt.shear_probability)) {
    Mat4 s = mat4_identity();
    s[0][1] = u(-opt.shear, opt.shear);
    a = mat4_mul(a, s);
  }
  if (happens(opt.shift_probability)) {
    a[0][3] += u(-opt.shift, opt.shift) * g.dims[0] * g.spacing[0];
    a[1][3] += u(-opt.shift, opt.shift) * g.dims[1] * g.spacing[1];
  }
  AugmentDraw d;
  d.spacing = g.spacing;
  if (happens(opt.elastic_probability)) {
    d.elastic = true;
    d.elastic_seed = static_cast<uint64_t>(u(0, 1) * 9007199254740992.0);
    d.elastic_mm = opt.elastic_mm;
    d.elastic_scale_mm = opt.elastic_scale_mm;
  }
  if (happens(opt.intensity_probability)) d.gain = static_cast<float>(1 + u(-opt.intensity_gain, opt.intensity_gain));
  // index -> centred mm -> A -> back to index.
  Mat4 to_mm = mat4_scale_translate(g.spacing[0], g.spacing[1], g.spacing[2], -g.spacing[0] * (g.dims[0] - 1) / 2.0,
                                    -g.spacing[1] * (g.dims[1] - 1) / 2.0, -g.spacing[2] * (g.dims[2] - 1) / 2.0);
  d.new_to_old = mat4_mul(mat4_inverse(to_mm), mat4_mul(a, to_mm));
  return d;
}

void apply_augmentation(const AugmentDraw& d, Volume* image, LabelVolume* mask, LabelVolume* labels) {
  const Grid* ref = image ? &image->grid() : mask ? &mask->grid() : labels ? &labels->grid() : nullptr;
  if (!ref) return;
  const Dims3 dims = ref->dims;
  auto check = [&](const Grid& g, const char* what) {
    PN_CHECK(g.dims == dims, "augment: the {} is {} but the image is {}", what, dims_string(g.dims), dims_string(dims));
  };
  // New voxel v reads old index A (v + u(v)), u the elastic displacement in voxels.
  const ValueNoise field[3] = {ValueNoise(d.elastic_seed), ValueNoise(d.elastic_seed + 1), ValueNoise(d.elastic_seed + 2)};
  const IndexMap map = [&](int64_t i, int64_t j, int64_t k) {
    double p[3] = {static_cast<double>(i), static_cast<double>(j), static_cast<double>(k)};
    if (d.elastic) {
      const double x = i * d.spacing[0] / d.elastic_scale_mm, y = j * d.spacing[1] / d.elastic_scale_mm,
                   z = k * d.spacing[2] / d.elastic_scale_mm;
      for (int a = 0; a < 3; ++a) p[a] += d.elastic_mm * field[a].at(x, y, z) / d.spacing[a];
    }
    return mat4_apply(d.new_to_old, {p[0], p[1], p[2]});
  };
  // The content moves; the grid stays.
  if (image) {
    Volume out = warp_linear(*image, map);
    for (float& f : out.data) f *= d.gain;
    image->data.swap(out.data);
  }
  if (mask) {
    check(*mask, "mask");
    mask->data = warp_nearest(*mask, map).data;
  }
  if (labels) {
    check(*labels, "label map");
    labels->data = warp_nearest(*labels, map).data;
  }
}

}  // namespace pn::data
