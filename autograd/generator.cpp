#include "autograd/generator.h"

#include "autograd/error.h"
#include "kernels/math/philox.h"

namespace pn {

uint64_t Generator::reserve(uint64_t n) {
  const uint64_t o = offset_;
  if (slice_count_ == 0) {
    offset_ += n;
    return o;
  }
  PN_CHECK(n % slice_count_ == 0, "Generator: a draw of {} values under a batch slice of {} samples (of {}): draws "
           "on a data-parallel noise generator must hold the same number of values for each sample of the local batch",
           n, slice_count_, slice_total_);
  const uint64_t per = n / slice_count_;
  offset_ += per * slice_total_;
  return o + per * slice_first_;
}

void Generator::set_batch_slice(int64_t first, int64_t count, int64_t total) {
  PN_CHECK(first >= 0 && count >= 1 && first + count <= total,
           "Generator: batch slice [{}, {}) does not lie in a global batch of {}", first, first + count, total);
  slice_first_ = static_cast<uint64_t>(first);
  slice_count_ = static_cast<uint64_t>(count);
  slice_total_ = static_cast<uint64_t>(total);
}

double Generator::uniform() { return math::philox_uniform(seed_, reserve(1)); }
double Generator::normal() { return math::philox_normal(seed_, reserve(1)); }
uint64_t Generator::below(uint64_t n) {
  uint64_t r = static_cast<uint64_t>(uniform() * static_cast<double>(n));
  return r >= n ? n - 1 : r;
}

}  // namespace pn
