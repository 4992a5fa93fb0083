// The exact Euclidean distance transform against brute force, and the signed distance
// representation of a mask built on it.
#include <doctest/doctest.h>

#include <random>

#include "autograd/error.h"
#include "data/distance_transform.h"

using namespace pn::data;

namespace {
// min over features of the squared distance, by trying every pair.
std::vector<double> brute_force(const std::vector<bool>& feature, const Dims3& d) {
  std::vector<double> out(feature.size(), 1e30);
  for (int64_t z = 0; z < d[2]; ++z)
    for (int64_t y = 0; y < d[1]; ++y)
      for (int64_t x = 0; x < d[0]; ++x)
        for (int64_t q = 0; q < static_cast<int64_t>(feature.size()); ++q) {
          if (!feature[static_cast<size_t>(q)]) continue;
          const int64_t qx = q % d[0], qy = (q / d[0]) % d[1], qz = q / (d[0] * d[1]);
          const double dd = double((x - qx) * (x - qx) + (y - qy) * (y - qy) + (z - qz) * (z - qz));
          auto& o = out[static_cast<size_t>(x + d[0] * (y + d[1] * z))];
          o = std::min(o, dd);
        }
  return out;
}
}  // namespace

TEST_CASE("squared_distance_transform is exact: brute force on random sparse and dense grids") {
  std::mt19937 rng(7);
  for (const Dims3 d : {Dims3{7, 5, 4}, Dims3{1, 9, 3}, Dims3{12, 1, 1}, Dims3{6, 6, 6}}) {
    for (double density : {0.01, 0.1, 0.6}) {
      std::vector<bool> f(static_cast<size_t>(d[0] * d[1] * d[2]));
      std::bernoulli_distribution pick(density);
      for (size_t i = 0; i < f.size(); ++i) f[i] = pick(rng);
      f[f.size() / 3] = true;  // at least one
      INFO(d[0] << "x" << d[1] << "x" << d[2] << " density " << density);
      CHECK(squared_distance_transform(f, d) == brute_force(f, d));
    }
  }
  // No feature at all: every distance is "far".
  const auto none = squared_distance_transform(std::vector<bool>(8, false), {2, 2, 2});
  for (double v : none) CHECK(v >= 1e30);
  CHECK_THROWS_AS(squared_distance_transform(std::vector<bool>(7), {2, 2, 2}), pn::Error);
}

TEST_CASE("signed_distance_mask: positive exactly on the lesion, truncated at the margin, binary at margin 1") {
  const Dims3 d{9, 1, 1};  // a line: lesion voxels 3, 4, 5
  std::vector<bool> m(9, false);
  m[3] = m[4] = m[5] = true;
  const auto s = signed_distance_mask(m, d, 2);
  // Voxels 0..2 lie 3, 2, 1 from the lesion -> -1, -1, -0.5; 3..5 lie 1, 2, 1 from the
  // background -> 0.5, 1, 0.5; 6..8 mirror 0..2.
  CHECK(s == std::vector<float>{-1, -1, -0.5f, 0.5f, 1, 0.5f, -0.5f, -1, -1});
  const auto b = signed_distance_mask(m, d, 1);
  CHECK(b == std::vector<float>{-1, -1, -1, 1, 1, 1, -1, -1, -1});
  CHECK(signed_distance_mask(std::vector<bool>(4, false), {4, 1, 1}, 3) == std::vector<float>(4, -1.f));
  CHECK_THROWS_AS(signed_distance_mask(m, d, 0.5), pn::Error);
}
