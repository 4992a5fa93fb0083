// The element types device arrays are stored in, and one mapping from each to what kernels and
// library wrappers need to know about it: its name (in messages and profiles), its size, and
// how it converts to and from float, the type all 16-bit data is computed in.
//
// Storage types: float, double, __nv_bfloat16 and __half. The 16-bit types come from CUDA's
// <cuda_bf16.h> / <cuda_fp16.h> in real builds and from the emulator's
// kernels/cuda/emu/half_types.h under PN_CUDA_EMU (the same names, bit-exact conversions).
// Conversions to a 16-bit type round to nearest, ties to even (as __float2bfloat16 /
// __float2half do); conversions to float are exact.
//
// StorageType<T> contract:
//   name      "float32", "float64", "bfloat16", "float16"
//   bytes     sizeof(T)
//   Compute   the type arithmetic on T runs in: float for the 16-bit types, else T
//   to_compute(T) / from_compute(Compute): the conversions (exact / round to nearest even)
#pragma once
#include <cstddef>

#include "kernels/cuda/runtime.h"

#if defined(PN_CUDA_EMU)
#include "kernels/cuda/emu/half_types.h"
#else
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#endif

namespace pn::cuda {

template <class T>
struct StorageType;

template <>
struct StorageType<float> {
  static constexpr const char* name = "float32";
  static constexpr std::size_t bytes = 4;
  using Compute = float;
  __host__ __device__ static Compute to_compute(float x) { return x; }
  __host__ __device__ static float from_compute(Compute x) { return x; }
};

template <>
struct StorageType<double> {
  static constexpr const char* name = "float64";
  static constexpr std::size_t bytes = 8;
  using Compute = double;
  __host__ __device__ static Compute to_compute(double x) { return x; }
  __host__ __device__ static double from_compute(Compute x) { return x; }
};

template <>
struct StorageType<__nv_bfloat16> {
  static constexpr const char* name = "bfloat16";
  static constexpr std::size_t bytes = 2;
  using Compute = float;
  __host__ __device__ static Compute to_compute(__nv_bfloat16 x) { return __bfloat162float(x); }
  __host__ __device__ static __nv_bfloat16 from_compute(Compute x) { return __float2bfloat16_rn(x); }
};

template <>
struct StorageType<__half> {
  static constexpr const char* name = "float16";
  static constexpr std::size_t bytes = 2;
  using Compute = float;
  __host__ __device__ static Compute to_compute(__half x) { return __half2float(x); }
  __host__ __device__ static __half from_compute(Compute x) { return __float2half_rn(x); }
};

// The type arithmetic on storage type T runs in.
template <class T>
using ComputeOf = typename StorageType<T>::Compute;

static_assert(sizeof(__nv_bfloat16) == StorageType<__nv_bfloat16>::bytes);
static_assert(sizeof(__half) == StorageType<__half>::bytes);

// x converted from one storage type to another: to Src's compute type (exact), then to Dst's
// compute type (a C++ conversion: double -> float rounds to nearest), then to Dst (rounds to
// nearest even for the 16-bit types). Between float and a 16-bit type that is exactly one
// __float2bfloat16 / __float2half or one exact widening.
template <class Dst, class Src>
__host__ __device__ inline Dst convert_storage(Src x) {
  return StorageType<Dst>::from_compute(
      static_cast<typename StorageType<Dst>::Compute>(StorageType<Src>::to_compute(x)));
}

}  // namespace pn::cuda
