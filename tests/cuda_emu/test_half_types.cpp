// The emulator's __nv_bfloat16 / __half (kernels/cuda/emu/half_types.h) and the cast and fill
// kernels over them (kernels/cuda/elementwise.h).
//  - Conversions: known bit patterns, each the value the CUDA 13 <cuda_bf16.h> /
//    <cuda_fp16.h> give (ties to even, the overflow threshold, subnormals, signed zeros,
//    infinities, NaN canonicalisation), and two independent references on many floats: the
//    compiler's _Float16 (IEEE binary16, round to nearest even) for half, and for bfloat16 the
//    nearer of the two neighbouring bfloat16 values computed in double.
//  - Cast kernels float <-> bf16 / fp16 and fill, on an awkward length (more than one grid
//    stride), bit for bit against those conversions done on the host.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "emu_util.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/storage_types.h"

using pn::test::DeviceArray;

namespace {

float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}
uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}
unsigned short half_bits(float f) { return __half_as_ushort(__float2half(f)); }
unsigned short bf16_bits(float f) { return __bfloat16_as_ushort(__float2bfloat16(f)); }

// bfloat16 round to nearest even, computed differently: the two bfloat16 neighbours of x
// (truncation and the next one up in magnitude) compared by their distance in double.
unsigned short bf16_reference(float x) {
  if (std::isnan(x)) return 0x7fff;
  const uint32_t u = bits_of(x);
  const uint32_t lo = u >> 16, hi = lo + 1;
  if ((u & 0xffffu) == 0) return static_cast<unsigned short>(lo);
  const double dlo = from_bits(lo << 16), dhi = from_bits(hi << 16);  // hi may be infinity
  const double to_lo = std::fabs(double(x) - dlo);
  const double to_hi = std::isinf(dhi) ? std::fabs(double(x) - std::ldexp(std::copysign(1.0, x), 128)) :
                                         std::fabs(dhi - double(x));
  if (to_lo < to_hi) return static_cast<unsigned short>(lo);
  if (to_hi < to_lo) return static_cast<unsigned short>(hi);
  return static_cast<unsigned short>((lo & 1u) ? hi : lo);
}

// Float bit patterns spread over the whole range, plus every pattern near the rounding points.
std::vector<uint32_t> sample_patterns() {
  std::vector<uint32_t> v;
  for (uint64_t u = 0; u < (1ull << 32); u += 65537) v.push_back(static_cast<uint32_t>(u));
  for (uint32_t base : {0x3f800000u, 0x477fe000u, 0x33000000u, 0x38800000u, 0x7f7f0000u, 0x00000000u})
    for (uint32_t d = 0; d < 0x20000u; d += 0x7f) {
      v.push_back(base + d);
      v.push_back((base + d) | 0x80000000u);
    }
  return v;
}

}  // namespace

TEST_CASE("half_types: float -> bfloat16 known bit patterns (CUDA 13 cuda_bf16.h values)") {
  CHECK(bf16_bits(1.0f) == 0x3f80);
  CHECK(bf16_bits(from_bits(0x3f808000u)) == 0x3f80);  // tie, even kept
  CHECK(bf16_bits(from_bits(0x3f818000u)) == 0x3f82);  // tie, odd rounds up
  CHECK(bf16_bits(from_bits(0x3f808001u)) == 0x3f81);  // just above the tie
  CHECK(bf16_bits(from_bits(0x3f807fffu)) == 0x3f80);  // just below
  CHECK(bf16_bits(-0.0f) == 0x8000);
  CHECK(bf16_bits(from_bits(0x00018000u)) == 0x0002);  // subnormal tie, odd rounds up
  CHECK(bf16_bits(std::numeric_limits<float>::max()) == 0x7f80);  // rounds past the largest: inf
  CHECK(bf16_bits(-std::numeric_limits<float>::infinity()) == 0xff80);
  CHECK(bf16_bits(from_bits(0xffc00001u)) == 0x7fff);  // NaN: canonical, sign dropped
  CHECK(bf16_bits(0.1f) == 0x3dcd);
  CHECK(bits_of(__bfloat162float(__ushort_as_bfloat16(0x3f81))) == 0x3f810000u);
  CHECK(bits_of(__bfloat162float(__ushort_as_bfloat16(0xffc1))) == 0xffc10000u);  // NaN payload kept
}

TEST_CASE("half_types: float -> half known bit patterns (CUDA 13 cuda_fp16.h values)") {
  CHECK(half_bits(1.0f) == 0x3c00);
  CHECK(half_bits(from_bits(0x3f801000u)) == 0x3c00);  // 1 + 2^-11: tie, even kept
  CHECK(half_bits(from_bits(0x3f803000u)) == 0x3c02);  // 1 + 3 * 2^-11: tie, odd rounds up
  CHECK(half_bits(65504.0f) == 0x7bff);
  CHECK(half_bits(from_bits(0x477fefffu)) == 0x7bff);  // just below 65520
  CHECK(half_bits(65520.0f) == 0x7c00);                // the overflow threshold
  CHECK(half_bits(-1e9f) == 0xfc00);
  CHECK(half_bits(std::ldexp(1.0f, -14)) == 0x0400);   // smallest normal
  CHECK(half_bits(std::ldexp(1.0f, -24)) == 0x0001);   // smallest subnormal
  CHECK(half_bits(std::ldexp(1.0f, -25)) == 0x0000);   // tie with zero: even (zero)
  CHECK(half_bits(from_bits(0x33000001u)) == 0x0001);  // just above that tie
  CHECK(half_bits(std::ldexp(3.0f, -25)) == 0x0002);   // 1.5 units: tie, odd rounds up
  CHECK(half_bits(-std::ldexp(1.0f, -26)) == 0x8000);  // negative underflow keeps its sign
  CHECK(half_bits(0.1f) == 0x2e66);
  CHECK(half_bits(std::numeric_limits<float>::quiet_NaN()) == 0x7fff);
  CHECK(half_bits(-std::numeric_limits<float>::infinity()) == 0xfc00);
  CHECK(__half2float(__ushort_as_half(0x0001)) == std::ldexp(1.0f, -24));
  CHECK(__half2float(__ushort_as_half(0x03ff)) == std::ldexp(1023.0f, -24));
  CHECK(bits_of(__half2float(__ushort_as_half(0x8000))) == 0x80000000u);
  CHECK(bits_of(__half2float(__ushort_as_half(0xfc01))) == 0x7fffffffu);  // NaN: canonical
  CHECK(__half2float(__ushort_as_half(0xfc00)) == -std::numeric_limits<float>::infinity());
}

TEST_CASE("half_types: conversions agree with independent references on sampled floats") {
  int half_wrong = 0, bf16_wrong = 0;
  for (uint32_t u : sample_patterns()) {
    const float x = from_bits(u);
    const _Float16 h = static_cast<_Float16>(x);
    unsigned short want_h;
    std::memcpy(&want_h, &h, sizeof want_h);
    if (std::isnan(x)) want_h = 0x7fff;
    half_wrong += half_bits(x) != want_h;
    bf16_wrong += bf16_bits(x) != bf16_reference(x);
  }
  CHECK(half_wrong == 0);
  CHECK(bf16_wrong == 0);
  int back_wrong = 0;  // every half back to float, exactly
  for (uint32_t b = 0; b < 65536; ++b) {
    unsigned short s = static_cast<unsigned short>(b);
    _Float16 h;
    std::memcpy(&h, &s, sizeof h);
    const float want = static_cast<float>(h), got = __half2float(__ushort_as_half(s));
    back_wrong += std::isnan(want) ? !std::isnan(got) : bits_of(got) != bits_of(want);
  }
  CHECK(back_wrong == 0);
}

TEST_CASE("half_types: storage traits name, size and convert") {
  CHECK(std::string(pn::cuda::StorageType<__nv_bfloat16>::name) == "bfloat16");
  CHECK(std::string(pn::cuda::StorageType<__half>::name) == "float16");
  CHECK(pn::cuda::StorageType<__half>::bytes == 2);
  CHECK(__half_as_ushort(pn::cuda::convert_storage<__half>(1.0f)) == 0x3c00);
  CHECK(pn::cuda::convert_storage<float>(__ushort_as_bfloat16(0x4049)) == 3.140625f);
}

namespace {

template <class H>
void check_cast_round_trip(unsigned short (*to_bits)(float), unsigned short (*as_bits)(H)) {
  const int64_t n = 70001;  // more than one grid stride of the launch (grid_for caps the grid)
  auto x = pn::test::random_vector<float>(n, 7, -70000.0, 70000.0);
  x[0] = std::numeric_limits<float>::quiet_NaN();
  x[1] = -0.0f;
  x[2] = 1e-30f;
  x[3] = from_bits(0x3f808000u);
  DeviceArray<float> d_x(x), d_back(n);
  DeviceArray<H> d_h(n);
  pn::cuda::cast(d_x.get(), d_h.get(), n, nullptr);
  pn::cuda::cast(d_h.get(), d_back.get(), n, nullptr);
  const auto h = d_h.to_host();
  const auto back = d_back.to_host();
  int wrong = 0, back_wrong = 0;
  for (int64_t i = 0; i < n; ++i) {
    wrong += as_bits(h[i]) != to_bits(x[i]);
    const float want = static_cast<float>(h[i]);
    back_wrong += std::isnan(want) ? !std::isnan(back[i]) : bits_of(back[i]) != bits_of(want);
  }
  CHECK(wrong == 0);
  CHECK(back_wrong == 0);
  DeviceArray<H> d_f(1000);
  pn::cuda::fill(d_f.get(), 1000, H(2.5f), nullptr);
  int not_filled = 0;
  for (H v : d_f.to_host()) not_filled += static_cast<float>(v) != 2.5f;
  CHECK(not_filled == 0);
}

}  // namespace

TEST_CASE("half_types: cast kernels float <-> bfloat16 / float16 and fill, bit for bit") {
  SUBCASE("bfloat16") { check_cast_round_trip<__nv_bfloat16>(bf16_bits, __bfloat16_as_ushort); }
  SUBCASE("float16") { check_cast_round_trip<__half>(half_bits, __half_as_ushort); }
}
