#include "data/lesion_stats.h"

#include <algorithm>
#include <numeric>

#include "autograd/error.h"

namespace pn::data {

const char* hemisphere_name(Hemisphere h) {
  return h == Hemisphere::Left ? "left" : h == Hemisphere::Right ? "right" : "none";
}

int count_components(const LabelVolume& mask) {
  const Dims3& d = mask.dims;
  std::vector<uint8_t> seen(mask.data.size(), 0);
  std::vector<int64_t> stack;
  int components = 0;
  for (int64_t start = 0; start < mask.numel(); ++start) {
    if (mask.data[static_cast<size_t>(start)] == 0 || seen[static_cast<size_t>(start)]) continue;
    ++components;
    seen[static_cast<size_t>(start)] = 1;
    stack.push_back(start);
    while (!stack.empty()) {  // flood fill over the 26 neighbours
      const int64_t v = stack.back();
      stack.pop_back();
      const int64_t i = v % d[0], j = v / d[0] % d[1], k = v / (d[0] * d[1]);
      for (int64_t dk = -1; dk <= 1; ++dk)
        for (int64_t dj = -1; dj <= 1; ++dj)
          for (int64_t di = -1; di <= 1; ++di) {
            if (!mask.inside(i + di, j + dj, k + dk)) continue;
            const auto n = static_cast<size_t>(mask.index(i + di, j + dj, k + dk));
            if (mask.data[n] != 0 && !seen[n]) {
              seen[n] = 1;
              stack.push_back(static_cast<int64_t>(n));
            }
          }
    }
  }
  return components;
}

Vec3 centre_of_mass(const LabelVolume& mask) {
  double sum[3] = {0, 0, 0};
  int64_t n = 0;
  for (int64_t k = 0; k < mask.dims[2]; ++k)
    for (int64_t j = 0; j < mask.dims[1]; ++j)
      for (int64_t i = 0; i < mask.dims[0]; ++i)
        if (mask.at(i, j, k) != 0) {
          sum[0] += static_cast<double>(i); sum[1] += static_cast<double>(j); sum[2] += static_cast<double>(k);
          ++n;
        }
  if (n == 0) return {0, 0, 0};
  const double f = 1.0 / static_cast<double>(n);
  // The affine is linear, so the world centre is the affine of the mean index.
  return mat4_apply(mask.affine, {sum[0] * f, sum[1] * f, sum[2] * f});
}

LesionStats lesion_stats(const LabelVolume& mask) {
  LesionStats s;
  const Dims3& d = mask.dims;
  // Face areas from the affine's column lengths (the voxel sizes along the index axes).
  const double h[3] = {mat4_column_norm(mask.affine, 0), mat4_column_norm(mask.affine, 1),
                       mat4_column_norm(mask.affine, 2)};
  const double face[3] = {h[1] * h[2], h[0] * h[2], h[0] * h[1]};
  int64_t lo[3] = {d[0], d[1], d[2]}, hi[3] = {-1, -1, -1};
  for (int64_t k = 0; k < d[2]; ++k)
    for (int64_t j = 0; j < d[1]; ++j)
      for (int64_t i = 0; i < d[0]; ++i) {
        if (mask.at(i, j, k) == 0) continue;
        ++s.voxels;
        const int64_t p[3] = {i, j, k};
        for (int a = 0; a < 3; ++a) {
          lo[a] = std::min(lo[a], p[a]);
          hi[a] = std::max(hi[a], p[a]);
          for (int64_t step : {-1, 1}) {
            int64_t q[3] = {i, j, k};
            q[a] += step;
            if (!mask.inside(q[0], q[1], q[2]) || mask.at(q[0], q[1], q[2]) == 0) s.surface_mm2 += face[a];
          }
        }
      }
  if (s.voxels == 0) return s;
  const double voxel_mm3 = h[0] * h[1] * h[2];
  s.volume_ml = static_cast<double>(s.voxels) * voxel_mm3 / 1000.0;
  s.surface_to_volume = s.surface_mm2 / (static_cast<double>(s.voxels) * voxel_mm3);
  for (int a = 0; a < 3; ++a) s.extent_mm[a] = static_cast<double>(hi[a] - lo[a] + 1) * h[a];
  s.components = count_components(mask);
  s.centre_mm = centre_of_mass(mask);
  s.hemisphere = s.centre_mm[0] < 0 ? Hemisphere::Left : Hemisphere::Right;
  return s;
}

Summary summarize(std::vector<double> v) {
  Summary s;
  s.n = v.size();
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  s.min = v.front();
  s.max = v.back();
  const size_t m = v.size() / 2;
  s.median = v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
  s.mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  return s;
}

std::string summary_string(const Summary& s, int decimals) {
  return fmt::format("min {:.{}f}, median {:.{}f}, mean {:.{}f}, max {:.{}f}", s.min, decimals, s.median, decimals,
                     s.mean, decimals, s.max, decimals);
}

}  // namespace pn::data
