#include "data/augment.h"

#include <cmath>
#include <numbers>

#include "autograd/error.h"
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
  // The sampled volume takes the transformed grid; the content moves, the grid stays.
  if (image) {
    Volume out = sample_linear(*image, d.new_to_old, dims);
    for (float& f : out.data) f *= d.gain;
    image->data.swap(out.data);
  }
  if (mask) {
    check(*mask, "mask");
    mask->data = sample_nearest(*mask, d.new_to_old, dims).data;
  }
  if (labels) {
    check(*labels, "label map");
    labels->data = sample_nearest(*labels, d.new_to_old, dims).data;
  }
}

}  // namespace pn::data
