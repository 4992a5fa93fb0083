#include "data/atlas_anatomy.h"

#include <cmath>
#include <filesystem>
#include <mutex>
#include <vector>

#include "autograd/error.h"
#include "data/nifti_io.h"
#include "data/shared_data.h"

namespace pn::data {
namespace {

enum Tissue : uint8_t { kOutside = 0, kCsf, kGrey, kWhite };

// Squared normalised distance to an ellipsoid centred at (cx, cy, cz) (mm): < 1 inside.
double ell(double x, double y, double z, double cx, double cy, double cz, double ax, double ay, double az) {
  const double u = (x - cx) / ax, v = (y - cy) / ay, w = (z - cz) / az;
  return u * u + v * v + w * w;
}

// The tentorium cerebelli, fitted by eye to sagittal and coronal sections of the template
// (MNI mm): laterally it runs from z = -28 at y = -50 up to z = -19 at y = -85; at the
// midline it rises to the top of the vermis (z = -6 at y = -50, -10 at y = -70, -14.5 at
// y = -85), blending over |x| < 25 mm. Tissue below it and behind y = -32 is cerebellum.
double tentorium_z(double x, double y) {
  const double lateral = -28 + 0.25 * (-50 - y);
  const double midline = std::min(-6.0, -4 + 0.3 * (y + 50));
  return lateral + (midline - lateral) * std::max(0.0, 1 - std::abs(x) / 25);
}
bool in_cerebellum(double x, double y, double z) { return y < -32 && z < tentorium_z(x, y); }

// The brain stem as an elliptic column around its axis (read off the midline sagittal
// section: centre y = -18 at z = -10 (midbrain), -23 at z = -30 (pons), -40 at z = -60
// (medulla)); semi-axes 14 x 11 mm (midbrain), 17 x 13 (pons), 10 x 9 (medulla). Above
// z = -8 lies the diencephalon; the template ends at z = -72.
bool in_brain_stem(double x, double y, double z) {
  if (z > -8) return false;
  const double yc = z > -30 ? -18 + 0.25 * (z + 10) : -23 + 0.57 * (z + 30);
  const double ax = z > -18 ? 14 : z > -45 ? 17 : 10, ay = z > -18 ? 11 : z > -45 ? 13 : 9;
  const double u = x / ax, v = (y - yc) / ay;
  return u * u + v * v < 1;
}

// Midline CSF boxes: the 3rd ventricle is the slit between the thalami (|x| <= 3.5,
// y -28..2, z -10..14); the 4th lies between pons and cerebellum (|x| <= 8, y -52..-32,
// z -48..-18).
bool in_third_ventricle(double x, double y, double z) { return std::abs(x) <= 3.5 && y >= -28 && y <= 2 && z >= -10 && z <= 14; }
bool in_fourth_ventricle(double x, double y, double z) { return std::abs(x) <= 8 && y >= -52 && y <= -32 && z >= -48 && z <= -18; }

// Deep grey nuclei (|x| = ax; centres and extents after the Harvard-Oxford subcortical
// atlas in MNI space, rounded to whole mm). Only GM-dominant voxels take them: the nuclei
// are the GM islands inside the deep white matter, so the data decide their shape within
// these bounds and the white matter around them stays white matter.
int deep_nucleus(double ax, double y, double z, Tissue t) {
  if (t == kGrey && ell(ax, y, z, 12, -18, 7, 9, 16, 11) < 1) return cls::kThalamus;
  // Caudate: the head beside the frontal horn, the body arching back over the thalamus.
  if (t == kGrey && (ell(ax, y, z, 13, 12, 7, 7, 13, 11) < 1 || ell(ax, y, z, 17, -12, 20, 5, 14, 6) < 1))
    return cls::kCaudate;
  // No pallidum: it is myelinated (pale on T1) and white matter in these maps (a rule of
  // >= 30 % GM in its ellipsoid found 0.2 ml), so it cannot be told from the capsules.
  if (t == kGrey && ell(ax, y, z, 25, 1, 1, 7, 19, 12) < 1) return cls::kPutamen;
  return -1;
}

// The lateral ventricles: CSF 6-connected to seeds in the ventricle bodies (|x| 4..18,
// y -25..15, z 10..20: deep enough that no sulcus reaches there), not crossing the
// midline (|x| < 2, where the septum and the fissure lie) and within |x| <= 40, y -60..40,
// z -32..36 (frontal, occipital and temporal horns). Flooding follows the real shape.
void flood_lateral_ventricles(LabelVolume& labels, const std::vector<uint8_t>& tissue, const Mat4& affine) {
  const Dims3& d = labels.dims;
  auto world = [&](int64_t idx) {
    const int64_t i = idx % d[0], j = idx / d[0] % d[1], k = idx / (d[0] * d[1]);
    return mat4_apply(affine, {static_cast<double>(i), static_cast<double>(j), static_cast<double>(k)});
  };
  auto open = [&](int64_t idx) {
    if (tissue[idx] != kCsf || labels.data[idx] != cls::kBackground) return false;
    const auto w = world(idx);
    const double ax = std::abs(w[0]);
    return ax >= 2 && ax <= 40 && w[1] >= -60 && w[1] <= 40 && w[2] >= -32 && w[2] <= 36 && !in_cerebellum(w[0], w[1], w[2]);
  };
  std::vector<int64_t> stack;
  auto visit = [&](int64_t idx) {
    if (!open(idx)) return;
    labels.data[idx] = world(idx)[0] < 0 ? cls::left(cls::kLatVent) : cls::right(cls::kLatVent);
    stack.push_back(idx);
  };
  for (int64_t idx = 0; idx < labels.numel(); ++idx) {
    const auto w = world(idx);
    const double ax = std::abs(w[0]);
    if (ax >= 4 && ax <= 18 && w[1] >= -25 && w[1] <= 15 && w[2] >= 10 && w[2] <= 20) visit(idx);
  }
  const int64_t step[3] = {1, d[0], d[0] * d[1]};
  while (!stack.empty()) {
    const int64_t idx = stack.back();
    stack.pop_back();
    const int64_t c[3] = {idx % d[0], idx / d[0] % d[1], idx / (d[0] * d[1])};
    for (int a = 0; a < 3; ++a) {
      if (c[a] > 0) visit(idx - step[a]);
      if (c[a] + 1 < d[a]) visit(idx + step[a]);
    }
  }
}

}  // namespace

AtlasAnatomy derive_atlas_anatomy(const Volume& t1, const Volume& gm, const Volume& wm) {
  check_same_grid(t1, "ICBM152 T1", gm, "ICBM152 GM");
  check_same_grid(t1, "ICBM152 T1", wm, "ICBM152 WM");
  AtlasAnatomy a;
  a.labels = LabelVolume::zeros_on(t1.grid());
  a.brain = LabelVolume::zeros_on(t1.grid());
  a.labels.header = a.brain.header = NiftiInfo{};  // written as new maps with the MNI affine
  const Dims3& d = t1.dims;
  std::vector<uint8_t> tissue(static_cast<size_t>(t1.numel()), kOutside);
#pragma omp parallel for schedule(static)
  for (int64_t k = 0; k < d[2]; ++k)
    for (int64_t j = 0; j < d[1]; ++j)
      for (int64_t i = 0; i < d[0]; ++i) {
        const int64_t idx = t1.index(i, j, k);
        if (!(t1.data[idx] > 0)) continue;  // skull-stripped: outside the brain
        a.brain.data[idx] = 1;
        const double g = gm.data[idx] / 255.0, w = wm.data[idx] / 255.0, c = std::max(0.0, 1 - g - w);
        const Tissue t = c >= g && c >= w ? kCsf : g > w ? kGrey : kWhite;
        tissue[idx] = t;
        const auto p = mat4_apply(t1.affine, {static_cast<double>(i), static_cast<double>(j), static_cast<double>(k)});
        const double x = p[0], y = p[1], z = p[2];
        // MNI x < 0 is the left hemisphere; the x = 0 column alternates (checkerboard in
        // j, k) so that neither side gets the whole midline.
        const bool left = x < -0.5 || (std::abs(x) <= 0.5 && (j + k) % 2 == 0);
        const int side = left ? cls::kLeft : cls::kRight;
        int label = cls::kBackground;
        if (t == kCsf) {
          if (in_fourth_ventricle(x, y, z)) label = cls::kFourthVentricle;
          else if (in_third_ventricle(x, y, z)) label = cls::kThirdVentricle;
          // else sulcal / cisternal CSF: background inside the brain (lateral ventricles below).
        } else if (in_brain_stem(x, y, z)) {
          label = cls::kBrainStem;
        } else if (in_cerebellum(x, y, z)) {
          label = side + (t == kGrey ? cls::kCblmCortex : cls::kCblmWM);
        } else {
          const int nucleus = deep_nucleus(std::abs(x), y, z, t);
          label = side + (nucleus >= 0 ? nucleus : t == kGrey ? cls::kCortex : cls::kWM);
        }
        a.labels.data[idx] = label;
      }
  flood_lateral_ventricles(a.labels, tissue, t1.affine);
  a.source = "synthetic";
  return a;
}

std::shared_ptr<const AtlasAnatomy> load_icbm152_anatomy(const std::string& dir) {
  namespace fs = std::filesystem;
  auto read = [&](const char* kind) {
    const fs::path p = fs::path(dir) / fmt::format("mni_icbm152_{}_tal_nlin_sym_09a_converted.nii.gz", kind);
    PN_CHECK(fs::is_regular_file(p), "{}: ICBM152 {} map missing (expected the 2009a symmetric template here)",
             p.string(), kind);
    Volume v = read_nifti(p.string());
    PN_CHECK(v.dims == Dims3({197, 233, 189}), "{}: ICBM152 map of {} voxels, expected 197x233x189", p.string(),
             dims_string(v.dims));
    return v;
  };
  const Volume t1 = read("t1"), gm = read("gm"), wm = read("wm");
  auto a = std::make_shared<AtlasAnatomy>(derive_atlas_anatomy(t1, gm, wm));
  a->source = dir;
  return a;
}

std::shared_ptr<const AtlasAnatomy> shared_icbm152_anatomy() {
  static std::mutex mu;
  static std::shared_ptr<const AtlasAnatomy> cached;
  const std::lock_guard<std::mutex> lock(mu);
  if (!cached) {
    const auto dir = shared_data_path("icbm152");
    if (!dir) return nullptr;
    cached = load_icbm152_anatomy(*dir);
  }
  return cached;
}

std::array<double, cls::kNumClasses> class_volumes_ml(const LabelVolume& labels) {
  std::array<double, cls::kNumClasses> ml{};
  for (const int32_t l : labels.data)
    if (l >= 0 && l < cls::kNumClasses) ml[l] += labels.voxel_volume_ml();
  return ml;
}

}  // namespace pn::data
