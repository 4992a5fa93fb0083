// CUDA window ops over independent planes; mirror kernels/cpu/pool.h argument for argument
// (plus the stream): max-pooling with argmax, the index gather / scatter-add pair that is
// its derivative, nearest upsampling and its adjoint block sum. For float, double,
// __nv_bfloat16 and __half (16-bit values compared and summed as floats, as on the CPU).
#pragma once
#include <cstdint>

#include "kernels/op_geometry.h"
#include "kernels/cuda/runtime.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {

// y = max over each k window (step stride, no padding); idx = in-plane offset of the
// maximum, the first one on ties, or null: then only y is written (as on the CPU).
template <class T>
void max_pool_forward(const kernels::PoolGeom& g, const T* x, T* y, int64_t* idx, cudaStream_t stream);

template <class T>
void index_gather(const T* x, const int64_t* idx, T* y, int64_t planes, int64_t in_vol, int64_t out_vol,
                  cudaStream_t stream);

// x = 0, then x[p, idx[p, o]] += y[p, o] (atomics: deterministic when windows do not
// overlap, i.e. stride >= k, as every pooling in the study's networks; otherwise the
// summation order of the few colliding terms may vary).
template <class T>
void index_scatter_add(const T* y, const int64_t* idx, T* x, int64_t planes, int64_t in_vol, int64_t out_vol,
                       cudaStream_t stream);

template <class T>
void upsample_nearest(const kernels::PoolGeom& g, const T* x, T* y, cudaStream_t stream);

template <class T>
void block_sum(const kernels::PoolGeom& g, const T* y, T* x, cudaStream_t stream);

// Depth to space and back (contracts: kernels/cpu/pool.h): one thread per element of y,
// bit-identical to the CPU reference.
template <class T>
void pixel_shuffle(const kernels::PoolGeom& g, const T* x, T* y, cudaStream_t stream);
template <class T>
void pixel_unshuffle(const kernels::PoolGeom& g, const T* y, T* x, cudaStream_t stream);

}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda
