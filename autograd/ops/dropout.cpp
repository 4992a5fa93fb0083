#include "autograd/ops/dropout.h"

#include "autograd/generator.h"
#include "autograd/ops/elementwise.h"
#include "autograd/backend.h"

namespace pn {

Tensor dropout(const Tensor& x, double p, Generator& gen, bool training) {
  PN_CHECK(x.defined(), "dropout: undefined input");
  PN_CHECK(p >= 0.0 && p <= 1.0, "dropout: probability {} outside [0, 1] for input {}", p, x.desc());
  if (!training || p == 0.0) return x;
  Backend& be = backend_for(x.device(), "dropout");
  const double keep = 1.0 - p;
  const double scale = keep > 0.0 ? 1.0 / keep : 0.0;
  Tensor mask = Tensor::empty(x.shape(), x.dtype(), x.device());
  const uint64_t offset = gen.reserve(static_cast<uint64_t>(x.numel()));
  be.fill_bernoulli(x.dtype(), mask.raw(), mask.numel(), gen.seed(), offset, keep, scale);
  return mul(x, mask);
}

}  // namespace pn
