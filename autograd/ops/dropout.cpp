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
  const uint64_t offset = gen.reserve(static_cast<uint64_t>(x.numel()));
  if (is_low_precision(x.dtype())) {
    // 16-bit x: the same draws as a float32 x, as a 0 / 1 mask (exact in 16 bits), then x * mask
    // (exact) scaled by the float 1 / keep and rounded once, as PyTorch's 16-bit dropout.
    Tensor mask = Tensor::empty(x.shape(), DType::Float32, x.device());
    be.fill_bernoulli(DType::Float32, mask.raw(), mask.numel(), gen.seed(), offset, keep, 1.0);
    return mul_scalar(mul(x, mask.to(x.dtype())), scale);
  }
  Tensor mask = Tensor::empty(x.shape(), x.dtype(), x.device());
  be.fill_bernoulli(x.dtype(), mask.raw(), mask.numel(), gen.seed(), offset, keep, scale);
  return mul(x, mask);
}

}  // namespace pn
