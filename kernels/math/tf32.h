// TF32, the 19-bit format tensor cores multiply FP32 data in (8-bit exponent, 10-bit
// mantissa): one definition of the FP32 -> TF32 conversion, so that the emulated cuBLAS
// and cuDNN (kernels/cuda/emu) and the tests that check them round alike.
#pragma once
#include <cstdint>
#include <cstring>

#include "kernels/math/hd.h"

namespace pn::math {

// x rounded to the nearest TF32 value (ties to even), returned as a float whose low 13
// mantissa bits are zero. Infinities and NaNs pass through; a value that rounds past the
// largest finite float becomes infinity, as IEEE rounding does.
PN_HD float round_to_tf32(float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  if ((u & 0x7f800000u) == 0x7f800000u) return x;
  const uint32_t lsb = (u >> 13) & 1u;  // the lowest bit TF32 keeps: ties round to it being 0
  u += 0x0fffu + lsb;
  u &= 0xffffe000u;
  std::memcpy(&x, &u, sizeof u);
  return x;
}

}  // namespace pn::math
