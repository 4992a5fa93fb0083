#include "autograd/generator.h"

#include "kernels/math/philox.h"

namespace pn {

double Generator::uniform() { return math::philox_uniform(seed_, reserve(1)); }
double Generator::normal() { return math::philox_normal(seed_, reserve(1)); }
uint64_t Generator::below(uint64_t n) {
  uint64_t r = static_cast<uint64_t>(uniform() * static_cast<double>(n));
  return r >= n ? n - 1 : r;
}

}  // namespace pn
