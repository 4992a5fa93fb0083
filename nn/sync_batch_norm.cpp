#include "nn/sync_batch_norm.h"

#include <vector>

#include "autograd/error.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/norm.h"
#include "autograd/ops/reduce.h"

namespace pn::nn {

Tensor allreduce_sum(const Tensor& x, const Collectives& comm) {
  Tensor y = x.detach().clone();
  comm.allreduce_sum(y);
  record(y, "allreduce_sum", {x}, [comm](const Tensor& g, const NeedMask&) -> Grads {
    return {allreduce_sum(g, comm)};
  });
  return y;
}

Tensor sync_batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& running_mean,
                       const Tensor& running_var, bool training, double momentum, double eps,
                       const Collectives& comm) {
  if (!training || comm.size() == 1)
    return batch_norm(x, gamma, beta, running_mean, running_var, training, momentum, eps);
  PN_CHECK(x.dim() >= 2, "sync_batch_norm: expected an input [N, C, ...], got {}", x.desc());
  const int64_t c = x.shape()[1];
  std::vector<int> axes{0};
  Shape bshape(static_cast<size_t>(x.dim()), 1);  // [1, C, 1, ...] for broadcasting
  bshape[1] = c;
  for (int a = 2; a < x.dim(); ++a) axes.push_back(a);
  // Elements per channel over all ranks.
  double count = static_cast<double>(x.numel() / c);
  comm.host->allreduce_sum(&count, 1);
  PN_CHECK(count > 1, "sync_batch_norm: expected more than one value per channel over all ranks, got input {}",
           x.desc());
  // Two passes (mean, then centred squares) for accuracy when the mean dwarfs the spread.
  Tensor mean = mul_scalar(allreduce_sum(sum(x, axes), comm), 1.0 / count);
  Tensor centred = x - mean.reshape(bshape);
  Tensor var = mul_scalar(allreduce_sum(sum(square(centred), axes), comm), 1.0 / count);
  Tensor y = centred / sqrt(add_scalar(var, eps)).reshape(bshape);
  if (gamma.defined()) y = y * gamma.reshape(bshape);
  if (beta.defined()) y = y + beta.reshape(bshape);
  if (running_mean.defined()) {
    NoGrad ng;
    // PyTorch's convention: the running variance takes the unbiased batch variance.
    Tensor rm = running_mean, rv = running_var;
    rm.copy_(add(mul_scalar(rm, 1 - momentum), mul_scalar(mean.detach(), momentum)));
    rv.copy_(add(mul_scalar(rv, 1 - momentum), mul_scalar(var.detach(), momentum * count / (count - 1))));
  }
  return y;
}

}  // namespace pn::nn
