#include "data/noise.h"

#include <cmath>

namespace pn::data {

double ValueNoise::lattice(int64_t i, int64_t j, int64_t k) const {
  // One mix of the coordinates spread by large odd multipliers (the Teschner et al. primes
  // widened to 64 bits) is enough decorrelation for a visual field.
  const uint64_t h = mix64(seed_ ^ (static_cast<uint64_t>(i) * 0x9e3779b97f4a7c15ull) ^
                           (static_cast<uint64_t>(j) * 0xc2b2ae3d27d4eb4full) ^ (static_cast<uint64_t>(k) * 0x165667b19e3779f9ull));
  return static_cast<double>(h >> 11) * (2.0 / 9007199254740992.0) - 1.0;  // 53 bits -> [-1, 1)
}

double ValueNoise::at(double x, double y, double z) const {
  const double fx = std::floor(x), fy = std::floor(y), fz = std::floor(z);
  const auto i = static_cast<int64_t>(fx), j = static_cast<int64_t>(fy), k = static_cast<int64_t>(fz);
  auto smooth = [](double t) { return t * t * (3 - 2 * t); };
  const double u = smooth(x - fx), v = smooth(y - fy), w = smooth(z - fz);
  double c[2][2];
  for (int a = 0; a < 2; ++a)
    for (int b = 0; b < 2; ++b)
      c[a][b] = lattice(i, j + a, k + b) * (1 - u) + lattice(i + 1, j + a, k + b) * u;
  const double c0 = c[0][0] * (1 - v) + c[1][0] * v, c1 = c[0][1] * (1 - v) + c[1][1] * v;
  return c0 * (1 - w) + c1 * w;
}

double ValueNoise::fractal(double x, double y, double z, int octaves) const {
  double sum = 0, weight = 1, total = 0, f = 1;
  for (int o = 0; o < octaves; ++o) {
    // Offsetting each octave decorrelates the lattices.
    sum += weight * at(x * f + 17.3 * o, y * f - 9.1 * o, z * f + 4.7 * o);
    total += weight;
    weight *= 0.5;
    f *= 2;
  }
  return sum / total;
}

}  // namespace pn::data
