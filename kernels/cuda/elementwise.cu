// Elementwise maps on the GPU: unary, broadcasting binary, where. Unary on float32 with 16-byte
// aligned pointers and n < 2^31 (issue 17's workbench, family "elementwise"): four elements per
// thread per step through 16-byte accesses, a 32-bit index, the last n % 4 scalar; other unary
// calls and where: one thread per output element in a grid-stride loop. Binary: by rows of the output (issue 17's
// workbench, family "binary"): the output is [rows, inner], inner the last merged dim; a 2-D
// grid puts threadIdx.x along the row and threadIdx.y over rows, each row's operand offsets
// are computed once (32-bit divisions over the outer dims), a broadcast operand's value sits in
// a register, and float rows of a multiple of 4 go through 16-byte accesses; rows shorter than
// a warp run one element per thread in 32 bits (a 32-bit division by the row length per
// element); offsets past 2^31 take the 64-bit per-element kernel. The per-element math is kernels/math's, in the
// storage type's compute type (storage_types.h: float for bf16 / fp16, one rounding per result).
#include <algorithm>
#include <climits>
#include <type_traits>

#include "kernels/cuda/device.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/storage_types.h"
#include "kernels/cuda/vector_types.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {

namespace {

using kernels::BroadcastGeom;
constexpr unsigned kBlock = 256;
constexpr unsigned kThreads = 256;  // per block of the binary rows kernels
constexpr unsigned kMaxGridY = 65535;

template <class T>
__global__ void unary_kernel(math::Unary op, const T* x, T* y, int64_t n, ComputeOf<T> p0, ComputeOf<T> p1) {
  using S = StorageType<T>;
  for (int64_t i = global_index(); i < n; i += grid_stride())
    y[i] = S::from_compute(math::apply_unary(op, S::to_compute(x[i]), p0, p1));
}

// float, 16-byte aligned x and y, n < 2^31: y[4i..4i+3] from one 16-byte load and store.
__global__ void unary_vec4_kernel(math::Unary op, const float* x, float* y, int n, float p0, float p1) {
  const int nvec = n / 4;
  const int stride = static_cast<int>(gridDim.x * blockDim.x);
  const int first = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  const float4* x4 = reinterpret_cast<const float4*>(x);
  float4* y4 = reinterpret_cast<float4*>(y);
  for (int i = first; i < nvec; i += stride) {
    float4 v = ld128(x4 + i);
    v.x = math::apply_unary(op, v.x, p0, p1);
    v.y = math::apply_unary(op, v.y, p0, p1);
    v.z = math::apply_unary(op, v.z, p0, p1);
    v.w = math::apply_unary(op, v.w, p0, p1);
    st128(y4 + i, v);
  }
  for (int i = 4 * nvec + first; i < n; i += stride) y[i] = math::apply_unary(op, x[i], p0, p1);
}

// Offsets past 2^31: output element i is the row-major multi-index over g.shape; each
// operand's offset is that index dotted with the operand's strides (0 along broadcast dims).
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

// The output as [rows, inner]: the outer dims (all but the last merged one) in 32 bits.
struct RowPlan {
  int nouter = 0;
  int shape[kernels::kMaxDims] = {}, stride_a[kernels::kMaxDims] = {}, stride_b[kernels::kMaxDims] = {};
  int rows = 1, inner = 1, inner_a = 0, inner_b = 0;  // inner strides: 0 (broadcast) or any
  bool vec4 = false;                                  // the 16-byte path (float only)
};

// The operands' offsets of row `row`: its outer multi-index dotted with their strides.
__device__ __forceinline__ void row_offsets(const RowPlan& p, int row, int& oa, int& ob) {
  oa = 0;
  ob = 0;
  for (int d = p.nouter - 1; d >= 0; --d) {
    const int idx = row % p.shape[d];
    row /= p.shape[d];
    oa += idx * p.stride_a[d];
    ob += idx * p.stride_b[d];
  }
}

// Scalar path: out[row, j] = op(a[oa + j inner_a], b[ob + j inner_b]).
template <class T>
__global__ void binary_rows_kernel(math::Binary op, const T* a, const T* b, T* out, RowPlan p) {
  using S = StorageType<T>;
  for (int row = blockIdx.y * blockDim.y + threadIdx.y; row < p.rows; row += gridDim.y * blockDim.y) {
    int oa, ob;
    row_offsets(p, row, oa, ob);
    T* out_row = out + row * p.inner;
    for (int j = blockIdx.x * blockDim.x + threadIdx.x; j < p.inner; j += gridDim.x * blockDim.x)
      out_row[j] = S::from_compute(
          math::apply_binary(op, S::to_compute(a[oa + j * p.inner_a]), S::to_compute(b[ob + j * p.inner_b])));
  }
}

// Rows shorter than a warp (inner < 32, where a warp per row would leave lanes idle): one
// element per thread over the whole output in 32 bits; element i is (row i / inner, column
// i % inner), the row's offsets as above (32-bit divisions, one per outer dim).
template <class T>
__global__ void binary_short_rows_kernel(math::Binary op, const T* a, const T* b, T* out, RowPlan p) {
  using S = StorageType<T>;
  const int n = p.rows * p.inner;
  for (int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x); i < n; i += gridDim.x * blockDim.x) {
    const int row = i / p.inner, j = i - row * p.inner;
    int oa, ob;
    row_offsets(p, row, oa, ob);
    out[i] = S::from_compute(
        math::apply_binary(op, S::to_compute(a[oa + j * p.inner_a]), S::to_compute(b[ob + j * p.inner_b])));
  }
}

// 16-byte path (inner % 4 == 0, inner strides 0 or 1, 16-byte aligned rows): lane j takes
// elements 4j..4j+3 of the row; a broadcast operand's value is loaded once per row.
__global__ void binary_rows_vec4_kernel(math::Binary op, const float* a, const float* b, float* out, RowPlan p) {
  const int nvec = p.inner / 4;
  for (int row = blockIdx.y * blockDim.y + threadIdx.y; row < p.rows; row += gridDim.y * blockDim.y) {
    int oa, ob;
    row_offsets(p, row, oa, ob);
    const int first = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
    if (first >= nvec) continue;
    const float sa = p.inner_a ? 0.f : a[oa], sb = p.inner_b ? 0.f : b[ob];
    const float4* a4 = reinterpret_cast<const float4*>(a + oa);
    const float4* b4 = reinterpret_cast<const float4*>(b + ob);
    float4* o4 = reinterpret_cast<float4*>(out + row * p.inner);
    for (int j = first; j < nvec; j += gridDim.x * blockDim.x) {
      const float4 va = p.inner_a ? ld128(a4 + j) : float4{sa, sa, sa, sa};
      const float4 vb = p.inner_b ? ld128(b4 + j) : float4{sb, sb, sb, sb};
      st128(o4 + j, float4{math::apply_binary(op, va.x, vb.x), math::apply_binary(op, va.y, vb.y),
                           math::apply_binary(op, va.z, vb.z), math::apply_binary(op, va.w, vb.w)});
    }
  }
}

// The extent an operand's strides reach (its last offset + 1).
int64_t operand_extent(const BroadcastGeom& g, const int64_t* stride) {
  int64_t e = 1;
  for (int d = 0; d < g.ndim; ++d) e += (g.shape[d] - 1) * stride[d];
  return e;
}

// false when an offset would not fit 32 bits (the caller runs version 1).
bool make_row_plan(const BroadcastGeom& g, const void* a, const void* b, const void* out, bool vec_type, RowPlan& p) {
  if (g.ndim < 1) return false;
  if (g.numel() >= INT_MAX || operand_extent(g, g.stride_a) >= INT_MAX || operand_extent(g, g.stride_b) >= INT_MAX)
    return false;
  p.nouter = g.ndim - 1;
  for (int d = 0; d < p.nouter; ++d) {
    p.shape[d] = static_cast<int>(g.shape[d]);
    p.stride_a[d] = static_cast<int>(g.stride_a[d]);
    p.stride_b[d] = static_cast<int>(g.stride_b[d]);
    p.rows *= p.shape[d];
  }
  p.inner = static_cast<int>(g.shape[g.ndim - 1]);
  p.inner_a = static_cast<int>(g.stride_a[g.ndim - 1]);
  p.inner_b = static_cast<int>(g.stride_b[g.ndim - 1]);
  // The rows read in 16-byte accesses (the output's, and an operand's with inner stride 1)
  // start 16-byte aligned when their base pointer is and every outer stride is a multiple of 4
  // (the output's row stride is inner). A broadcast operand (inner stride 0) is read one value
  // per row, at any address.
  bool aligned = p.inner % 4 == 0 && p.inner_a <= 1 && p.inner_b <= 1 && reinterpret_cast<uintptr_t>(out) % 16 == 0;
  auto rows_aligned = [&](const void* ptr, int inner, const int* stride) {
    if (inner == 0) return true;
    bool ok = reinterpret_cast<uintptr_t>(ptr) % 16 == 0;
    for (int d = 0; d < p.nouter; ++d) ok = ok && stride[d] % 4 == 0;
    return ok;
  };
  p.vec4 = vec_type && aligned && rows_aligned(a, p.inner_a, p.stride_a) && rows_aligned(b, p.inner_b, p.stride_b);
  return true;
}

// Block: threadIdx.x along the row (a power of two from 32 to 256 covering it), the rest of
// the 256 threads over rows; grid x over the row's remaining length, grid y over rows.
// Rows shorter than 32: the 1-D kernel above.
template <class T>
void launch_rows(math::Binary op, const T* a, const T* b, T* out, const RowPlan& p, cudaStream_t stream) {
  if (p.inner < 32)
    return launch(binary_short_rows_kernel<T>, grid_for(int64_t{p.rows} * p.inner, kThreads), kThreads, 0, stream, op,
                  a, b, out, p);
  const int lanes_needed = p.vec4 ? p.inner / 4 : p.inner;
  unsigned bx = 32;
  while (bx < kThreads && static_cast<int>(bx) < lanes_needed) bx *= 2;
  const dim3 block(bx, kThreads / bx);
  const unsigned gx = static_cast<unsigned>((lanes_needed + bx - 1) / bx);
  const unsigned gy = static_cast<unsigned>(std::min<int64_t>((p.rows + block.y - 1) / block.y, kMaxGridY));
  if constexpr (std::is_same_v<T, float>) {
    if (p.vec4) return launch(binary_rows_vec4_kernel, dim3(gx, gy), block, 0, stream, op, a, b, out, p);
  }
  launch(binary_rows_kernel<T>, dim3(gx, gy), block, 0, stream, op, a, b, out, p);
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
  if constexpr (std::is_same_v<T, float>) {
    if (n < (int64_t{1} << 31) && reinterpret_cast<uintptr_t>(x) % 16 == 0 && reinterpret_cast<uintptr_t>(y) % 16 == 0)
      return launch(unary_vec4_kernel, grid_for((n + 3) / 4, kBlock), kBlock, 0, stream, op, x, y, static_cast<int>(n),
                    p0, p1);
  }
  launch(unary_kernel<T>, grid_for(n, kBlock), kBlock, 0, stream, op, x, y, n, p0, p1);
}

template <class T>
void binary(math::Binary op, const T* a, const T* b, T* out, const kernels::BroadcastGeom& g, cudaStream_t stream) {
  PN_PROFILE_DISPATCH("binary", binary<T>, op, a, b, out, g, stream);
  const int64_t n = g.numel();
  if (n <= 0) return;
  ErrorScope scope(math::binary_name(op), g.shape, g.ndim);
  RowPlan p;
  if (make_row_plan(g, a, b, out, std::is_same_v<T, float>, p)) return launch_rows(op, a, b, out, p, stream);
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
