#include "data/phantom_lesions.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "autograd/error.h"
#include "data/label_scheme.h"

namespace pn::data {
namespace {

// Draws one irregular lesion centred in brain tissue; returns the voxels it took.
int64_t draw_lesion(const PhantomOptions& opt, SeedStream& st, LabelVolume& labels, bool territorial) {
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

int draw_procedural_lesions(const PhantomOptions& opt, SeedStream& st, LabelVolume& labels) {
  const bool territorial = st.uniform() < opt.territorial_probability;
  int n = 1;
  while (n < opt.max_lesions && st.uniform() < 0.4) ++n;
  int drawn = 0;
  for (int l = 0; l < n; ++l)
    if (draw_lesion(opt, st, labels, territorial && l == 0) > 0) ++drawn;
  return drawn;
}

int insert_given_lesion(const LabelVolume& mask, LesionPlacement placement, SeedStream& st, LabelVolume& labels,
                        double keep_min_fraction) {
  check_same_grid(mask, "lesion mask", labels, "subject grid");
  const int64_t total = std::count_if(mask.data.begin(), mask.data.end(), [](int32_t v) { return v != 0; });
  if (total == 0) return 0;
  const uint64_t shift_seed = st.next();
  LesionInsertOptions o;
  o.placement = placement;
  LesionInsertResult r = insert_lesion(labels, mask, o, shift_seed);
  // Real masks sit in MNI space already; only when the subject's own deformation (or a
  // mask at the edge of the brain) leaves too little of it in tissue is it moved.
  if (placement == LesionPlacement::Keep && static_cast<double>(r.inserted) < keep_min_fraction * static_cast<double>(total)) {
    o.placement = LesionPlacement::RandomShift;
    r = insert_lesion(labels, mask, o, shift_seed);
  }
  labels = std::move(r.labels);
  return r.inserted > 0 ? 1 : 0;
}

void finish_subject(const PhantomOptions& opt, const Contrast& contrast, SeedStream& st, bool stroke,
                    const LabelVolume* lesion, LesionPlacement placement, const std::vector<uint8_t>& inside,
                    const char* descrip, PhantomSubject& out) {
  if (stroke) {
    out.lesion_count = lesion ? insert_given_lesion(*lesion, placement, st, out.labels) : 0;
    if (out.lesion_count == 0) out.lesion_count = draw_procedural_lesions(opt, st, out.labels);
  }
  out.image = render_from_labels(opt, contrast, st, out.labels, inside);
  out.mask = lesion_mask_of(out.labels);
  out.image.header.descrip = out.labels.header.descrip = out.mask.header.descrip = descrip;
}

}  // namespace pn::data
