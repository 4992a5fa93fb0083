// The emulator's 16-bit floating-point storage types: the part of CUDA's <cuda_fp16.h> and
// <cuda_bf16.h> that Penumbra uses, for host-compiler builds with PN_CUDA_EMU (include
// kernels/cuda/storage_types.h, which picks these or the real headers).
//
// Provided, with the real headers' names and behaviour:
//  - __half (IEEE binary16: 1 sign, 5 exponent, 10 mantissa bits) and __nv_bfloat16
//    (bfloat16: 1 sign, 8 exponent, 7 mantissa bits), 2 bytes each, 2-byte aligned, trivially
//    copyable, the bits in a protected member; __half_raw / __nv_bfloat16_raw with the bits in
//    a public `x`, and conversions between a type and its raw struct;
//  - __float2half / __float2half_rn / __float2bfloat16 / __float2bfloat16_rn: round to nearest,
//    ties to even; finite values past the largest finite one round to infinity as IEEE
//    rounding does (half: |x| >= 65520); a NaN becomes the canonical NaN 0x7fff (sign dropped);
//    half subnormals are produced and kept (no flush to zero);
//  - __half2float / __bfloat162float: exact; a half NaN becomes the canonical float NaN
//    0x7fffffff (as the real host path does); a bfloat16 NaN keeps its payload (its bits
//    shifted left by 16, as the real header does);
//  - the implicit conversions float -> __half / __nv_bfloat16 (the _rn functions) and
//    __half / __nv_bfloat16 -> float, as the real headers offer when
//    __CUDA_NO_HALF_CONVERSIONS__ / __CUDA_NO_BFLOAT16_CONVERSIONS__ are not defined;
//  - __half_as_ushort / __ushort_as_half / __bfloat16_as_ushort / __ushort_as_bfloat16.
// Not provided: arithmetic operators and math functions on the 16-bit types (kernels convert
// to float and compute in float), conversions from double and integers (the real headers have
// them; converting from double is deleted here, so that code relying on it fails to compile
// rather than rounding twice through float), the paired types __half2 / __nv_bfloat162.
// Bit exactness: tests/cuda_emu/test_half_types.cpp checks known bit patterns (ties, the
// overflow threshold, subnormals, NaN, infinities) against the values the CUDA 13 headers give.
#pragma once
#if !defined(PN_CUDA_EMU) || defined(__CUDACC__)
#error "half_types.h is for PN_CUDA_EMU builds (include kernels/cuda/storage_types.h)"
#endif

#include <cstdint>

#include "kernels/math/low_precision.h"

struct __half_raw {
  unsigned short x;
};
struct __nv_bfloat16_raw {
  unsigned short x;
};

namespace pn::cuda::emu::half_bits {

// The roundings are Penumbra's one definition (kernels/math/low_precision.h); CUDA's host
// conversions differ from it only in NaNs, which they make canonical.
inline bool is_nan(float f) { return (math::float_bits(f) & 0x7fffffffu) > 0x7f800000u; }

inline unsigned short from_float_half(float f) { return is_nan(f) ? 0x7fffu : math::float_to_fp16_bits(f); }

inline float to_float_half(unsigned short h) {
  const bool nan = (h & 0x7c00u) == 0x7c00u && (h & 0x3ffu) != 0;
  return nan ? math::bits_float(0x7fffffffu) : math::fp16_bits_to_float(h);
}

inline unsigned short from_float_bf16(float f) { return is_nan(f) ? 0x7fffu : math::float_to_bf16_bits(f); }

inline float to_float_bf16(unsigned short b) { return math::bf16_bits_to_float(b); }

}  // namespace pn::cuda::emu::half_bits

struct alignas(2) __half {
 protected:
  unsigned short __x;

 public:
  __half() = default;
  constexpr __half(const __half_raw& r) : __x(r.x) {}  // NOLINT: implicit, as in CUDA
  __half& operator=(const __half_raw& r) {
    __x = r.x;
    return *this;
  }
  constexpr operator __half_raw() const { return __half_raw{__x}; }
  __half(float f) : __x(pn::cuda::emu::half_bits::from_float_half(f)) {}  // NOLINT: implicit, as in CUDA
  __half(double) = delete;  // see the file comment
  operator float() const { return pn::cuda::emu::half_bits::to_float_half(__x); }
};

struct alignas(2) __nv_bfloat16 {
 protected:
  unsigned short __x;

 public:
  __nv_bfloat16() = default;
  constexpr __nv_bfloat16(const __nv_bfloat16_raw& r) : __x(r.x) {}  // NOLINT: implicit, as in CUDA
  __nv_bfloat16& operator=(const __nv_bfloat16_raw& r) {
    __x = r.x;
    return *this;
  }
  constexpr operator __nv_bfloat16_raw() const { return __nv_bfloat16_raw{__x}; }
  __nv_bfloat16(float f) : __x(pn::cuda::emu::half_bits::from_float_bf16(f)) {}  // NOLINT: implicit, as in CUDA
  __nv_bfloat16(double) = delete;  // see the file comment
  operator float() const { return pn::cuda::emu::half_bits::to_float_bf16(__x); }
};

static_assert(sizeof(__half) == 2 && alignof(__half) == 2, "__half is 2 bytes, as in CUDA");
static_assert(sizeof(__nv_bfloat16) == 2 && alignof(__nv_bfloat16) == 2, "__nv_bfloat16 is 2 bytes, as in CUDA");

inline __half __float2half_rn(float f) { return __half_raw{pn::cuda::emu::half_bits::from_float_half(f)}; }
inline __half __float2half(float f) { return __float2half_rn(f); }
inline float __half2float(__half h) { return pn::cuda::emu::half_bits::to_float_half(static_cast<__half_raw>(h).x); }
inline unsigned short __half_as_ushort(__half h) { return static_cast<__half_raw>(h).x; }
inline __half __ushort_as_half(unsigned short u) { return __half_raw{u}; }

inline __nv_bfloat16 __float2bfloat16_rn(float f) {
  return __nv_bfloat16_raw{pn::cuda::emu::half_bits::from_float_bf16(f)};
}
inline __nv_bfloat16 __float2bfloat16(float f) { return __float2bfloat16_rn(f); }
inline float __bfloat162float(__nv_bfloat16 b) {
  return pn::cuda::emu::half_bits::to_float_bf16(static_cast<__nv_bfloat16_raw>(b).x);
}
inline unsigned short __bfloat16_as_ushort(__nv_bfloat16 b) { return static_cast<__nv_bfloat16_raw>(b).x; }
inline __nv_bfloat16 __ushort_as_bfloat16(unsigned short u) { return __nv_bfloat16_raw{u}; }
