// Filling a device array with one value, and converting between element types (storage types:
// kernels/cuda/storage_types.h; to bfloat16 / float16 rounds to nearest even).
#include "kernels/cuda/device.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/storage_types.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {

namespace {

constexpr unsigned kBlock = 256;

template <class T>
__global__ void fill_kernel(T* x, int64_t n, T value) {
  for (int64_t i = global_index(); i < n; i += grid_stride()) x[i] = value;
}

template <class Src, class Dst>
__global__ void cast_kernel(const Src* x, Dst* y, int64_t n) {
  for (int64_t i = global_index(); i < n; i += grid_stride()) y[i] = convert_storage<Dst>(x[i]);
}

}  // namespace

template <class T>
void fill(T* x, int64_t n, T value, cudaStream_t stream) {
  PN_PROFILE_DISPATCH("fill", fill<T>, x, n, value, stream);
  if (n <= 0) return;
  ErrorScope scope("fill", n);
  launch(fill_kernel<T>, grid_for(n, kBlock), kBlock, 0, stream, x, n, value);
}

template <class Src, class Dst>
void cast(const Src* x, Dst* y, int64_t n, cudaStream_t stream) {
  PN_PROFILE_DISPATCH("cast", (cast<Src, Dst>), x, y, n, stream);
  if (n <= 0) return;
  ErrorScope scope("cast", n);
  launch(cast_kernel<Src, Dst>, grid_for(n, kBlock), kBlock, 0, stream, x, y, n);
}

template void fill<float>(float*, int64_t, float, cudaStream_t);
template void fill<double>(double*, int64_t, double, cudaStream_t);
template void cast<float, double>(const float*, double*, int64_t, cudaStream_t);
template void cast<double, float>(const double*, float*, int64_t, cudaStream_t);
template void cast<float, float>(const float*, float*, int64_t, cudaStream_t);
template void cast<double, double>(const double*, double*, int64_t, cudaStream_t);
template void fill<__nv_bfloat16>(__nv_bfloat16*, int64_t, __nv_bfloat16, cudaStream_t);
template void fill<__half>(__half*, int64_t, __half, cudaStream_t);
template void cast<float, __nv_bfloat16>(const float*, __nv_bfloat16*, int64_t, cudaStream_t);
template void cast<__nv_bfloat16, float>(const __nv_bfloat16*, float*, int64_t, cudaStream_t);
template void cast<float, __half>(const float*, __half*, int64_t, cudaStream_t);
template void cast<__half, float>(const __half*, float*, int64_t, cudaStream_t);

// The profile twins of the entry points (launch.h).
PN_PROFILE_TWIN("fill", fill<float>)
PN_PROFILE_TWIN("fill", fill<double>)
PN_PROFILE_TWIN("cast", (cast<float, double>))
PN_PROFILE_TWIN("cast", (cast<double, float>))
PN_PROFILE_TWIN("cast", (cast<float, float>))
PN_PROFILE_TWIN("cast", (cast<double, double>))
PN_PROFILE_TWIN("fill", fill<__nv_bfloat16>)
PN_PROFILE_TWIN("fill", fill<__half>)
PN_PROFILE_TWIN("cast", (cast<float, __nv_bfloat16>))
PN_PROFILE_TWIN("cast", (cast<__nv_bfloat16, float>))
PN_PROFILE_TWIN("cast", (cast<float, __half>))
PN_PROFILE_TWIN("cast", (cast<__half, float>))

}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda

PN_PROFILE_TWIN_UNIT(fill_cast)
