#include "data/phantom.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include "autograd/error.h"
#include "data/label_scheme.h"
#include "data/noise.h"
#include "data/phantom_anatomy.h"
#include "kernels/math/philox.h"

namespace pn::data {
namespace {

// A small seeded stream for per-subject parameters (not per voxel).
class Stream {
 public:
  explicit Stream(uint64_t seed) : seed_(seed) {}
  double uniform(double lo = 0, double hi = 1) { return lo + (hi - lo) * math::philox_uniform(seed_, n_++); }
  double normal() { return math::philox_normal(seed_, n_++); }
  uint64_t next() { return mix64(seed_ ^ (0xa0761d6478bd642full * ++n_)); }

 private:
  uint64_t seed_, n_ = 0;
};

// DWI-like trace intensity per class (white matter ~0.62, CSF dark, grey brighter).
double class_intensity(int label) {
  if (label == cls::kBackground) return 0.12;  // sulcal / fissure CSF
  if (label == cls::kThirdVentricle || label == cls::kFourthVentricle) return 0.1;
  if (label == cls::kBrainStem) return 0.66;
  const int s = (label - cls::kLeft) % cls::kPerSide;
  static constexpr double side[cls::kPerSide] = {0.62, 0.80, 0.1, 0.60, 0.82, 0.72, 0.78, 0.76, 0.64, 0.86, 0.84, 0.66};
  return side[s];
}

// Per-subject geometry: canonical point = R^T (world - shift) / scale + displacement.
struct Pose {
  double rot[3][3];
  double scale[3], shift[3];
};

Pose random_pose(Stream& st) {
  Pose p{};
  const double yaw = st.uniform(-7, 7) * std::numbers::pi / 180, pitch = st.uniform(-4, 4) * std::numbers::pi / 180;
  const double cy = std::cos(yaw), sy = std::sin(yaw), cp = std::cos(pitch), sp = std::sin(pitch);
  // R = Rz(yaw) * Rx(pitch)
  const double r[3][3] = {{cy, -sy * cp, sy * sp}, {sy, cy * cp, -cy * sp}, {0, sp, cp}};
  std::copy(&r[0][0], &r[0][0] + 9, &p.rot[0][0]);
  for (int a = 0; a < 3; ++a) p.scale[a] = st.uniform(0.92, 1.08);
  p.shift[0] = st.uniform(-4, 4);
  p.shift[1] = st.uniform(-6, 6);
  p.shift[2] = st.uniform(-4, 4);
  return p;
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

// Draws one irregular lesion centred in brain tissue; returns the voxels it took.
int64_t draw_lesion(const PhantomOptions& opt, Stream& st, LabelVolume& labels, bool territorial) {
  const Dims3& d = labels.dims;
  // Centre: a random tissue voxel (cortex or white matter for territorial lesions).
  int64_t centre = -1;
  for (int tries = 0; tries < 10000 && centre < 0; ++tries) {
    const auto idx = static_cast<int64_t>(st.uniform() * static_cast<double>(labels.numel())) % labels.numel();
    const int l = labels.data[idx];
    if (!is_brain_tissue(l)) continue;
    const int sub = (l - cls::kLeft) % cls::kPerSide;
    if (territorial && (l >= cls::kThirdVentricle || (sub != cls::kWM && sub != cls::kCortex))) continue;
    centre = idx;
  }
  if (centre < 0) return 0;
  const int64_t ci = centre % d[0], cj = centre / d[0] % d[1], ck = centre / (d[0] * d[1]);
  const int centre_label = labels.data[centre];
  const bool left = centre_label >= cls::kLeft && centre_label < cls::kRight;
  const bool right = centre_label >= cls::kRight && centre_label < cls::kThirdVentricle;
  const double vol_ml = territorial ? std::exp(st.uniform(std::log(30.0), std::log(150.0)))
                                    : std::exp(st.uniform(std::log(opt.min_lesion_ml), std::log(opt.max_lesion_ml)));
  const double radius = std::cbrt(3 * vol_ml * 1000 / (4 * std::numbers::pi));  // mm
  double axes[3];
  for (double& a : axes) a = radius * st.uniform(0.7, 1.35);
  ValueNoise shape(st.next());
  const Vec3& sp = labels.spacing;
  int64_t lo[3], hi[3];
  const int64_t c[3] = {ci, cj, ck};
  for (int a = 0; a < 3; ++a) {
    const auto ext = static_cast<int64_t>(std::ceil(axes[a] * 1.6 / sp[a]));
    lo[a] = std::max<int64_t>(0, c[a] - ext);
    hi[a] = std::min<int64_t>(d[a] - 1, c[a] + ext);
  }
  // Which hemisphere a voxel belongs to: lesions follow one vascular territory.
  auto same_side = [&](int l) {
    if (left) return l >= cls::kLeft && l < cls::kRight;
    if (right) return l >= cls::kRight && l < cls::kThirdVentricle;
    return l >= cls::kThirdVentricle || (l - cls::kLeft) % cls::kPerSide == cls::kCblmWM ||
           (l - cls::kLeft) % cls::kPerSide == cls::kCblmCortex;
  };
  int64_t taken = 0;
  for (int64_t k = lo[2]; k <= hi[2]; ++k)
    for (int64_t j = lo[1]; j <= hi[1]; ++j)
      for (int64_t i = lo[0]; i <= hi[0]; ++i) {
        const double x = (i - ci) * sp[0] / axes[0], y = (j - cj) * sp[1] / axes[1], z = (k - ck) * sp[2] / axes[2];
        const double r = std::sqrt(x * x + y * y + z * z);
        // Irregular boundary: the radius varies with direction and position.
        const double edge = 1 + 0.45 * shape.fractal(x * 1.3, y * 1.3, z * 1.3, 2);
        if (r > edge) continue;
        int32_t& l = labels.at(i, j, k);
        if (!is_brain_tissue(l) || !same_side(l)) continue;
        l = cls::kLesion;
        ++taken;
      }
  if (taken == 0) {  // a lesion smaller than a voxel still marks its centre voxel
    labels.data[centre] = cls::kLesion;
    taken = 1;
  }
  return taken;
}

}  // namespace

uint64_t phantom_subject_seed(uint64_t seed, int64_t index, bool stroke) {
  return mix64(mix64(seed * 2 + (stroke ? 1 : 0)) ^ static_cast<uint64_t>(index));
}

PhantomSubject make_phantom_subject(const PhantomOptions& opt, uint64_t seed, bool stroke) {
  for (int a = 0; a < 3; ++a)
    PN_CHECK(opt.size[a] >= 4 && opt.size[a] <= 1024 && opt.fov_mm[a] > 0, "phantom: bad grid {} over {} mm",
             dims_string(opt.size), fmt::join(opt.fov_mm, "x"));
  Stream st(mix64(seed));
  const Vec3 spacing{opt.fov_mm[0] / opt.size[0], opt.fov_mm[1] / opt.size[1], opt.fov_mm[2] / opt.size[2]};
  const Grid grid = Grid::centred(opt.size, spacing);
  AnatomyParams ap;
  for (double& s : ap.brain_scale) s = st.uniform(0.95, 1.05);
  ap.ventricle_scale = std::exp(st.uniform(std::log(0.7), std::log(1.6)));
  ap.cortex_mm = st.uniform(2.5, 3.5);
  const BrainTemplate brain(ap, st.next());
  const Pose pose = random_pose(st);
  const ValueNoise warp[3] = {ValueNoise(st.next()), ValueNoise(st.next()), ValueNoise(st.next())};
  const ValueNoise texture(st.next()), bias(st.next());
  double class_gain[cls::kNumClasses];
  for (double& g : class_gain) g = 1 + 0.04 * st.normal();
  const double global_gain = st.uniform(0.85, 1.15);
  const double dz_canonical = -2.0;  // the slab starts just below the cerebellum

  PhantomSubject out;
  out.labels = LabelVolume::zeros_on(grid);
  std::vector<uint8_t> inside(static_cast<size_t>(grid.numel()));
  const Dims3& d = grid.dims;
#pragma omp parallel for schedule(static)
  for (int64_t k = 0; k < d[2]; ++k)
    for (int64_t j = 0; j < d[1]; ++j)
      for (int64_t i = 0; i < d[0]; ++i) {
        // World point (mm), then the subject's pose and smooth displacement.
        const double w[3] = {(i - (d[0] - 1) / 2.0) * spacing[0], (j - (d[1] - 1) / 2.0) * spacing[1],
                             (k - (d[2] - 1) / 2.0) * spacing[2]};
        double q[3];
        for (int a = 0; a < 3; ++a) {
          q[a] = 0;
          for (int b = 0; b < 3; ++b) q[a] += pose.rot[b][a] * (w[b] - pose.shift[b]);
          q[a] /= pose.scale[a];
        }
        const int64_t idx = grid.index(i, j, k);
        // Points far outside the template's bounding box (with room for the deformation and
        // the brain-size factors) are background: skip the noise evaluations there.
        const double margin = 2 * opt.deformation_mm + 6;
        if (std::abs(q[0]) > 72 + margin || q[1] < -92 - margin || q[1] > 86 + margin ||
            q[2] - dz_canonical < -78 - margin || q[2] - dz_canonical > 70 + margin) {
          out.labels.data[idx] = cls::kBackground;
          inside[idx] = 0;
          continue;
        }
        double p[3];
        for (int a = 0; a < 3; ++a) p[a] = q[a] + opt.deformation_mm * warp[a].at(q[0] / 45.0, q[1] / 45.0, q[2] / 45.0);
        bool in = false;
        out.labels.data[idx] = brain.label(p[0], p[1], p[2] - dz_canonical, &in);
        inside[idx] = in;
      }

  if (stroke) {
    const bool territorial = st.uniform() < opt.territorial_probability;
    int n = 1;
    while (n < opt.max_lesions && st.uniform() < 0.4) ++n;
    for (int l = 0; l < n; ++l)
      if (draw_lesion(opt, st, out.labels, territorial && l == 0) > 0) ++out.lesion_count;
  }

  // Contrast: class value x gain x texture, lesions brighter than the tissue they replaced.
  out.image = Volume::zeros_on(grid);
  const double lesion_gain = st.uniform(1.6, 2.3);
  std::vector<float>& img = out.image.data;
#pragma omp parallel for schedule(static)
  for (int64_t k = 0; k < d[2]; ++k)
    for (int64_t j = 0; j < d[1]; ++j)
      for (int64_t i = 0; i < d[0]; ++i) {
        const int64_t idx = grid.index(i, j, k);
        if (!inside[idx]) continue;
        const int l = out.labels.data[idx];
        const double x = i * spacing[0], y = j * spacing[1], z = k * spacing[2];
        double v = l == cls::kLesion ? 0.72 * lesion_gain : class_intensity(l) * class_gain[l];
        v *= 1 + opt.texture * texture.fractal(x / 5.0, y / 5.0, z / 5.0, 2);
        v *= std::exp(opt.bias_strength * bias.at(x / 110.0, y / 110.0, z / 110.0));
        img[idx] = static_cast<float>(v * global_gain);
      }
  blur_axis(img, d, 0, opt.blur_voxels);
  blur_axis(img, d, 1, opt.blur_voxels);
  blur_axis(img, d, 2, opt.blur_voxels * 0.6);
  // Rician noise inside the brain; the skull-stripped outside stays exactly zero.
  const uint64_t noise_seed = st.next();
#pragma omp parallel for schedule(static)
  for (int64_t idx = 0; idx < grid.numel(); ++idx) {
    if (!inside[idx]) { img[idx] = 0; continue; }
    const double a = img[idx] + opt.noise_sigma * math::philox_normal(noise_seed, 2 * idx);
    const double b = opt.noise_sigma * math::philox_normal(noise_seed, 2 * idx + 1);
    img[idx] = static_cast<float>(std::sqrt(a * a + b * b) * opt.intensity_scale);
  }
  out.mask = LabelVolume::zeros_on(grid);
  for (int64_t idx = 0; idx < grid.numel(); ++idx) out.mask.data[idx] = out.labels.data[idx] == cls::kLesion;
  out.image.header.descrip = out.labels.header.descrip = out.mask.header.descrip = "penumbra phantom";
  return out;
}

}  // namespace pn::data
