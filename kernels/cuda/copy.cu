// Box copy on the GPU: one thread per element; consecutive threads take consecutive
// elements of the contiguous last dim, so reads and writes coalesce.
#include "kernels/cuda/copy.h"
#include "kernels/cuda/device.h"
#include "kernels/cuda/launch.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {

namespace {

constexpr unsigned kBlock = 256;

template <class T>
__global__ void copy_box_kernel(const T* src, T* dst, kernels::BoxCopy b, int64_t n) {
  for (int64_t i = global_index(); i < n; i += grid_stride()) {
    const int64_t i3 = i % b.extent[3], r = i / b.extent[3];
    const int64_t i2 = r % b.extent[2], i1 = r / b.extent[2] % b.extent[1], i0 = r / (b.extent[2] * b.extent[1]);
    dst[i0 * b.dst_stride[0] + i1 * b.dst_stride[1] + i2 * b.dst_stride[2] + i3] =
        src[i0 * b.src_stride[0] + i1 * b.src_stride[1] + i2 * b.src_stride[2] + i3];
  }
}

}  // namespace

template <class T>
void copy_box(const T* src, T* dst, const kernels::BoxCopy& b, cudaStream_t stream) {
  PN_PROFILE_DISPATCH("copy_box", copy_box<T>, src, dst, b, stream);
  const int64_t n = b.numel();
  if (n <= 0) return;
  ErrorScope scope("copy_box", b.extent, 4);
  launch(copy_box_kernel<T>, grid_for(n, kBlock), kBlock, 0, stream, src, dst, b, n);
}

template void copy_box<float>(const float*, float*, const kernels::BoxCopy&, cudaStream_t);
template void copy_box<double>(const double*, double*, const kernels::BoxCopy&, cudaStream_t);

// The profile twins of the entry points (launch.h).
PN_PROFILE_TWIN("copy_box", copy_box<float>)
PN_PROFILE_TWIN("copy_box", copy_box<double>)

}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda

PN_PROFILE_TWIN_UNIT(copy)
