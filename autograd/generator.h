// Generator: the seeded random state of a run. Every draw takes a fresh range of the
// Philox counter, so a run is reproducible from (seed, offset), which checkpoints save.
//
// Data parallelism (per-rank noise streams): while a batch slice is set, a draw whose
// leading axis is a rank's share of a global batch takes the values the single process
// drawing for the whole global batch gives those samples. Value k of sample n in a draw of
// `per` values per sample uses counter base + n·per + k, so a rank holding samples
// [first, first + count) of a global batch of `total` reads base + first·per onwards, and
// every rank advances the offset past the whole global draw: N ranks with batch b draw
// what 1 process with batch N·b draws, whatever the split.
#pragma once
#include <cstdint>

namespace pn {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) : seed_(seed) {}
  uint64_t seed() const { return seed_; }
  uint64_t offset() const { return offset_; }
  void set_state(uint64_t seed, uint64_t offset) { seed_ = seed; offset_ = offset; }
  // Reserves the counter values of a draw of n values and returns the first this process
  // uses. With a batch slice set, n must be a whole number of values per local sample.
  uint64_t reserve(uint64_t n);
  double uniform();  // one draw in (0, 1]
  double normal();   // one standard normal draw
  // Uniform integer in [0, n).
  uint64_t below(uint64_t n);

  // Draws until clear_batch_slice() are this rank's samples [first, first + count) of a
  // global batch of `total` (requires 0 <= first, 1 <= count, first + count <= total).
  void set_batch_slice(int64_t first, int64_t count, int64_t total);
  void clear_batch_slice() { slice_count_ = 0; }
  bool has_batch_slice() const { return slice_count_ > 0; }

 private:
  uint64_t seed_;
  uint64_t offset_ = 0;
  uint64_t slice_first_ = 0, slice_count_ = 0, slice_total_ = 0;  // count 0: no slice
};

}  // namespace pn
