// CUDA strided box copy (concatenation, narrowing, cropping, padding); mirrors
// pn::cpu::copy_box (kernels/cpu/copy.h). Elements of dst outside the box are untouched.
#pragma once
#include "kernels/op_geometry.h"
#include "kernels/cuda/runtime.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {

template <class T>
void copy_box(const T* src, T* dst, const kernels::BoxCopy& b, cudaStream_t stream);

}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda
