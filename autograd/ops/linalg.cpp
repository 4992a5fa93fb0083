#include "autograd/ops/linalg.h"

#include "autograd/autocast.h"
#include "autograd/backend.h"
#include "autograd/node.h"
#include "autograd/ops/elementwise.h"

namespace pn {

Tensor matmul(const Tensor& a, const Tensor& b, bool ta, bool tb) {
  detail::check_same(a, b, "matmul");
  if (const DType low = autocast_dtype(); low != DType::Float32 && a.dtype() == DType::Float32)  // autocast.h
    return matmul(a.to(low), b.to(low), ta, tb).to(DType::Float32);
  PN_CHECK(a.dim() == 2 && b.dim() == 2, "matmul: needs 2-D operands, got {} and {}", a.desc(), b.desc());
  const int64_t m = ta ? a.size(1) : a.size(0), k = ta ? a.size(0) : a.size(1);
  const int64_t kb = tb ? b.size(1) : b.size(0), n = tb ? b.size(0) : b.size(1);
  PN_CHECK(k == kb, "matmul: inner sizes differ: {}{} and {}{}", a.desc(), ta ? "^T" : "", b.desc(), tb ? "^T" : "");
  Backend& be = backend_for(a.device(), "matmul");
  Tensor c = Tensor::empty({m, n}, a.dtype(), a.device());
  if (k == 0) c.fill_(0.0);
  else be.gemm(a.dtype(), ta, tb, m, n, k, a.raw(), a.size(1), b.raw(), b.size(1), c.raw(), n);
  // C = op(A) op(B): dA from G op(B)^T, dB from op(A)^T G, each written as one matmul.
  record(c, "matmul", {a, b}, [a, b, ta, tb](const Tensor& g, const NeedMask& need) -> Grads {
    Tensor ga, gb;
    if (need[0]) ga = ta ? matmul(b, g, tb, true) : matmul(g, b, false, !tb);
    if (need[1]) gb = tb ? matmul(g, a, true, ta) : matmul(a, g, !ta, false);
    return {ga, gb};
  });
  return c;
}

Tensor linear(const Tensor& x, const Tensor& w, const Tensor& bias) {
  PN_CHECK(x.dim() == 2 && w.dim() == 2 && x.size(1) == w.size(1),
           "linear: input {} does not fit weight {} (expected [N, {}])", x.desc(), w.desc(),
           w.dim() == 2 ? w.size(1) : -1);
  Tensor y = matmul(x, w, false, true);
  if (bias.defined()) {
    PN_CHECK(bias.dim() == 1 && bias.size(0) == w.size(0), "linear: bias {} does not fit weight {}",
             bias.desc(), w.desc());
    y = add(y, bias);
  }
  return y;
}

}  // namespace pn
