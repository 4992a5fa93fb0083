// CUDA strided box copy (concatenation, narrowing, cropping, padding) and batched transposes; mirrors
// pn::cpu::copy_box (kernels/cpu/copy.h). Elements of dst outside the box are untouched.
// Instantiated for float, double, __nv_bfloat16 and __half (kernels/cuda/storage_types.h).
#pragma once
#include "kernels/op_geometry.h"
#include "kernels/cuda/runtime.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {

template <class T>
void copy_box(const T* src, T* dst, const kernels::BoxCopy& b, cudaStream_t stream);

// dst[o][c][r] = src[o][r][c] for o < outer, r < rows, c < cols: a batch of matrix transposes
// (NC[D]HW <-> N[D]HWC, and a weight [C_out, C_in, k...] <-> [C_out, k..., C_in]); mirrors
// pn::cpu::transpose_last_two (kernels/cpu/copy.h). src and dst do not overlap.
template <class T>
void transpose_last_two(const T* src, T* dst, int64_t outer, int64_t rows, int64_t cols, cudaStream_t stream);

}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda
