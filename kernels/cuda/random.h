// CUDA random fills from the Philox stream; mirror pn::cpu's (kernels/cpu/random.h):
// element i gets draw (seed, offset + i), so a fill gives the same values on either
// backend, whatever the launch shape.
#pragma once
#include <cstdint>

#include "kernels/cuda/runtime.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {

template <class T>
void fill_normal(T* x, int64_t n, uint64_t seed, uint64_t offset, double mean, double std, cudaStream_t stream);

template <class T>
void fill_uniform(T* x, int64_t n, uint64_t seed, uint64_t offset, double lo, double hi, cudaStream_t stream);

// x[i] = (u < keep) ? scale : 0: an inverted-dropout mask.
template <class T>
void fill_bernoulli(T* x, int64_t n, uint64_t seed, uint64_t offset, double keep, double scale,
                    cudaStream_t stream);

}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda
