// Convolutions on the GPU through cuDNN's legacy convolution API, mirroring
// kernels/cpu/conv.h (no bias): forward, gradient w.r.t. the input (also the transposed
// convolution's forward), gradient w.r.t. the weight. The same source runs on the real cuDNN
// (CUDA builds) and on the emulated one (kernels/cuda/emu/cudnn_emu.h, PN_CUDA_EMU), through
// kernels/cuda/cudnn_api.h.
//
// Contract of conv_forward / conv_backward_input / conv_backward_weight:
//   requires  g a valid geometry (sizes >= 1, out[] as ConvGeom::out_size gives); the
//             pointers device memory of the current device holding contiguous NC[D]HW
//             tensors of g's shapes (weights [C_out, C_in, k...]); stream on that device.
//   ensures   the result overwrites y / dx / dw (never read, so NaN there does not leak),
//             enqueued on `stream`. Float math is FP32 (CUDNN_FMA_MATH) unless
//             library_options().allow_tf32 (then CUDNN_DEFAULT_MATH, which permits TF32);
//             with library_options().deterministic only algorithms cuDNN reports
//             deterministic are run. Geometries with D = 1 (2-D convolutions) use 4-D
//             descriptors, others 5-D.
//   throws    CudaError, before any cuDNN call, when a size cuDNN takes as int (a tensor's
//             element count, a dim, a stride, a pad) exceeds INT_MAX, naming the op, the
//             geometry and the limit; CudaError when no algorithm can run, listing each
//             candidate's failure; CudaError for any other failing cuDNN or CUDA call.
// Algorithm choice: the candidates are cuDNN's v7 heuristics in their order, less those it
// reports unusable (status != SUCCESS), non-deterministic ones when determinism is asked
// for, and tensor-op ones when TF32 is not allowed. Each is tried with the workspace
// cudnnGet*WorkspaceSize gives for it, from the stream-ordered pool (whose release threshold
// is set to UINT64_MAX once per device, so workspaces are not returned to the OS at every
// synchronisation); a launch failing with CUDNN_STATUS_BAD_PARAM, NOT_SUPPORTED or
// EXECUTION_FAILED (any sub-code) or a failed workspace allocation moves on to the next. The
// first that runs is cached per (direction, geometry, dtype, device, options). One cuDNN
// handle per device and host thread.
#pragma once
#include <optional>

#include "kernels/op_geometry.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/cudnn_api.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {

cudnnHandle_t cudnn_handle();

template <class T>
void conv_forward(const kernels::ConvGeom& g, const T* x, const T* w, T* y, cudaStream_t stream);
template <class T>
void conv_backward_input(const kernels::ConvGeom& g, const T* dy, const T* w, T* dx, cudaStream_t stream);
template <class T>
void conv_backward_weight(const kernels::ConvGeom& g, const T* x, const T* dy, T* dw, cudaStream_t stream);

// The algorithm and workspace size the calls above chose for one direction of geometry g
// (dtype T, current device, current library_options()), from the cache they fill: nullopt
// until that direction has run once with that geometry and those options. For reports and
// benchmarks (tools/gpu_check.sh); the algorithm is cuDNN's enum value for that direction.
enum class ConvDirection { forward = 0, backward_input = 1, backward_weight = 2 };
struct ConvAlgorithm {
  int algo = -1;
  size_t workspace_bytes = 0;
};
template <class T>
std::optional<ConvAlgorithm> conv_algorithm(ConvDirection direction, const kernels::ConvGeom& g);

// Throws CudaError for a failed cuDNN call: the call, its file:line, the status name and
// cuDNN's explanation (cudnnGetLastErrorString; emulated: last_error_detail()).
void check_cudnn(cudnnStatus_t s, const char* call, const char* file, int line);

}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda

#define PN_CUDNN_CHECK(call) ::pn::cuda::check_cudnn((call), #call, __FILE__, __LINE__)
