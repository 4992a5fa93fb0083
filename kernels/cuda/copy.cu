// Box copy on the GPU: consecutive threads take consecutive elements of the contiguous last
// dim, so reads and writes coalesce. When the box's offsets and element count fit 32 bits (all
// tensors of the study) the index arithmetic is 32-bit, and when the rows, strides and pointers
// allow, each thread moves 16 bytes at once (4 floats, 2 doubles or 8 16-bit values, one LDG.128 / STG.128);
// otherwise one element per thread with 64-bit indices. Chosen on the kernel workbench
// (workbench/copy_box.cu, WORKBENCH.md).
#include "kernels/cuda/copy.h"
#include "kernels/cuda/device.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/storage_types.h"
#include "kernels/cuda/vector_types.h"

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

// The box in units of kVec elements, every offset below 2^31.
struct Box32 {
  unsigned e1, e2, row_units;  // row_units = extent[3] / kVec
  unsigned src_stride[3], dst_stride[3];
};

template <class T, unsigned kVec>
__global__ void copy_box32_kernel(const T* src, T* dst, Box32 b, unsigned units) {
  for (unsigned u = blockIdx.x * blockDim.x + threadIdx.x; u < units; u += gridDim.x * blockDim.x) {
    const unsigned r = u / b.row_units, col = (u - r * b.row_units) * kVec;
    const unsigned i2 = r % b.e2, q = r / b.e2, i1 = q % b.e1, i0 = q / b.e1;
    const unsigned s = i0 * b.src_stride[0] + i1 * b.src_stride[1] + i2 * b.src_stride[2] + col;
    const unsigned d = i0 * b.dst_stride[0] + i1 * b.dst_stride[1] + i2 * b.dst_stride[2] + col;
    if constexpr (kVec == 1)
      dst[d] = src[s];
    else
      st128(reinterpret_cast<float4*>(dst + d), ld128(reinterpret_cast<const float4*>(src + s)));
  }
}

// The largest offset + 1 the box reaches with these strides, or -1 for a negative stride.
int64_t box_span(const kernels::BoxCopy& b, const int64_t* stride) {
  int64_t span = b.extent[3];
  for (int d = 0; d < 3; ++d) {
    if (stride[d] < 0) return -1;
    span += (b.extent[d] - 1) * stride[d];
  }
  return span;
}

// Whether every row start is 16-byte aligned and rows are whole 16-byte units.
template <class T>
bool rows_aligned16(const T* src, T* dst, const kernels::BoxCopy& b) {
  constexpr int64_t v = 16 / sizeof(T);
  bool ok = reinterpret_cast<uintptr_t>(src) % 16 == 0 && reinterpret_cast<uintptr_t>(dst) % 16 == 0 &&
            b.extent[3] % v == 0;
  for (int d = 0; d < 3; ++d) ok = ok && b.src_stride[d] % v == 0 && b.dst_stride[d] % v == 0;
  return ok;
}

template <class T, unsigned kVec>
void launch_box32(const T* src, T* dst, const kernels::BoxCopy& b, cudaStream_t stream) {
  Box32 b32{static_cast<unsigned>(b.extent[1]), static_cast<unsigned>(b.extent[2]),
            static_cast<unsigned>(b.extent[3] / kVec), {}, {}};
  for (int d = 0; d < 3; ++d) {
    b32.src_stride[d] = static_cast<unsigned>(b.src_stride[d]);
    b32.dst_stride[d] = static_cast<unsigned>(b.dst_stride[d]);
  }
  const int64_t units = b.numel() / kVec;
  launch(copy_box32_kernel<T, kVec>, grid_for(units, kBlock), kBlock, 0, stream, src, dst, b32,
         static_cast<unsigned>(units));
}

// One thread per dst element, consecutive threads along dst's rows (coalesced writes); 32-bit
// indices where the whole array fits them.
template <class T, class I>
__global__ void transpose_last_two_kernel(const T* src, T* dst, I outer, I rows, I cols) {
  const I n = outer * rows * cols;
  for (I i = static_cast<I>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += static_cast<I>(gridDim.x) * blockDim.x) {
    const I r = i % rows, q = i / rows, c = q % cols, o = q / cols;
    dst[i] = src[(o * rows + r) * cols + c];
  }
}

}  // namespace

template <class T>
void transpose_last_two(const T* src, T* dst, int64_t outer, int64_t rows, int64_t cols, cudaStream_t stream) {
  PN_PROFILE_DISPATCH("transpose_last_two", transpose_last_two<T>, src, dst, outer, rows, cols, stream);
  const int64_t n = outer * rows * cols;
  if (n <= 0) return;
  const int64_t shape[3] = {outer, rows, cols};
  ErrorScope scope("transpose_last_two", shape, 3);
  if (n < (int64_t{1} << 31))
    launch(transpose_last_two_kernel<T, unsigned>, grid_for(n, kBlock), kBlock, 0, stream, src, dst,
           static_cast<unsigned>(outer), static_cast<unsigned>(rows), static_cast<unsigned>(cols));
  else
    launch(transpose_last_two_kernel<T, int64_t>, grid_for(n, kBlock), kBlock, 0, stream, src, dst, outer, rows,
           cols);
}

template <class T>
void copy_box(const T* src, T* dst, const kernels::BoxCopy& b, cudaStream_t stream) {
  PN_PROFILE_DISPATCH("copy_box", copy_box<T>, src, dst, b, stream);
  const int64_t n = b.numel();
  if (n <= 0) return;
  ErrorScope scope("copy_box", b.extent, 4);
  constexpr int64_t kLimit = int64_t{1} << 31;
  const int64_t src_span = box_span(b, b.src_stride), dst_span = box_span(b, b.dst_stride);
  if (src_span < 0 || dst_span < 0 || src_span >= kLimit || dst_span >= kLimit || n >= kLimit)
    launch(copy_box_kernel<T>, grid_for(n, kBlock), kBlock, 0, stream, src, dst, b, n);
  else if (rows_aligned16(src, dst, b))
    launch_box32<T, 16 / sizeof(T)>(src, dst, b, stream);
  else
    launch_box32<T, 1>(src, dst, b, stream);
}

template void copy_box<float>(const float*, float*, const kernels::BoxCopy&, cudaStream_t);
template void copy_box<double>(const double*, double*, const kernels::BoxCopy&, cudaStream_t);
template void copy_box<__nv_bfloat16>(const __nv_bfloat16*, __nv_bfloat16*, const kernels::BoxCopy&, cudaStream_t);
template void copy_box<__half>(const __half*, __half*, const kernels::BoxCopy&, cudaStream_t);

#define PN_TRANSPOSE(T) \
  template void transpose_last_two<T>(const T*, T*, int64_t, int64_t, int64_t, cudaStream_t);
PN_TRANSPOSE(float)
PN_TRANSPOSE(double)
PN_TRANSPOSE(__nv_bfloat16)
PN_TRANSPOSE(__half)
#undef PN_TRANSPOSE

// The profile twins of the entry points (launch.h).
PN_PROFILE_TWIN("transpose_last_two", transpose_last_two<float>)
PN_PROFILE_TWIN("transpose_last_two", transpose_last_two<double>)
PN_PROFILE_TWIN("transpose_last_two", transpose_last_two<__nv_bfloat16>)
PN_PROFILE_TWIN("transpose_last_two", transpose_last_two<__half>)
PN_PROFILE_TWIN("copy_box", copy_box<float>)
PN_PROFILE_TWIN("copy_box", copy_box<double>)
PN_PROFILE_TWIN("copy_box", copy_box<__nv_bfloat16>)
PN_PROFILE_TWIN("copy_box", copy_box<__half>)

}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda

PN_PROFILE_TWIN_UNIT(copy)
