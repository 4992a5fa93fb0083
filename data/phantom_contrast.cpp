#include "data/phantom_contrast.h"

#include <algorithm>
#include <cmath>

#include "autograd/error.h"
#include "kernels/math/philox.h"

namespace pn::data {
namespace {

// DWI-like trace intensity per class (white matter ~0.62, CSF dark, grey brighter).
double class_intensity(int label) {
  if (label == cls::kBackground) return 0.12;  // sulcal / fissure CSF
  if (label == cls::kThirdVentricle || label == cls::kFourthVentricle) return 0.1;
  if (label == cls::kBrainStem) return 0.66;
  const int s = (label - cls::kLeft) % cls::kPerSide;
  static constexpr double side[cls::kPerSide] = {0.62, 0.80, 0.1, 0.60, 0.82, 0.72, 0.78, 0.76, 0.64, 0.86, 0.84, 0.66};
  return side[s];
}

// Separable Gaussian blur along one axis (sigma in voxels; edges clamp).
void blur_axis(std::vector<float>& v, const Dims3& d, int axis, double sigma) {
  if (sigma <= 0.05 || d[axis] < 2) return;
  const int r = static_cast<int>(std::ceil(3 * sigma));
  std::vector<double> w(2 * r + 1);
  double sum = 0;
  for (int t = -r; t <= r; ++t) sum += w[t + r] = std::exp(-0.5 * t * t / (sigma * sigma));
  for (double& x : w) x /= sum;
  const int64_t stride = axis == 0 ? 1 : axis == 1 ? d[0] : d[0] * d[1];
  const int64_t n = d[axis];
  const int64_t lines = d[0] * d[1] * d[2] / n;
  std::vector<float> out(v.size());
#pragma omp parallel for schedule(static)
  for (int64_t l = 0; l < lines; ++l) {
    // Start of line l: enumerate the other two axes.
    int64_t base;
    if (axis == 0) base = l * d[0];
    else if (axis == 1) base = (l / d[0]) * d[0] * d[1] + l % d[0];
    else base = l;
    for (int64_t i = 0; i < n; ++i) {
      double acc = 0;
      for (int t = -r; t <= r; ++t) {
        const int64_t j = std::clamp<int64_t>(i + t, 0, n - 1);
        acc += w[t + r] * v[base + j * stride];
      }
      out[base + i * stride] = static_cast<float>(acc);
    }
  }
  v.swap(out);
}

}  // namespace

Contrast draw_contrast(SeedStream& st) {
  Contrast c{ValueNoise(st.next()), ValueNoise(st.next()), {}, 0};
  for (double& g : c.class_gain) g = 1 + 0.04 * st.normal();
  c.global_gain = st.uniform(0.85, 1.15);
  return c;
}

Volume render_from_labels(const PhantomOptions& opt, const Contrast& c, SeedStream& st, const LabelVolume& labels,
                          const std::vector<uint8_t>& inside) {
  PN_CHECK(inside.size() == static_cast<size_t>(labels.numel()),
           "render_from_labels: brain mask of {} voxels for a label map of {}", inside.size(), labels.numel());
  for (const int32_t l : labels.data)
    PN_CHECK(l >= 0 && l < cls::kNumClasses, "render_from_labels: label {} outside the 29-class scheme", l);
  // Contrast: class value x gain x texture, lesions brighter than the tissue they replaced.
  Volume image = Volume::zeros_on(labels.grid());
  const double lesion_gain = st.uniform(1.6, 2.3);
  std::vector<float>& img = image.data;
  const Dims3& d = labels.dims;
  const Vec3& spacing = labels.spacing;
#pragma omp parallel for schedule(static)
  for (int64_t k = 0; k < d[2]; ++k)
    for (int64_t j = 0; j < d[1]; ++j)
      for (int64_t i = 0; i < d[0]; ++i) {
        const int64_t idx = labels.index(i, j, k);
        if (!inside[idx]) continue;
        const int l = labels.data[idx];
        const double x = i * spacing[0], y = j * spacing[1], z = k * spacing[2];
        double v = l == cls::kLesion ? 0.72 * lesion_gain : class_intensity(l) * c.class_gain[l];
        v *= 1 + opt.texture * c.texture.fractal(x / 5.0, y / 5.0, z / 5.0, 2);
        v *= std::exp(opt.bias_strength * c.bias.at(x / 110.0, y / 110.0, z / 110.0));
        img[idx] = static_cast<float>(v * c.global_gain);
      }
  blur_axis(img, d, 0, opt.blur_voxels);
  blur_axis(img, d, 1, opt.blur_voxels);
  blur_axis(img, d, 2, opt.blur_voxels * 0.6);
  // Rician noise inside the brain; the skull-stripped outside stays exactly zero.
  const uint64_t noise_seed = st.next();
#pragma omp parallel for schedule(static)
  for (int64_t idx = 0; idx < labels.numel(); ++idx) {
    if (!inside[idx]) { img[idx] = 0; continue; }
    const double a = img[idx] + opt.noise_sigma * math::philox_normal(noise_seed, 2 * idx);
    const double b = opt.noise_sigma * math::philox_normal(noise_seed, 2 * idx + 1);
    img[idx] = static_cast<float>(std::sqrt(a * a + b * b) * opt.intensity_scale);
  }
  return image;
}

LabelVolume lesion_mask_of(const LabelVolume& labels) {
  LabelVolume mask = LabelVolume::zeros_on(labels.grid());
  for (int64_t idx = 0; idx < labels.numel(); ++idx) mask.data[idx] = labels.data[idx] == cls::kLesion;
  return mask;
}

}  // namespace pn::data
