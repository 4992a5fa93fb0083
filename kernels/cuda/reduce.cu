// Sum over axes. The input is viewed as outputs x reduced elements: after merging adjacent
// dims that are treated alike, the kept dims give an output's base offset and the reduced
// dims the offsets it sums. Two kernels:
// * split (the kept dims are not innermost, a single kept dim: [R0, K, R1], [K, R] or a whole
//   tensor [R]): viewed as [N, C, S] (output c sums S-element rows n), each output's N S
//   elements are cut into chunks of kChunk; block (chunk, c) walks its chunk row by row (the
//   row's offset once per row, lanes from the 32-byte boundary below the chunk's part of the
//   row, so warps read whole sectors), merges its threads by warp shuffles (one barrier) and
//   writes out[c], or a double partial per chunk that a second launch adds up in chunk order.
//   Whole-tensor sums and per-channel sums (bias gradients) run on many blocks this way.
// * columns (everything else): outputs laid out as [rows, cols], cols the innermost dim when
//   that dim is kept, so a block of bx x by threads works on bx neighbouring outputs at once
//   (reading along x is contiguous); each thread sums a strided share of the reduced elements
//   in double; the block combines the by shares of each column with a shared-memory tree
//   (barrier after every level) down to one warp, and that warp finishes with shuffles.
// Instantiated for float, double, __nv_bfloat16 and __half: every element is widened exactly
// to double (16-bit ones through float) and each output rounded once to its storage type,
// through float for the 16-bit types, as the CPU reference (kernels/cpu/reduce.h).
#include "kernels/cuda/check.h"
#include "kernels/cuda/device.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/reduce.h"
#include "kernels/cuda/storage_types.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {

namespace {

constexpr unsigned kThreads = 256;
constexpr int64_t kChunk = 4096;  // elements of an output per block of the split kernel (16 per thread)
constexpr int64_t kMaxSplits = 1024;
constexpr int64_t kMaxGridY = 65535;

// An element as a double, exactly; a double sum rounded once to T (through float for 16 bits).
template <class T>
__device__ __forceinline__ double widened(T v) {
  return static_cast<double>(StorageType<T>::to_compute(v));
}
template <class T>
__device__ __forceinline__ T rounded(double v) {
  return StorageType<T>::from_compute(static_cast<typename StorageType<T>::Compute>(v));
}

struct ReducePlan {
  int nk = 0, nr = 0;  // kept dims (without the cols dim) and reduced dims, outermost first
  int64_t kshape[kernels::kMaxDims] = {}, kstride[kernels::kMaxDims] = {};
  int64_t rshape[kernels::kMaxDims] = {}, rstride[kernels::kMaxDims] = {};
  int64_t rows = 1, cols = 1, reduced = 1;
  double scale = 1;  // ReduceGeom::scale
};

// Offset of linear index i over (shape, stride)[0..n): row-major decomposition.
__device__ __forceinline__ int64_t offset_of(int64_t i, int n, const int64_t* shape, const int64_t* stride) {
  if (n == 1) return i * stride[0];
  int64_t off = 0;
  for (int d = n - 1; d >= 0; --d) {
    off += (i % shape[d]) * stride[d];
    i /= shape[d];
  }
  return off;
}

// The split kernel's view: out[c] = sum over n < N, s < S of x[(n C + c) S + s].
struct SplitGeom {
  int64_t n = 0, c = 0, s = 0;
  double scale = 1;  // ReduceGeom::scale
};

// The block's sum of v (every thread calls it); valid in thread 0.
__device__ __forceinline__ double block_sum(double v, double* warp_sums) {
  for (unsigned delta = 16; delta > 0; delta >>= 1) v += __shfl_down_sync(0xffffffffu, v, delta);
  if (threadIdx.x % 32 == 0) warp_sums[threadIdx.x / 32] = v;
  __syncthreads();
  v = 0;
  if (threadIdx.x < 32) {
    v = threadIdx.x < blockDim.x / 32 ? warp_sums[threadIdx.x] : 0.0;
    for (unsigned delta = 16; delta > 0; delta >>= 1) v += __shfl_down_sync(0xffffffffu, v, delta);
  }
  return v;
}

// This thread's share of elements [first, end) of output c (index j = n S + s): for each row
// n the chunk touches, the row's part [lo, hi) is walked from the 32-byte boundary below
// x[row + lo] (lanes before lo idle), so a warp's loads start on a sector.
template <class T>
__device__ __forceinline__ double thread_share(const T* x, const SplitGeom& g, int64_t c, int64_t first, int64_t end) {
  double acc = 0;
  if (first >= end) return acc;
  for (int64_t n = first / g.s; n * g.s < end; ++n) {
    const T* row = x + (n * g.c + c) * g.s;
    const int64_t lo = first > n * g.s ? first - n * g.s : 0, hi = end < (n + 1) * g.s ? end - n * g.s : g.s;
    const int64_t start = lo - static_cast<int64_t>((reinterpret_cast<uintptr_t>(row + lo) % 32) / sizeof(T));
    for (int64_t s = start + threadIdx.x; s < hi; s += blockDim.x)
      if (s >= lo) acc += widened(row[s]);
  }
  return acc;
}

// Stage 1: block (chunk, c); with one chunk per output it writes out[c], else partials[chunk][c].
template <class T>
__global__ void split_sum_kernel(const T* x, SplitGeom g, int64_t chunk, T* out, double* partials) {
  PN_SHARED(double[kThreads / 32], warp_sums);
  const int64_t size = g.n * g.s, first = static_cast<int64_t>(blockIdx.x) * chunk;
  const int64_t end = first + chunk < size ? first + chunk : size;
  for (int64_t c = blockIdx.y; c < g.c; c += gridDim.y) {
    const double v = block_sum(thread_share(x, g, c, first, end), warp_sums);
    if (threadIdx.x == 0 && gridDim.x == 1) out[c] = rounded<T>(v * g.scale);
    else if (threadIdx.x == 0) partials[blockIdx.x * g.c + c] = v;
    __syncthreads();  // the next output overwrites the slots
  }
}

// Stage 2: one thread per output adds its chunks' partials in order (reads coalesced over c).
template <class T>
__global__ void split_merge_kernel(const double* partials, int64_t outputs, unsigned chunks, double scale, T* out) {
  for (int64_t c = global_index(); c < outputs; c += grid_stride()) {
    double v = 0;
    for (unsigned k = 0; k < chunks; ++k) v += partials[k * outputs + c];
    out[c] = rounded<T>(v * scale);
  }
}

template <class T>
__global__ void sum_reduce_kernel(const T* x, T* out, ReducePlan p) {
  PN_SHARED(double[kThreads], partial);
  const unsigned bx = blockDim.x, by = blockDim.y, tx = threadIdx.x, ty = threadIdx.y;
  const unsigned tid = ty * bx + tx;
  const unsigned warp_rows = 32 / bx;  // rows of the block that make up warp 0
  const int64_t tiles = (p.cols + bx - 1) / bx;
  for (int64_t b = blockIdx.x; b < p.rows * tiles; b += gridDim.x) {
    const int64_t row = b / tiles, col = (b % tiles) * bx + tx;
    double acc = 0;
    if (col < p.cols) {  // threads past the last column still join every barrier below
      const int64_t base = offset_of(row, p.nk, p.kshape, p.kstride) + col;
      for (int64_t r = ty; r < p.reduced; r += by) acc += widened(x[base + offset_of(r, p.nr, p.rshape, p.rstride)]);
    }
    partial[tid] = acc;
    __syncthreads();
    for (unsigned s = by / 2; s >= warp_rows; s >>= 1) {
      if (ty < s) partial[tid] += partial[tid + s * bx];
      __syncthreads();
    }
    if (tid < 32) {
      double v = partial[tid];
      for (unsigned delta = 16; delta >= bx; delta >>= 1) v += __shfl_down_sync(0xffffffffu, v, delta);
      if (ty == 0 && col < p.cols) out[row * p.cols + col] = rounded<T>(v * p.scale);
    }
    __syncthreads();  // the next iteration overwrites partial
  }
}

// Drops size-1 dims and merges neighbours with the same reduce flag, then splits the
// result into kept and reduced dims with their element strides.
ReducePlan make_plan(const kernels::ReduceGeom& g) {
  int n = 0;
  int64_t shape[kernels::kMaxDims];
  bool red[kernels::kMaxDims];
  for (int d = 0; d < g.ndim; ++d) {
    if (g.shape[d] == 1) continue;
    if (n > 0 && red[n - 1] == g.reduce[d]) {
      shape[n - 1] *= g.shape[d];
    } else {
      shape[n] = g.shape[d];
      red[n] = g.reduce[d];
      ++n;
    }
  }
  ReducePlan p;
  int64_t stride = 1;
  int64_t kst[kernels::kMaxDims], ksh[kernels::kMaxDims], rst[kernels::kMaxDims], rsh[kernels::kMaxDims];
  int nk = 0, nr = 0;
  for (int d = n - 1; d >= 0; --d) {  // innermost first; reversed below
    if (red[d]) { rsh[nr] = shape[d]; rst[nr] = stride; ++nr; }
    else if (d == n - 1) p.cols = shape[d];  // innermost kept dim: the columns (stride 1)
    else { ksh[nk] = shape[d]; kst[nk] = stride; ++nk; }
    stride *= shape[d];
  }
  for (int i = 0; i < nk; ++i) { p.kshape[i] = ksh[nk - 1 - i]; p.kstride[i] = kst[nk - 1 - i]; p.rows *= ksh[i]; }
  for (int i = 0; i < nr; ++i) { p.rshape[i] = rsh[nr - 1 - i]; p.rstride[i] = rst[nr - 1 - i]; p.reduced *= rsh[i]; }
  p.nk = nk;
  p.nr = nr;
  p.scale = g.scale;
  if (nr == 0) { p.nr = 1; p.rshape[0] = 1; p.rstride[0] = 0; }  // nothing reduced: a copy
  if (nk == 0) { p.kshape[0] = 1; p.kstride[0] = 0; p.nk = 1; }
  return p;
}


// The plan as the split kernel's [N, C, S] when it has that form: one kept dim (or none)
// that is not innermost, the innermost reduced dim contiguous.
bool split_geom_of(const ReducePlan& p, SplitGeom& sg) {
  if (p.cols != 1 || p.nk != 1) return false;
  if (p.nr == 1 && (p.rstride[0] == 1 || p.rshape[0] == 1)) sg = {1, p.kshape[0], p.rshape[0], p.scale};
  else if (p.nr == 2 && p.rstride[1] == 1 && p.rstride[0] == p.kshape[0] * p.rshape[1]) sg = {p.rshape[0], p.kshape[0], p.rshape[1], p.scale};
  else return false;
  return true;
}

template <class T>
void split_sum(const T* x, T* out, const SplitGeom& g, cudaStream_t stream) {
  const int64_t size = g.n * g.s;
  int64_t chunks = (size + kChunk - 1) / kChunk;
  chunks = chunks < 1 ? 1 : chunks > kMaxSplits ? kMaxSplits : chunks;
  const int64_t chunk = (size + chunks - 1) / chunks;
  const dim3 grid(static_cast<unsigned>(chunks), static_cast<unsigned>(g.c < kMaxGridY ? g.c : kMaxGridY));
  if (chunks == 1) {
    launch(split_sum_kernel<T>, grid, dim3(kThreads), 0, stream, x, g, chunk, out, static_cast<double*>(nullptr));
    return;
  }
  double* partials = nullptr;
  PN_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&partials), sizeof(double) * static_cast<size_t>(chunks * g.c),
                                stream));
  launch(split_sum_kernel<T>, grid, dim3(kThreads), 0, stream, x, g, chunk, out, partials);
  launch(split_merge_kernel<T>, grid_for(g.c, kThreads), kThreads, 0, stream, static_cast<const double*>(partials), g.c,
         static_cast<unsigned>(chunks), g.scale, out);
  PN_CUDA_CHECK(cudaFreeAsync(partials, stream));
}

}  // namespace

template <class T>
void sum_reduce(const T* x, T* out, const kernels::ReduceGeom& g, cudaStream_t stream) {
  PN_PROFILE_DISPATCH("sum_reduce", sum_reduce<T>, x, out, g, stream);
  ErrorScope scope("sum", g.shape, g.ndim);
  const ReducePlan p = make_plan(g);
  if (p.rows * p.cols == 0) return;
  SplitGeom sg;
  if (split_geom_of(p, sg)) return split_sum(x, out, sg, stream);
  // Columns: up to a warp's worth side by side (a power of two, so tree levels halve evenly).
  unsigned bx = 1;
  while (bx < 32 && bx < p.cols) bx *= 2;
  const dim3 block(bx, kThreads / bx);
  const int64_t blocks = p.rows * ((p.cols + bx - 1) / bx);
  launch(sum_reduce_kernel<T>, grid_for(blocks, 1), block, 0, stream, x, out, p);
}

template void sum_reduce<float>(const float*, float*, const kernels::ReduceGeom&, cudaStream_t);
template void sum_reduce<double>(const double*, double*, const kernels::ReduceGeom&, cudaStream_t);
template void sum_reduce<__nv_bfloat16>(const __nv_bfloat16*, __nv_bfloat16*, const kernels::ReduceGeom&, cudaStream_t);
template void sum_reduce<__half>(const __half*, __half*, const kernels::ReduceGeom&, cudaStream_t);

// The profile twins of the entry points (launch.h).
PN_PROFILE_TWIN("sum_reduce", sum_reduce<float>)
PN_PROFILE_TWIN("sum_reduce", sum_reduce<double>)

}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda

PN_PROFILE_TWIN_UNIT(reduce)
