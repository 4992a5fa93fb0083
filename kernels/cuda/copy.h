// CUDA strided box copy (concatenation, narrowing, cropping, padding); mirrors
// pn::cpu::copy_box (kernels/cpu/copy.h). Elements of dst outside the box are untouched.
// Instantiated for float, double, __nv_bfloat16 and __half (kernels/cuda/storage_types.h).
#pragma once
#include "kernels/op_geometry.h"
#include "kernels/cuda/runtime.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {

template <class T>
void copy_box(const T* src, T* dst, const kernels::BoxCopy& b, cudaStream_t stream);

}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda
