// Process-wide options of the vendor-library paths: cuDNN convolutions (dnn.cpp) and cuBLAS
// matrix products (blas.cpp). Read at every call, so a change applies to the next call; the
// convolution algorithm cache keys on them, so choices made under one setting are never
// reused under another.
#pragma once
#include "kernels/cuda/runtime.h"  // PN_CUDA_ABI

namespace pn::cuda {
inline namespace PN_CUDA_ABI {

struct LibraryOptions {
  // Convolutions run only algorithms cuDNN reports CUDNN_DETERMINISTIC, so results are bit
  // for bit the same run to run. Off: the fastest algorithm, which for backward data and
  // backward filter may sum in a varying order (atomics) and differ in the last bits.
  bool deterministic = false;
  // Float convolutions and matrix products may use TF32 tensor cores: inputs rounded to a
  // 10-bit mantissa, about 1e-3 relative error. Off (the default): FP32 arithmetic
  // (CUDNN_FMA_MATH, CUBLAS_DEFAULT_MATH), comparable with the CPU reference to ~1e-5.
  // Double precision never uses TF32.
  bool allow_tf32 = false;
};

void set_library_options(const LibraryOptions& options);
LibraryOptions library_options();

// Sets options for one scope and restores the previous ones at its end.
class ScopedLibraryOptions {
 public:
  explicit ScopedLibraryOptions(const LibraryOptions& options) : old_(library_options()) {
    set_library_options(options);
  }
  ~ScopedLibraryOptions() { set_library_options(old_); }
  ScopedLibraryOptions(const ScopedLibraryOptions&) = delete;
  ScopedLibraryOptions& operator=(const ScopedLibraryOptions&) = delete;

 private:
  LibraryOptions old_;
};

}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda
