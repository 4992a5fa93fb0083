// CUDA softmax and log-softmax along one axis of a contiguous array viewed as
// [outer, axis, inner]; mirrors pn::cpu::softmax_forward (kernels/cpu/softmax.h), with the
// same per-element math (kernels/math/softmax_math.h) and the same summation order.
#pragma once
#include <cstdint>

#include "kernels/cuda/runtime.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {

template <class T>
void softmax_forward(const T* x, T* y, int64_t outer, int64_t axis, int64_t inner, bool log, cudaStream_t stream);

}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda
