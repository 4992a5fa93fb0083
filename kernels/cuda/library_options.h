// Process-wide options of the vendor-library paths: convolutions (dnn.cpp: cuDNN, or our
// implicit GEMM, conv_igemm.h) and cuBLAS matrix products (blas.cpp). Read at every call, so a change applies to the next call; the
// convolution algorithm cache keys on them, so choices made under one setting are never
// reused under another.
#pragma once
#include <string>

#include "kernels/cuda/runtime.h"  // PN_CUDA_ABI

namespace pn::cuda {
inline namespace PN_CUDA_ABI {

// Who computes channels-first convolutions (run.conv): cuDNN, or our implicit GEMM
// (conv_igemm.h): float32, and bfloat16 / float16 on tensor cores. float64 and channels-last
// storage always run through cuDNN.
enum class ConvImpl { cudnn = 0, implicit_gemm = 1 };
const char* conv_impl_name(ConvImpl impl);  // "cudnn", "implicit_gemm"
// The implementation a run.conv value names; std::invalid_argument naming `what` (the key or
// variable it came from) and the accepted values for anything else.
ConvImpl parse_conv_impl(const std::string& value, const std::string& what);

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
  // Float32 channels-first convolutions (forward and both backwards) through cuDNN or through
  // our implicit GEMM. deterministic and allow_tf32 concern cuDNN only: the implicit GEMM is
  // FP32 and sums in a fixed order.
  ConvImpl conv = ConvImpl::cudnn;
  // run.cudnn_graphs: the float32 fused norm + activation forward (norm.h norm_act_forward)
  // applies its per-group scale and shift through a cuDNN fused graph (dnn_graph.h
  // scale_shift_act) instead of our kernel; where no engine of the installed cuDNN runs the
  // graph, our kernel does, and the process says so once on stderr.
  bool cudnn_graphs = false;
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
