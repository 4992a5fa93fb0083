// CUDA elementwise ops: unary maps, broadcasting binary ops, where, fill and cast. Each
// mirrors its CPU reference in kernels/cpu/elementwise.h (same arguments, plus the stream
// the work is queued on; pointers are device pointers) and computes every element with
// the same kernels/math function, so the two backends agree bit for bit on the same libm.
#pragma once
#include <cstdint>

#include "kernels/cuda/runtime.h"
#include "kernels/cuda/storage_types.h"
#include "kernels/op_geometry.h"
#include "kernels/math/elementwise_math.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {

// unary, binary and where are instantiated for float, double, __nv_bfloat16 and __half: 16-bit
// elements are widened to float, computed with the same kernels/math function as float, and
// the result rounded once (nearest even); unary's parameters are in the compute type.
template <class T>
void unary(math::Unary op, const T* x, T* y, int64_t n, ComputeOf<T> p0, ComputeOf<T> p1, cudaStream_t stream);

template <class T>
void binary(math::Binary op, const T* a, const T* b, T* out, const kernels::BroadcastGeom& g, cudaStream_t stream);

// y = where(cond != 0, a, b) for same-shape contiguous arrays.
template <class T>
void where(const T* cond, const T* a, const T* b, T* y, int64_t n, cudaStream_t stream);

template <class T>
void fill(T* x, int64_t n, T value, cudaStream_t stream);

// Instantiated for float and double (each pair), and float <-> __nv_bfloat16 / __half
// (kernels/cuda/storage_types.h: to a 16-bit type rounds to nearest even, as __float2bfloat16 /
// __float2half do; to float is exact). fill also for __nv_bfloat16 and __half.
template <class Src, class Dst>
void cast(const Src* x, Dst* y, int64_t n, cudaStream_t stream);

}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda
