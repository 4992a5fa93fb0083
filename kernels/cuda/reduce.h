// CUDA sum reduction over chosen axes of a contiguous array; mirrors pn::cpu::sum_reduce
// (kernels/cpu/reduce.h). Like the reference it accumulates in double, and its summation
// order is fixed by the launch shape alone, so results are deterministic run to run; they
// differ from the reference only by rounding of the double partial sums. T: float, double,
// __nv_bfloat16, __half (16-bit elements widened exactly, each output rounded once through
// float, as the reference).
#pragma once
#include "kernels/cuda/runtime.h"
#include "kernels/op_geometry.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {

// out has one element per combination of the kept dims (in order).
template <class T>
void sum_reduce(const T* x, T* out, const kernels::ReduceGeom& g, cudaStream_t stream);

}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda
