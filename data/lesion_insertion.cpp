#include "data/lesion_insertion.h"

#include <vector>

#include "autograd/error.h"
#include "data/label_scheme.h"
#include "kernels/math/philox.h"

namespace pn::data {

LesionInsertResult insert_lesion(const LabelVolume& healthy, const LabelVolume& lesion, const LesionInsertOptions& opt,
                                 uint64_t seed) {
  PN_CHECK(healthy.dims == lesion.dims, "insert_lesion: lesion mask {} and label map {} differ in size",
           dims_string(lesion.dims), dims_string(healthy.dims));
  const Dims3& d = healthy.dims;
  std::vector<std::array<int64_t, 3>> vox;
  int64_t lo[3] = {d[0], d[1], d[2]}, hi[3] = {-1, -1, -1};
  for (int64_t k = 0; k < d[2]; ++k)
    for (int64_t j = 0; j < d[1]; ++j)
      for (int64_t i = 0; i < d[0]; ++i)
        if (lesion.at(i, j, k) != 0) {
          vox.push_back({i, j, k});
          const int64_t p[3] = {i, j, k};
          for (int a = 0; a < 3; ++a) { lo[a] = std::min(lo[a], p[a]); hi[a] = std::max(hi[a], p[a]); }
        }
  auto in_tissue = [&](const Dims3& s) {
    int64_t n = 0;
    for (const auto& v : vox) n += is_brain_tissue(healthy.at(v[0] + s[0], v[1] + s[1], v[2] + s[2]));
    return n;
  };
  Dims3 shift{0, 0, 0};
  if (opt.placement == LesionPlacement::RandomShift && !vox.empty()) {
    int64_t best = -1;
    uint64_t counter = 0;
    for (int t = 0; t < std::max(1, opt.tries); ++t) {
      Dims3 s;
      for (int a = 0; a < 3; ++a) {
        // Shifts that keep the bounding box [lo, hi] inside [0, d).
        const int64_t smin = -lo[a], smax = d[a] - 1 - hi[a];
        const double u = math::philox_uniform(seed, counter++);
        s[a] = smin + std::min<int64_t>(smax - smin, static_cast<int64_t>(u * static_cast<double>(smax - smin + 1)));
      }
      const int64_t n = in_tissue(s);
      if (n > best) { best = n; shift = s; }
      if (static_cast<double>(n) >= opt.min_tissue_fraction * static_cast<double>(vox.size())) break;
    }
  }
  LesionInsertResult r;
  r.labels = healthy;
  r.mask = LabelVolume::zeros_on(healthy.grid());
  r.shift = shift;
  for (const auto& v : vox) {
    const int64_t i = v[0] + shift[0], j = v[1] + shift[1], k = v[2] + shift[2];
    if (!is_brain_tissue(healthy.at(i, j, k))) { ++r.dropped; continue; }
    r.labels.at(i, j, k) = cls::kLesion;
    r.mask.at(i, j, k) = 1;
    ++r.inserted;
  }
  return r;
}

}  // namespace pn::data
