// Philox4x32-10 counter-based random numbers (Salmon et al., SC'11). Counter-based, so
// element i of a random tensor depends only on (seed, offset + i): the CPU and CUDA
// backends draw identical dropout masks and initial weights, in any thread order.
#pragma once
#include <cmath>
#include <cstdint>
#include "kernels/math/hd.h"

namespace pn::math {

using std::sqrt; using std::log; using std::cos;

struct Philox4 { uint32_t v[4]; };

PN_HD uint32_t mulhilo32(uint32_t a, uint32_t b, uint32_t* hi) {
  uint64_t p = static_cast<uint64_t>(a) * b;
  *hi = static_cast<uint32_t>(p >> 32);
  return static_cast<uint32_t>(p);
}

PN_HD Philox4 philox4x32(uint64_t counter, uint64_t seed) {
  uint32_t c0 = static_cast<uint32_t>(counter), c1 = static_cast<uint32_t>(counter >> 32);
  uint32_t c2 = 0, c3 = 0;
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  for (int r = 0; r < 10; ++r) {
    uint32_t hi0, hi1;
    uint32_t lo0 = mulhilo32(0xD2511F53u, c0, &hi0);
    uint32_t lo1 = mulhilo32(0xCD9E8D57u, c2, &hi1);
    c0 = hi1 ^ c1 ^ k0; c1 = lo1; c2 = hi0 ^ c3 ^ k1; c3 = lo0;
    k0 += 0x9E3779B9u; k1 += 0xBB67AE85u;
  }
  return Philox4{{c0, c1, c2, c3}};
}

// Uniform in (0, 1], from 32 random bits.
PN_HD double uniform_from_bits(uint32_t bits) { return (static_cast<double>(bits) + 1.0) * 2.3283064365386963e-10; }

// Element i of a uniform(0,1] stream.
PN_HD double philox_uniform(uint64_t seed, uint64_t index) {
  return uniform_from_bits(philox4x32(index, seed).v[0]);
}

// Element i of a standard normal stream (Box-Muller on the first two words).
PN_HD double philox_normal(uint64_t seed, uint64_t index) {
  Philox4 r = philox4x32(index, seed);
  double u1 = uniform_from_bits(r.v[0]), u2 = uniform_from_bits(r.v[1]);
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

}  // namespace pn::math

namespace pn::math {

// Element `index` of the random fills, shared by the CPU and CUDA backends so that both
// produce the same values for the same (seed, offset).
PN_HD double normal_at(uint64_t seed, uint64_t index, double mean, double std) {
  return mean + std * philox_normal(seed, index);
}
PN_HD double uniform_at(uint64_t seed, uint64_t index, double lo, double hi) {
  return lo + (hi - lo) * philox_uniform(seed, index);
}
// Inverted-dropout mask: scale with probability keep, else 0.
PN_HD double bernoulli_at(uint64_t seed, uint64_t index, double keep, double scale) {
  return philox_uniform(seed, index) <= keep ? scale : 0.0;
}

}  // namespace pn::math
