// Elementwise maps on the GPU: unary, broadcasting binary, where. One thread per output
// element in a grid-stride loop; the per-element math is kernels/math's, in the storage
// type's compute type (storage_types.h: float for bf16 / fp16, one rounding per result).
#include "kernels/cuda/device.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/storage_types.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {

namespace {

constexpr unsigned kBlock = 256;

template <class T>
__global__ void unary_kernel(math::Unary op, const T* x, T* y, int64_t n, ComputeOf<T> p0, ComputeOf<T> p1) {
  using S = StorageType<T>;
  for (int64_t i = global_index(); i < n; i += grid_stride())
    y[i] = S::from_compute(math::apply_unary(op, S::to_compute(x[i]), p0, p1));
}

// Output element i is the row-major multi-index over g.shape; each operand's offset is
// that index dotted with the operand's strides (0 along broadcast dims).
template <class T>
__global__ void binary_kernel(math::Binary op, const T* a, const T* b, T* out, kernels::BroadcastGeom g, int64_t n) {
  for (int64_t i = global_index(); i < n; i += grid_stride()) {
    int64_t rem = i, oa = 0, ob = 0;
    for (int d = g.ndim - 1; d >= 0; --d) {
      const int64_t idx = rem % g.shape[d];
      rem /= g.shape[d];
      oa += idx * g.stride_a[d];
      ob += idx * g.stride_b[d];
    }
    using S = StorageType<T>;
    out[i] = S::from_compute(math::apply_binary(op, S::to_compute(a[oa]), S::to_compute(b[ob])));
  }
}

template <class T>
__global__ void where_kernel(const T* cond, const T* a, const T* b, T* y, int64_t n) {
  using C = ComputeOf<T>;
  for (int64_t i = global_index(); i < n; i += grid_stride())
    y[i] = StorageType<T>::to_compute(cond[i]) != C(0) ? a[i] : b[i];
}

}  // namespace

template <class T>
void unary(math::Unary op, const T* x, T* y, int64_t n, ComputeOf<T> p0, ComputeOf<T> p1, cudaStream_t stream) {
  PN_PROFILE_DISPATCH("unary", unary<T>, op, x, y, n, p0, p1, stream);
  if (n <= 0) return;
  ErrorScope scope(math::unary_name(op), n);
  launch(unary_kernel<T>, grid_for(n, kBlock), kBlock, 0, stream, op, x, y, n, p0, p1);
}

template <class T>
void binary(math::Binary op, const T* a, const T* b, T* out, const kernels::BroadcastGeom& g, cudaStream_t stream) {
  PN_PROFILE_DISPATCH("binary", binary<T>, op, a, b, out, g, stream);
  const int64_t n = g.numel();
  if (n <= 0) return;
  ErrorScope scope(math::binary_name(op), g.shape, g.ndim);
  launch(binary_kernel<T>, grid_for(n, kBlock), kBlock, 0, stream, op, a, b, out, g, n);
}

template <class T>
void where(const T* cond, const T* a, const T* b, T* y, int64_t n, cudaStream_t stream) {
  PN_PROFILE_DISPATCH("where", where<T>, cond, a, b, y, n, stream);
  if (n <= 0) return;
  ErrorScope scope("where", n);
  launch(where_kernel<T>, grid_for(n, kBlock), kBlock, 0, stream, cond, a, b, y, n);
}

#define PN_INSTANTIATE(T)                                                                                    \
  template void unary<T>(math::Unary, const T*, T*, int64_t, ComputeOf<T>, ComputeOf<T>, cudaStream_t);       \
  template void binary<T>(math::Binary, const T*, const T*, T*, const kernels::BroadcastGeom&, cudaStream_t); \
  template void where<T>(const T*, const T*, const T*, T*, int64_t, cudaStream_t);                            \
  PN_PROFILE_TWIN("unary", unary<T>)                                                                          \
  PN_PROFILE_TWIN("binary", binary<T>)                                                                        \
  PN_PROFILE_TWIN("where", where<T>)
PN_INSTANTIATE(float)
PN_INSTANTIATE(double)
PN_INSTANTIATE(__nv_bfloat16)
PN_INSTANTIATE(__half)
#undef PN_INSTANTIATE

}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda

PN_PROFILE_TWIN_UNIT(elementwise)
