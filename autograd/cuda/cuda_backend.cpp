#include "autograd/cuda/cuda_backend.h"

#include "autograd/cuda/device_allocator.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/optim.h"
#include "kernels/cuda/random.h"
#include "kernels/cuda/reduce.h"
#include "kernels/cuda/softmax.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {

namespace {

// kernels/cuda behind the BackendImpl interface: the CPU reference's arguments plus the
// stream (the legacy default stream, which orders the kernels with the allocator's copies).
struct CudaKernels {
  static cudaStream_t stream() { return nullptr; }
  template <class T, class... A> static void unary(A... a) { cuda::unary<T>(a..., stream()); }
  template <class T, class... A> static void binary(A... a) { cuda::binary<T>(a..., stream()); }
  template <class T, class... A> static void where(A... a) { cuda::where<T>(a..., stream()); }
  template <class T, class... A> static void fill(A... a) { cuda::fill<T>(a..., stream()); }
  template <class S, class D, class... A> static void cast(A... a) { cuda::cast<S, D>(a..., stream()); }
  template <class T, class... A> static void sum_reduce(A... a) { cuda::sum_reduce<T>(a..., stream()); }
  template <class T, class... A> static void fill_normal(A... a) { cuda::fill_normal<T>(a..., stream()); }
  template <class T, class... A> static void fill_uniform(A... a) { cuda::fill_uniform<T>(a..., stream()); }
  template <class T, class... A> static void fill_bernoulli(A... a) { cuda::fill_bernoulli<T>(a..., stream()); }
  template <class T, class... A> static void softmax_forward(A... a) { cuda::softmax_forward<T>(a..., stream()); }
  template <class T, class... A> static void adam_update(A... a) { cuda::adam_update<T>(a..., stream()); }
  template <class T, class... A> static void sgd_update(A... a) { cuda::sgd_update<T>(a..., stream()); }
};

}  // namespace

bool install_cuda_backend() {
  if (!install_device_allocator()) return false;
  static BackendImpl<CudaKernels> backend("cuda");
  register_backend(DeviceType::CUDA, &backend);
  return true;
}

}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda
