// Element types and devices a Tensor can have.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace pn {

enum class DType : uint8_t { Float32, Float64 };

inline size_t dtype_size(DType t) { return t == DType::Float32 ? 4 : 8; }
inline const char* dtype_name(DType t) { return t == DType::Float32 ? "float32" : "float64"; }

template <class T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::Float32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::Float64; };

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

// Calls body with `scalar_t` bound to the C++ type of dtype.
#define PN_DISPATCH_FLOAT(dtype, ...)                                   \
  do {                                                                  \
    if ((dtype) == ::pn::DType::Float32) {                              \
      using scalar_t = float;                                           \
      __VA_ARGS__;                                                      \
    } else {                                                            \
      using scalar_t = double;                                          \
      __VA_ARGS__;                                                      \
    }                                                                   \
  } while (0)

}  // namespace pn
