#include "data/lesion_masks.h"

#include <algorithm>
#include <cmath>

#include "autograd/error.h"
#include "data/resample.h"

namespace pn::data {
namespace {

// Largest sub-step, in target voxels, that Area mode allows along any target axis.
constexpr double kMaxSubStep = 0.25;
// Cap on sub-points per source axis (a source 32x coarser than the target).
constexpr int kMaxSubdiv = 32;

double det3(const Mat4& m) {
  return m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
         m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
}

std::array<int64_t, 3> unravel(const Grid& g, int64_t idx) {
  return {idx % g.dims[0], idx / g.dims[0] % g.dims[1], idx / (g.dims[0] * g.dims[1])};
}

int64_t nearest(double p) { return static_cast<int64_t>(std::floor(p + 0.5)); }

// Target voxels that can hold a lesion: the source bounding box of `vox` (voxel edges
// included) mapped through src_to_tgt, clamped to the target. Empty when hi < lo.
void target_box(const Grid& src, const std::vector<int64_t>& vox, const Mat4& src_to_tgt, const Dims3& tdims,
                int64_t lo[3], int64_t hi[3]) {
  double slo[3] = {1e300, 1e300, 1e300}, shi[3] = {-1e300, -1e300, -1e300};
  for (int64_t v : vox) {
    const auto p = unravel(src, v);
    for (int a = 0; a < 3; ++a) {
      slo[a] = std::min(slo[a], static_cast<double>(p[a]) - 0.5);
      shi[a] = std::max(shi[a], static_cast<double>(p[a]) + 0.5);
    }
  }
  double tlo[3] = {1e300, 1e300, 1e300}, thi[3] = {-1e300, -1e300, -1e300};
  for (int c = 0; c < 8; ++c) {
    const auto q = mat4_apply(src_to_tgt, {c & 1 ? shi[0] : slo[0], c & 2 ? shi[1] : slo[1], c & 4 ? shi[2] : slo[2]});
    for (int a = 0; a < 3; ++a) { tlo[a] = std::min(tlo[a], q[a]); thi[a] = std::max(thi[a], q[a]); }
  }
  for (int a = 0; a < 3; ++a) {
    lo[a] = std::max<int64_t>(0, static_cast<int64_t>(std::floor(tlo[a])) - 1);
    hi[a] = std::min<int64_t>(tdims[a] - 1, static_cast<int64_t>(std::ceil(thi[a])) + 1);
  }
}

LabelVolume transfer_nearest(const LabelVolume& src, const std::vector<int64_t>& vox, const Grid& target) {
  LabelVolume out = LabelVolume::zeros_on(target);
  if (vox.empty()) return out;
  const Mat4 src_to_tgt = mat4_mul(mat4_inverse(target.affine), src.affine);
  const Mat4 tgt_to_src = mat4_mul(mat4_inverse(src.affine), target.affine);
  int64_t lo[3], hi[3];
  target_box(src, vox, src_to_tgt, target.dims, lo, hi);
  for (int64_t k = lo[2]; k <= hi[2]; ++k)
    for (int64_t j = lo[1]; j <= hi[1]; ++j)
      for (int64_t i = lo[0]; i <= hi[0]; ++i) {
        const auto p = mat4_apply(tgt_to_src, {static_cast<double>(i), static_cast<double>(j), static_cast<double>(k)});
        const int64_t a = nearest(p[0]), b = nearest(p[1]), c = nearest(p[2]);
        if (src.inside(a, b, c) && src.at(a, b, c) != 0) out.at(i, j, k) = 1;
      }
  return out;
}

// For an axis-aligned pair (each target axis runs along one source axis, flips allowed),
// perm[a] = the source axis of target axis a; false for an oblique pair.
bool axis_aligned(const Mat4& m, int perm[3]) {
  for (int a = 0; a < 3; ++a) {
    const double big = std::max({std::abs(m[a][0]), std::abs(m[a][1]), std::abs(m[a][2])});
    int count = 0;
    for (int b = 0; b < 3; ++b)
      if (std::abs(m[a][b]) > 1e-9 * big) { perm[a] = b; ++count; }
    if (count != 1) return false;
  }
  return perm[0] != perm[1] && perm[1] != perm[2] && perm[0] != perm[2];
}

// Exact coverage for an axis-aligned pair: a source voxel is the box of half-widths
// |m[a][perm[a]]| / 2 (target voxels) about its centre; its overlap with target voxel q
// is the product over axes of the 1-D overlaps of [c - w, c + w] with [q - 1/2, q + 1/2].
void accumulate_exact(const Grid& src, const std::vector<int64_t>& vox, const Mat4& m, const int perm[3],
                      const Grid& target, std::vector<double>& acc) {
  double w[3];
  for (int a = 0; a < 3; ++a) w[a] = 0.5 * std::abs(m[a][perm[a]]);
  std::vector<std::pair<int64_t, double>> ov[3];  // per axis: (target index, overlap)
  for (int64_t v : vox) {
    const auto p = unravel(src, v);
    const auto c = mat4_apply(m, {static_cast<double>(p[0]), static_cast<double>(p[1]), static_cast<double>(p[2])});
    for (int a = 0; a < 3; ++a) {
      ov[a].clear();
      const double lo = c[a] - w[a], hi = c[a] + w[a];
      for (int64_t q = nearest(lo); q <= nearest(hi); ++q) {
        const double len = std::min(hi, q + 0.5) - std::max(lo, q - 0.5);
        if (len > 0 && q >= 0 && q < target.dims[a]) ov[a].push_back({q, len});
      }
    }
    for (const auto& [k, fk] : ov[2])
      for (const auto& [j, fj] : ov[1])
        for (const auto& [i, fi] : ov[0]) acc[static_cast<size_t>(target.index(i, j, k))] += fi * fj * fk;
  }
}

// Sub-point sampling for an oblique pair (see the header).
void accumulate_sampled(const Grid& src, const std::vector<int64_t>& vox, const Mat4& m, const Grid& target,
                        std::vector<double>& acc) {
  int n[3];
  for (int b = 0; b < 3; ++b) {
    // The largest move along a target axis for one source step along axis b.
    const double step = std::max({std::abs(m[0][b]), std::abs(m[1][b]), std::abs(m[2][b])});
    n[b] = std::clamp(static_cast<int>(std::ceil(step / kMaxSubStep - 1e-9)), 1, kMaxSubdiv);
  }
  // Each sub-point carries |det S| / (n0 n1 n2 |det T|) of a target voxel.
  const double w = std::abs(det3(src.affine)) / (std::abs(det3(target.affine)) * n[0] * n[1] * n[2]);
  // Sub-point offsets (in target index units) relative to the source voxel centre.
  std::vector<std::array<double, 3>> offsets;
  for (int c = 0; c < n[2]; ++c)
    for (int b = 0; b < n[1]; ++b)
      for (int a = 0; a < n[0]; ++a) {
        const double u[3] = {(a + 0.5) / n[0] - 0.5, (b + 0.5) / n[1] - 0.5, (c + 0.5) / n[2] - 0.5};
        std::array<double, 3> d{};
        for (int r = 0; r < 3; ++r) d[r] = m[r][0] * u[0] + m[r][1] * u[1] + m[r][2] * u[2];
        offsets.push_back(d);
      }
  for (int64_t v : vox) {
    const auto p = unravel(src, v);
    const auto c = mat4_apply(m, {static_cast<double>(p[0]), static_cast<double>(p[1]), static_cast<double>(p[2])});
    for (const auto& d : offsets) {
      const int64_t i = nearest(c[0] + d[0]), j = nearest(c[1] + d[1]), k = nearest(c[2] + d[2]);
      if (target.inside(i, j, k)) acc[static_cast<size_t>(target.index(i, j, k))] += w;
    }
  }
}

Volume coverage(const LabelVolume& src, const std::vector<int64_t>& vox, const Grid& target) {
  Volume out = Volume::zeros_on(target);
  if (vox.empty()) return out;
  const Mat4 m = mat4_mul(mat4_inverse(target.affine), src.affine);  // source index -> target index
  std::vector<double> acc(static_cast<size_t>(target.numel()), 0.0);
  int perm[3];
  if (axis_aligned(m, perm)) accumulate_exact(src, vox, m, perm, target, acc);
  else accumulate_sampled(src, vox, m, target, acc);
  for (size_t i = 0; i < acc.size(); ++i) out.data[i] = static_cast<float>(acc[i]);
  return out;
}

}  // namespace

std::vector<int64_t> lesion_voxels(const LabelVolume& mask) {
  std::vector<int64_t> v;
  for (size_t i = 0; i < mask.data.size(); ++i)
    if (mask.data[i] != 0) v.push_back(static_cast<int64_t>(i));
  return v;
}

LabelVolume mask_from_voxels(const Grid& g, const std::vector<int64_t>& voxels) {
  LabelVolume m = LabelVolume::zeros_on(g);
  for (int64_t v : voxels) {
    PN_CHECK(v >= 0 && v < g.numel(), "mask_from_voxels: voxel index {} is outside {}", v, grid_string(g));
    m.data[static_cast<size_t>(v)] = 1;
  }
  return m;
}

Volume mask_coverage(const LabelVolume& src, const Grid& target) { return coverage(src, lesion_voxels(src), target); }

LabelVolume transfer_mask(const LabelVolume& src, const Grid& target, MaskTransfer mode, double threshold) {
  PN_CHECK(threshold > 0 && threshold <= 1, "transfer_mask: threshold {} is not in (0, 1]", threshold);
  const auto vox = lesion_voxels(src);
  if (mode == MaskTransfer::Nearest) return transfer_nearest(src, vox, target);
  const Volume cov = coverage(src, vox, target);
  LabelVolume out = LabelVolume::zeros_on(target);
  // Float coverage of a voxel exactly at the threshold may read a hair below it.
  const float t = static_cast<float>(threshold) - 1e-6f;
  for (size_t i = 0; i < cov.data.size(); ++i) out.data[i] = cov.data[i] >= t ? 1 : 0;
  return out;
}

LabelVolume mirror_left_right(const LabelVolume& mask) {
  const Mat4 flip = mat4_scale_translate(-1, 1, 1);
  const Mat4 new_to_old = mat4_mul(mat4_inverse(mask.affine), mat4_mul(flip, mask.affine));
  LabelVolume out = sample_nearest(mask, new_to_old, mask.dims);
  static_cast<Grid&>(out) = mask.grid();  // the content moves, the grid stays
  for (int32_t& x : out.data) x = x != 0 ? 1 : 0;
  return out;
}

Grid centred_grid(const Dims3& dims, const Vec3& spacing, const Vec3& centre_mm) {
  Grid g = Grid::centred(dims, spacing);
  for (int a = 0; a < 3; ++a) g.affine[a][3] += centre_mm[a];
  return g;
}

}  // namespace pn::data
