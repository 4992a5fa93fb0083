// Device-side helpers every kernel file may use, valid under nvcc and the emulator alike:
// grid-stride loop indices (64-bit, since tensors may exceed 2^31 elements) and the
// floating-point atomic max/min CUDA lacks, built from atomicCAS, and an atomic add for every
// storage type (16-bit ones through a CAS loop on their bits: no sm_80 atomicAdd needed).
#pragma once
#include <cstdint>
#include <type_traits>

#include "kernels/cuda/runtime.h"
#include "kernels/cuda/storage_types.h"

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

// The bit pattern of a 16-bit storage value, and the value of a bit pattern.
__device__ __forceinline__ unsigned short storage_bits(__half h) { return __half_as_ushort(h); }
__device__ __forceinline__ unsigned short storage_bits(__nv_bfloat16 h) { return __bfloat16_as_ushort(h); }
template <class T>
__device__ __forceinline__ T storage_from_bits(unsigned short u) {
  if constexpr (std::is_same_v<T, __half>) return __ushort_as_half(u);
  else return __ushort_as_bfloat16(u);
}

// *addr += v atomically. float and double: atomicAdd; 16-bit types: the sum in float rounded
// once to the storage type (as sm_80's bf16 atomicAdd), retried while another thread changed
// the value in between.
template <class T>
__device__ __forceinline__ void atomic_add(T* addr, T v) {
  if constexpr (sizeof(T) >= 4) {
    atomicAdd(addr, v);
  } else {
    using S = StorageType<T>;
    unsigned short* bits = reinterpret_cast<unsigned short*>(addr);
    unsigned short old = storage_bits(*addr), assumed;
    do {
      assumed = old;
      const T sum = S::from_compute(S::to_compute(storage_from_bits<T>(assumed)) + S::to_compute(v));
      old = atomicCAS(bits, assumed, storage_bits(sum));
    } while (old != assumed);
  }
}

}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda
