// Chapter 6: a CUDA kernel written here, in versions: the sum of squares of each row of a
// [rows, cols] array, out[r] = sum_j x[r, j]^2 (accumulated in double, like the CPU
// reference below). Compiled twice like every .cu file: by nvcc (real GPUs) and by the
// host compiler against the CPU emulator (PN_CUDA_EMU), where CI runs it.
//   Naive:        one thread per row walks its row alone.
//   Block:        one block per row: threads stride along the row (coalesced loads), then a
//                 shared-memory tree and a warp shuffle combine their partial sums.
//   MissingSync:  Block without the __syncthreads between the shared-memory writes and the
//                 first reads (a planted bug the emulator must catch).
//   PastTheEnd:   Block with its row loop running to r <= rows (a planted out-of-bounds
//                 write of out[rows], and a read past x: caught by guard bytes or ASan).
// requires: x and out device memory of the current device; rows, cols >= 1.
#pragma once
#include <cstdint>

#include "kernels/cuda/runtime.h"

namespace pn::examples {
inline namespace PN_CUDA_ABI {

enum class SumsqVersion { Naive, Block, MissingSync, PastTheEnd };
const char* version_name(SumsqVersion v);

template <class T>
void row_sumsq(SumsqVersion v, const T* x, T* out, int64_t rows, int64_t cols, cudaStream_t stream);

}  // namespace PN_CUDA_ABI

// The CPU reference: the definition the kernels are checked against.
template <class T>
void row_sumsq_cpu(const T* x, T* out, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    double acc = 0;
    for (int64_t j = 0; j < cols; ++j) acc += static_cast<double>(x[r * cols + j]) * static_cast<double>(x[r * cols + j]);
    out[r] = static_cast<T>(acc);
  }
}

}  // namespace pn::examples
