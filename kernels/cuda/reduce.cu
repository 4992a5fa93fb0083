// Sum over axes. The input is viewed as outputs x reduced elements: after merging adjacent
// dims that are treated alike, the kept dims give an output's base offset and the reduced
// dims the offsets it sums. Outputs are laid out as [rows, cols], where cols is the
// innermost dim when that dim is kept (else 1), so a block of bx x by threads can work on
// bx neighbouring outputs at once: reading along x is then contiguous in memory.
// Each thread sums a strided share of the reduced elements in double; the block combines
// the by shares of each column with a shared-memory tree (barrier after every level) down
// to one warp, and that warp finishes with shuffles.
#include "kernels/cuda/device.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/reduce.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {

namespace {

constexpr unsigned kThreads = 256;

struct ReducePlan {
  int nk = 0, nr = 0;  // kept dims (without the cols dim) and reduced dims, outermost first
  int64_t kshape[kernels::kMaxDims] = {}, kstride[kernels::kMaxDims] = {};
  int64_t rshape[kernels::kMaxDims] = {}, rstride[kernels::kMaxDims] = {};
  int64_t rows = 1, cols = 1, reduced = 1;
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
      for (int64_t r = ty; r < p.reduced; r += by) acc += x[base + offset_of(r, p.nr, p.rshape, p.rstride)];
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
      if (ty == 0 && col < p.cols) out[row * p.cols + col] = static_cast<T>(v);
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
  if (nr == 0) { p.nr = 1; p.rshape[0] = 1; p.rstride[0] = 0; }  // nothing reduced: a copy
  if (nk == 0) { p.kshape[0] = 1; p.kstride[0] = 0; p.nk = 1; }
  return p;
}

}  // namespace

template <class T>
void sum_reduce(const T* x, T* out, const kernels::ReduceGeom& g, cudaStream_t stream) {
  PN_PROFILE_DISPATCH("sum_reduce", sum_reduce<T>, x, out, g, stream);
  ErrorScope scope("sum", g.shape, g.ndim);
  const ReducePlan p = make_plan(g);
  if (p.rows * p.cols == 0) return;
  // Columns: up to a warp's worth side by side (a power of two, so tree levels halve evenly).
  unsigned bx = 1;
  while (bx < 32 && bx < p.cols) bx *= 2;
  const dim3 block(bx, kThreads / bx);
  const int64_t blocks = p.rows * ((p.cols + bx - 1) / bx);
  launch(sum_reduce_kernel<T>, grid_for(blocks, 1), block, 0, stream, x, out, p);
}

template void sum_reduce<float>(const float*, float*, const kernels::ReduceGeom&, cudaStream_t);
template void sum_reduce<double>(const double*, double*, const kernels::ReduceGeom&, cudaStream_t);

// The profile twins of the entry points (launch.h).
PN_PROFILE_TWIN("sum_reduce", sum_reduce<float>)
PN_PROFILE_TWIN("sum_reduce", sum_reduce<double>)

}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda

PN_PROFILE_TWIN_UNIT(reduce)
