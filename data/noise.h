// Smooth seeded random fields for the phantom and elastic augmentation: value noise on an
// integer lattice (a hash per lattice point, smoothstep-trilinear in between) and a fractal
// sum of octaves; and SeedStream, the per-subject stream of random parameters.
// Deterministic: the same seed gives the same field on every machine.
#pragma once
#include <cstdint>

#include "kernels/math/philox.h"

namespace pn::data {

// A 64-bit mix (splitmix64's finaliser).
inline uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// A small seeded stream for per-subject parameters (not per voxel): draw n uses Philox
// counter n, so the order of draws defines a subject (the phantom and the atlas subjects
// draw their parameters through one of these).
class SeedStream {
 public:
  explicit SeedStream(uint64_t seed) : seed_(seed) {}
  double uniform(double lo = 0, double hi = 1) { return lo + (hi - lo) * math::philox_uniform(seed_, n_++); }
  double normal() { return math::philox_normal(seed_, n_++); }
  uint64_t next() { return mix64(seed_ ^ (0xa0761d6478bd642full * ++n_)); }

 private:
  uint64_t seed_, n_ = 0;
};

class ValueNoise {
 public:
  explicit ValueNoise(uint64_t seed) : seed_(mix64(seed)) {}
  // Smooth field in [-1, 1] with features about 1 unit apart.
  double at(double x, double y, double z) const;
  // Sum of `octaves` fields at frequencies 1, 2, 4... with weights 1, 1/2, 1/4...,
  // normalised back to [-1, 1].
  double fractal(double x, double y, double z, int octaves) const;

 private:
  double lattice(int64_t i, int64_t j, int64_t k) const;
  uint64_t seed_;
};

}  // namespace pn::data
