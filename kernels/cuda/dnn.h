// Convolutions on the GPU through cuDNN, mirroring kernels/cpu/conv.h (2-D is 3-D with
// D = 1; no bias): forward, gradient w.r.t. the input (also the transposed convolution's
// forward), gradient w.r.t. the weight. Real CUDA build only. One cuDNN handle per device
// and host thread; the algorithm of each (direction, geometry, dtype, device) is chosen
// once from cuDNN's heuristics and cached with its workspace size; the workspace comes
// from the stream-ordered allocator. FP32 math is requested (no TF32) unless
// set_conv_allow_tf32(true), so results stay comparable with the CPU reference. Uses cuDNN's legacy convolution API (still supported
// in cuDNN 9, without deprecation warnings unless CUDNN_WARN_DEPRECATED); moving to the
// graph API is future work.
#pragma once
#include <cudnn.h>

#include <optional>

#include "kernels/conv_geom.h"
#include "kernels/cuda/check.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {

cudnnHandle_t cudnn_handle();

template <class T>
void conv_forward(const kernels::ConvGeom& g, const T* x, const T* w, T* y, cudaStream_t stream);
template <class T>
void conv_backward_input(const kernels::ConvGeom& g, const T* dy, const T* w, T* dx, cudaStream_t stream);
template <class T>
void conv_backward_weight(const kernels::ConvGeom& g, const T* x, const T* dy, T* dw, cudaStream_t stream);

// TF32 tensor-core math for float convolutions (cuDNN's default math type; PyTorch's
// allow_tf32): off by default, FP32 FMA math. Process-wide; part of the algorithm cache key.
void set_conv_allow_tf32(bool on);
bool conv_allow_tf32();

// The algorithm and workspace size the calls above chose for one direction of geometry g
// (dtype T, current device, current TF32 setting), from the cache they fill: nullopt
// until that direction has run once with that geometry. For reports and benchmarks
// (tools/gpu_check.sh); the algorithm is cuDNN's enum value for that direction.
enum class ConvDirection { forward = 0, backward_input = 1, backward_weight = 2 };
struct ConvAlgorithm {
  int algo = -1;
  size_t workspace_bytes = 0;
};
template <class T>
std::optional<ConvAlgorithm> conv_algorithm(ConvDirection direction, const kernels::ConvGeom& g);

inline void check_cudnn(cudnnStatus_t s, const char* call, const char* file, int line) {
  if (s != CUDNN_STATUS_SUCCESS) throw_error("cuDNN", static_cast<int>(s), "status", cudnnGetErrorString(s), call, file, line);
}

}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda

#define PN_CUDNN_CHECK(call) ::pn::cuda::check_cudnn((call), #call, __FILE__, __LINE__)
