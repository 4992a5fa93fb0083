// Chapter 6: the row sum-of-squares kernels (row_sumsq.h), from naive to fast, and two
// planted bugs. Launched with pn::cuda::launch, never <<<>>>, so the emulator can run them.
#include "examples/cuda_kernel/row_sumsq.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/device.h"
#include "kernels/cuda/launch.h"

namespace pn::examples {
inline namespace PN_CUDA_ABI {

namespace {

using pn::cuda::global_index;
using pn::cuda::grid_stride;
constexpr unsigned kThreads = 256;  // per block; a power of two, so the tree halves evenly

// Version 1: thread r sums row r. Few threads when rows are few (a batch of 5 samples: 5
// threads on a GPU that runs 100,000 at once), and neighbouring threads read addresses
// cols apart, so every load of a warp touches 32 different memory sectors.
template <class T>
__global__ void sumsq_naive(const T* x, T* out, int64_t rows, int64_t cols) {
  for (int64_t r = global_index(); r < rows; r += grid_stride()) {
    double acc = 0;
    for (int64_t j = 0; j < cols; ++j) acc += static_cast<double>(x[r * cols + j]) * x[r * cols + j];
    out[r] = static_cast<T>(acc);
  }
}

// Version 2: block b sums rows b, b + gridDim.x, ... Thread t reads elements t, t + 256, ...
// of the row, so a warp's 32 loads are 32 neighbours (one or two 128-byte lines). The 256
// partial sums meet in shared memory: a tree halves them down to one warp (a barrier after
// every level, so no thread reads a slot before its writer is done), then the warp adds
// the last 32 with shuffles, register to register, which need no barrier.
template <class T, bool kBarrierAfterWrites, bool kOneRowTooFar>
__global__ void sumsq_block(const T* x, T* out, int64_t rows, int64_t cols) {
  PN_SHARED(double[kThreads], partial);
  const unsigned t = threadIdx.x;
  const int64_t last = kOneRowTooFar ? rows : rows - 1;  // the planted bug: r <= rows
  for (int64_t r = blockIdx.x; r <= last; r += gridDim.x) {
    const T* row = x + r * cols;
    double acc = 0;
    for (int64_t j = t; j < cols; j += blockDim.x) acc += static_cast<double>(row[j]) * row[j];
    partial[t] = acc;
    if (kBarrierAfterWrites) __syncthreads();  // the planted bug: without it, t reads partial[t + s] too early
    for (unsigned s = blockDim.x / 2; s >= 32; s >>= 1) {
      if (t < s) partial[t] += partial[t + s];
      __syncthreads();
    }
    if (t < 32) {
      double v = partial[t];
      for (int d = 16; d > 0; d >>= 1) v += __shfl_down_sync(0xffffffffu, v, d);
      if (t == 0) out[r] = static_cast<T>(v);
    }
    __syncthreads();  // the next row overwrites partial
  }
}

}  // namespace

const char* version_name(SumsqVersion v) {
  switch (v) {
    case SumsqVersion::Naive: return "naive (thread per row)";
    case SumsqVersion::Block: return "block per row";
    case SumsqVersion::MissingSync: return "block per row, barrier missing (planted)";
    case SumsqVersion::PastTheEnd: return "block per row, r <= rows (planted)";
  }
  return "?";
}

template <class T>
void row_sumsq(SumsqVersion v, const T* x, T* out, int64_t rows, int64_t cols, cudaStream_t stream) {
  pn::cuda::ErrorScope scope(version_name(v), rows * cols);  // names the op in any CudaError
  switch (v) {
    case SumsqVersion::Naive:
      pn::cuda::launch(sumsq_naive<T>, pn::cuda::grid_for(rows, 128), 128, 0, stream, x, out, rows, cols);
      break;
    case SumsqVersion::Block:
      pn::cuda::launch(sumsq_block<T, true, false>, pn::cuda::grid_for(rows, 1), kThreads, 0, stream, x, out, rows, cols);
      break;
    case SumsqVersion::MissingSync:
      pn::cuda::launch(sumsq_block<T, false, false>, pn::cuda::grid_for(rows, 1), kThreads, 0, stream, x, out, rows,
                       cols);
      break;
    case SumsqVersion::PastTheEnd:
      pn::cuda::launch(sumsq_block<T, true, true>, pn::cuda::grid_for(rows, 1), kThreads, 0, stream, x, out, rows, cols);
      break;
  }
}

template void row_sumsq<float>(SumsqVersion, const float*, float*, int64_t, int64_t, cudaStream_t);
template void row_sumsq<double>(SumsqVersion, const double*, double*, int64_t, int64_t, cudaStream_t);

}  // namespace PN_CUDA_ABI
}  // namespace pn::examples
