// Device-side helpers every kernel file may use, valid under nvcc and the emulator alike:
// grid-stride loop indices (64-bit, since tensors may exceed 2^31 elements) and the
// floating-point atomic max/min CUDA lacks, built from atomicCAS.
#pragma once
#include <cstdint>

#include "kernels/cuda/runtime.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {

__device__ __forceinline__ int64_t global_index() {
  return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ int64_t grid_stride() { return static_cast<int64_t>(gridDim.x) * blockDim.x; }

// *addr = max(*addr, v) (or min), atomically; returns the old value. A CAS loop on the bit
// pattern: retries only while another thread changed the value in between.
template <bool kMax>
__device__ __forceinline__ float atomic_extremum(float* addr, float v) {
  unsigned* bits = reinterpret_cast<unsigned*>(addr);
  unsigned old = __float_as_uint(*addr), assumed;  // read as float: no aliasing
  do {
    assumed = old;
    const float cur = __uint_as_float(assumed);
    if (kMax ? !(v > cur) : !(v < cur)) break;  // also leaves NaN in place
    old = atomicCAS(bits, assumed, __float_as_uint(v));
  } while (old != assumed);
  return __uint_as_float(old);
}
template <bool kMax>
__device__ __forceinline__ double atomic_extremum(double* addr, double v) {
  unsigned long long* bits = reinterpret_cast<unsigned long long*>(addr);
  unsigned long long old = static_cast<unsigned long long>(__double_as_longlong(*addr)), assumed;
  do {
    assumed = old;
    const double cur = __longlong_as_double(static_cast<long long>(assumed));
    if (kMax ? !(v > cur) : !(v < cur)) break;
    old = atomicCAS(bits, assumed, static_cast<unsigned long long>(__double_as_longlong(v)));
  } while (old != assumed);
  return __longlong_as_double(static_cast<long long>(old));
}
template <class T>
__device__ __forceinline__ T atomic_max(T* addr, T v) { return atomic_extremum<true>(addr, v); }

}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda
