// Smooth seeded random fields for the phantom and elastic augmentation: value noise on an
// integer lattice (a hash per lattice point, smoothstep-trilinear in between) and a fractal
// sum of octaves. Deterministic: the same seed gives the same field on every machine.
#pragma once
#include <cstdint>

namespace pn::data {

// A 64-bit mix (splitmix64's finaliser).
inline uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

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
