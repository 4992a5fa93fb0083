// Generator: the seeded random state of a run. Every draw takes a fresh range of the
// Philox counter, so a run is reproducible from (seed, offset), which checkpoints save.
#pragma once
#include <cstdint>

namespace pn {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) : seed_(seed) {}
  uint64_t seed() const { return seed_; }
  uint64_t offset() const { return offset_; }
  void set_state(uint64_t seed, uint64_t offset) { seed_ = seed; offset_ = offset; }
  // Reserves n counter values and returns the first.
  uint64_t reserve(uint64_t n) { uint64_t o = offset_; offset_ += n; return o; }
  double uniform();  // one draw in (0, 1]
  double normal();   // one standard normal draw
  // Uniform integer in [0, n).
  uint64_t below(uint64_t n);

 private:
  uint64_t seed_;
  uint64_t offset_ = 0;
};

}  // namespace pn
