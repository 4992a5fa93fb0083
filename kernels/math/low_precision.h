// The 16-bit storage types of mixed precision: bfloat16 (8 exponent bits, 7 mantissa
// bits: float32's range, 3 significant digits) and float16 (IEEE binary16: 5 exponent
// bits, 10 mantissa bits, largest finite 65504, subnormals down to 2^-24). They are storage
// only: arithmetic widens to float (operator float), computes in float, and narrows on
// the way back, so every sum a kernel forms over them accumulates in float32.
//
// Conversion from float rounds to nearest, ties to even; NaN stays NaN (quiet, sign kept),
// +-inf stays +-inf, float16 overflows to +-inf (from 65520 up) and underflows through its
// subnormals to +-0. Conversion to float is exact. The bit patterns are IEEE's / Google
// Brain's (bfloat16 = the top 16 bits of a float32), so buffers are interchangeable with
// __nv_bfloat16, __half, oneDNN's bf16/f16 and _Float16.
#pragma once
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "kernels/math/hd.h"

namespace pn::math {

PN_HD uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
PN_HD float bits_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// float -> bfloat16 bits, round to nearest even.
PN_HD uint16_t float_to_bf16_bits(float f) {
  uint32_t u = float_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x0040u);  // quiet NaN
  u += 0x7fffu + ((u >> 16) & 1u);  // carries into the exponent: 0x7f7fffff rounds to inf
  return static_cast<uint16_t>(u >> 16);
}
PN_HD float bf16_bits_to_float(uint16_t h) { return bits_float(static_cast<uint32_t>(h) << 16); }

// float -> float16 bits, round to nearest even, with subnormals.
PN_HD uint16_t float_to_fp16_bits(float f) {
  uint32_t u = float_bits(f);
  const uint32_t sign = (u >> 16) & 0x8000u;
  u &= 0x7fffffffu;
  if (u > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u | ((u >> 13) & 0x3ffu));  // quiet NaN
  if (u >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // >= 65520 (and inf): inf
  if (u >= 0x38800000u) {  // normal: rebias the exponent (127 -> 15), round away 13 mantissa bits
    u += 0xfffu + ((u >> 13) & 1u);
    return static_cast<uint16_t>(sign | ((u - 0x38000000u) >> 13));
  }
  if (u <= 0x33000000u) return static_cast<uint16_t>(sign);  // <= 2^-25 (a tie to even 0): zero
  // Subnormal: the result counts units of 2^-24; the float is m * 2^(e - 150).
  const uint32_t e = u >> 23, m = (u & 0x7fffffu) | 0x800000u, shift = 126 - e;  // 14..24
  uint32_t r = m >> shift;
  const uint32_t rem = m & ((1u << shift) - 1u), half = 1u << (shift - 1u);
  if (rem > half || (rem == half && (r & 1u))) ++r;  // may carry into the smallest normal
  return static_cast<uint16_t>(sign | r);
}
PN_HD float fp16_bits_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
  if (e == 0x1f) return bits_float(sign | 0x7f800000u | (m << 13));
  if (e != 0) return bits_float(sign | ((e + 112u) << 23) | (m << 13));
  const float sub = static_cast<float>(m) * 5.9604644775390625e-8f;  // m * 2^-24, exact
  return sign ? -sub : sub;
}

// The storage types: a 16-bit pattern with conversions to and from float.
struct bfloat16 {
  uint16_t bits = 0;
  bfloat16() = default;
  PN_HD explicit bfloat16(float f) : bits(float_to_bf16_bits(f)) {}
  PN_HD explicit bfloat16(double d) : bfloat16(static_cast<float>(d)) {}  // double rounding: as PyTorch
  PN_HD explicit bfloat16(int i) : bfloat16(static_cast<float>(i)) {}
  PN_HD operator float() const { return bf16_bits_to_float(bits); }
  PN_HD static bfloat16 from_bits(uint16_t b) {
    bfloat16 h;
    h.bits = b;
    return h;
  }
};

struct float16 {
  uint16_t bits = 0;
  float16() = default;
  PN_HD explicit float16(float f) : bits(float_to_fp16_bits(f)) {}
  PN_HD explicit float16(double d) : float16(static_cast<float>(d)) {}
  PN_HD explicit float16(int i) : float16(static_cast<float>(i)) {}
  PN_HD operator float() const { return fp16_bits_to_float(bits); }
  PN_HD static float16 from_bits(uint16_t b) {
    float16 h;
    h.bits = b;
    return h;
  }
};

static_assert(sizeof(bfloat16) == 2 && sizeof(float16) == 2, "16-bit storage types");

// The type arithmetic on elements stored as T runs in: float for the 16-bit storage types
// (these and CUDA's __nv_bfloat16 / __half), T itself for float and double. Kernels widen each
// 16-bit element to it, compute, and round the result once on the way back.
template <class T>
using compute_t = std::conditional_t<(sizeof(T) < sizeof(float)), float, T>;

// Largest finite float16 (the loss scaler and the casting rules refer to it).
constexpr float kFloat16Max = 65504.0f;

}  // namespace pn::math
