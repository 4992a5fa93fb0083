// Element types and devices a Tensor can have.
//
// Float32 and Float64 are compute types: every op has kernels for them. BFloat16 and
// Float16 are storage types for mixed precision (kernels/math/low_precision.h): only casts,
// fills, box copies, convolutions and matrix products take them (with float32
// accumulation); the casting rules that put them to use are in autograd/autocast.h.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "kernels/math/low_precision.h"

namespace pn {

enum class DType : uint8_t { Float32, Float64, BFloat16, Float16 };
constexpr int kDTypeCount = 4;

inline size_t dtype_size(DType t) {
  static constexpr size_t kSize[] = {4, 8, 2, 2};
  return kSize[static_cast<int>(t)];
}
inline const char* dtype_name(DType t) {
  static constexpr const char* kName[] = {"float32", "float64", "bfloat16", "float16"};
  return kName[static_cast<int>(t)];
}
// Whether t is a 16-bit storage type (bfloat16, float16).
inline bool is_low_precision(DType t) { return t == DType::BFloat16 || t == DType::Float16; }

template <class T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::Float32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::Float64; };
template <> struct dtype_of<math::bfloat16> { static constexpr DType value = DType::BFloat16; };
template <> struct dtype_of<math::float16> { static constexpr DType value = DType::Float16; };

// Throws pn::Error: `op` has no kernel for dtype t, with what to do instead.
[[noreturn]] void throw_unsupported_dtype(const char* op, DType t);

enum class DeviceType : uint8_t { CPU, CUDA };

struct Device {
  DeviceType type = DeviceType::CPU;
  int index = 0;
  bool is_cpu() const { return type == DeviceType::CPU; }
  bool is_cuda() const { return type == DeviceType::CUDA; }
  bool operator==(const Device& o) const { return type == o.type && index == o.index; }
  std::string str() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }
  static Device cpu() { return {}; }
  static Device cuda(int i = 0) { return {DeviceType::CUDA, i}; }
};

// Calls body with `scalar_t` bound to the C++ type of dtype, a compute type (float32,
// float64); a storage type throws (throw_unsupported_dtype).
#define PN_DISPATCH_FLOAT(dtype, ...)                                   \
  do {                                                                  \
    if ((dtype) == ::pn::DType::Float32) {                              \
      using scalar_t = float;                                           \
      __VA_ARGS__;                                                      \
    } else if ((dtype) == ::pn::DType::Float64) {                       \
      using scalar_t = double;                                          \
      __VA_ARGS__;                                                      \
    } else {                                                            \
      ::pn::throw_unsupported_dtype("this operation", (dtype));        \
    }                                                                   \
  } while (0)

// Calls body with `scalar_t` bound to the C++ type of any dtype (storage types too).
#define PN_DISPATCH_ALL(dtype, ...)                                     \
  do {                                                                  \
    switch (dtype) {                                                    \
      case ::pn::DType::Float32: { using scalar_t = float; __VA_ARGS__; break; }          \
      case ::pn::DType::Float64: { using scalar_t = double; __VA_ARGS__; break; }         \
      case ::pn::DType::BFloat16: { using scalar_t = ::pn::math::bfloat16; __VA_ARGS__; break; } \
      case ::pn::DType::Float16: { using scalar_t = ::pn::math::float16; __VA_ARGS__; break; }    \
    }                                                                   \
  } while (0)

}  // namespace pn
