// Chapter 6: per_sample_sumsq (sumsq_op.h), dispatching on the device of its input.
// Standard and autograd headers come before the CUDA ones: under the emulator those define
// CUDA's keywords as macros, which must not reach other headers.
#include "examples/cuda_kernel/sumsq_op.h"

#include "autograd/node.h"
#include "autograd/ops/elementwise.h"
#include "examples/cuda_kernel/row_sumsq.h"
#include "kernels/cuda/device_guard.h"

namespace pn::examples {

Tensor per_sample_sumsq(const Tensor& x) {
  PN_CHECK(x.defined() && x.dim() >= 1 && x.numel() > 0, "per_sample_sumsq: expected a non-empty [N, ...] tensor, got {}",
           x.defined() ? x.desc() : "an undefined tensor");
  const int64_t rows = x.size(0), cols = x.numel() / rows;
  Tensor y = Tensor::empty({rows}, x.dtype(), x.device());
  if (x.device().is_cpu()) {
    PN_DISPATCH_FLOAT(x.dtype(), row_sumsq_cpu(x.data<scalar_t>(), y.data<scalar_t>(), rows, cols));
  } else {
    const int device = x.device().index;
    pn::cuda::DeviceGuard guard(device);  // kernels land on the tensor's device, whatever is current
    PN_DISPATCH_FLOAT(x.dtype(), row_sumsq(SumsqVersion::Block, x.data<scalar_t>(), y.data<scalar_t>(), rows, cols,
                                           pn::cuda::device_stream(device)));
  }
  Shape per_sample(static_cast<size_t>(x.dim()), 1);  // [N, 1, 1, ...]: g broadcast over a sample
  per_sample[0] = rows;
  record(y, "per_sample_sumsq", {x}, [x, per_sample](const Tensor& g, const NeedMask&) -> Grads {
    return {x * (g.reshape(per_sample) * 2.0)};
  });
  return y;
}

}  // namespace pn::examples
