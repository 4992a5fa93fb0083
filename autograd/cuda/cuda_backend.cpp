#include "autograd/cuda/cuda_backend.h"

#include "autograd/cuda/device_allocator.h"
#include "autograd/error.h"
#include "kernels/cuda/copy.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/norm.h"
#include "kernels/cuda/optim.h"
#include "kernels/cuda/pool.h"
#include "kernels/cuda/random.h"
#include "kernels/cuda/reduce.h"
#include "kernels/cuda/softmax.h"
#include "kernels/cuda/blas.h"
#include "kernels/cuda/dnn.h"

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
  template <class T, class... A> static void norm_stats(A... a) { cuda::norm_stats<T>(a..., stream()); }
  template <class T, class... A> static void norm_forward(A... a) { cuda::norm_forward<T>(a..., stream()); }
  template <class T, class... A> static void norm_running_update(A... a) {
    cuda::norm_running_update<T>(a..., stream());
  }
  template <class T, class... A> static void norm_backward(A... a) { cuda::norm_backward<T>(a..., stream()); }
  template <class T, class... A> static void max_pool_forward(A... a) { cuda::max_pool_forward<T>(a..., stream()); }
  template <class T, class... A> static void index_gather(A... a) { cuda::index_gather<T>(a..., stream()); }
  template <class T, class... A> static void index_scatter_add(A... a) { cuda::index_scatter_add<T>(a..., stream()); }
  template <class T, class... A> static void upsample_nearest(A... a) { cuda::upsample_nearest<T>(a..., stream()); }
  template <class T, class... A> static void block_sum(A... a) { cuda::block_sum<T>(a..., stream()); }
  template <class T, class... A> static void copy_box(A... a) { cuda::copy_box<T>(a..., stream()); }
  template <class T, class... A> static void conv_forward(A... a) { cuda::conv_forward<T>(a..., stream()); }
  template <class T, class... A> static void conv_backward_input(A... a) { cuda::conv_backward_input<T>(a..., stream()); }
  template <class T, class... A> static void conv_backward_weight(A... a) {
    cuda::conv_backward_weight<T>(a..., stream());
  }
  template <class T, class... A> static void gemm(A... a) { cuda::gemm<T>(a..., stream()); }
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
