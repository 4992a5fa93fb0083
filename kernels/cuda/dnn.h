// Convolutions on the GPU through cuDNN's legacy convolution API, mirroring
// kernels/cpu/conv.h (no bias): forward, gradient w.r.t. the input (also the transposed
// convolution's forward), gradient w.r.t. the weight. The same source runs on the real cuDNN
// (CUDA builds) and on the emulated one (kernels/cuda/emu/cudnn_emu.h, PN_CUDA_EMU), through
// kernels/cuda/cudnn_api.h. With library_options().conv == ConvImpl::implicit_gemm (run.conv),
// float32 channels-first calls run our implicit GEMM instead (conv_igemm.h; nothing of cuDNN
// is touched, conv_algorithm() stays empty); other dtypes and channels-last stay on cuDNN.
//
// Contract of conv_forward / conv_backward_input / conv_backward_weight:
//   requires  T float, double, __nv_bfloat16 or __half (kernels/cuda/storage_types.h); g a
//             valid geometry (sizes >= 1, out[] as ConvGeom::out_size gives); the pointers
//             device memory of the current device holding contiguous tensors of g's shapes
//             in `layout`: channels_first (the default) NC[D]HW with weights [C_out, C_in,
//             k...]; channels_last N[D]HWC with weights [C_out, k..., C_in]; stream on that
//             device. The layout is the caller's storage choice: nothing is converted here.
//             g.channels_last (kernels/op_geometry.h, what the autograd ops pass) is the third
//             form: N[D]HWC activations with the weight [C_out, C_in, k...] as for
//             channels-first; `layout` must then be left channels_first. The weight (or
//             backward-weight's result) goes through a stream-ordered copy in cuDNN's
//             [C_out, k..., C_in] (transpose_last_two, copy.h): a weight-sized transpose
//             per call, and no copy of any activation.
//   ensures   the result overwrites y / dx / dw (never read, so NaN there does not leak),
//             enqueued on `stream`. Float math is FP32 (CUDNN_FMA_MATH) unless
//             library_options().allow_tf32 (then CUDNN_DEFAULT_MATH, which permits TF32);
//             double is FP64; bfloat16 / float16 data run with compute type FLOAT
//             (PSEUDO_BFLOAT16_CONFIG / PSEUDO_HALF_CONFIG: fp32 accumulation, one rounding
//             of each result to T) and CUDNN_TENSOR_OP_MATH (tensor cores). With
//             library_options().deterministic only algorithms cuDNN reports deterministic
//             are run. Geometries with D = 1 (2-D convolutions) use 4-D descriptors, others
//             5-D; channels_last is CUDNN_TENSOR_NHWC for both (NDHWC strides for 5-D).
//   throws    CudaError when g.channels_last comes with layout channels_last, or when the
//             weight's copy cannot be allocated. CudaError, before any cuDNN call, when a
//             size cuDNN takes as int (a tensor's element count, a dim, a stride, a pad)
//             exceeds INT_MAX, naming the op, the geometry and the limit; CudaError when
//             no algorithm can run, listing each candidate's failure; CudaError for any
//             other failing cuDNN or CUDA call.
// Algorithm choice: the candidates are cuDNN's v7 heuristics in their order, less those it
// reports unusable (status != SUCCESS), non-deterministic ones when determinism is asked
// for, and tensor-op ones when TF32 is not allowed. Each is tried with the workspace
// cudnnGet*WorkspaceSize gives for it, from the stream-ordered pool (whose release threshold
// is set to UINT64_MAX once per device, so workspaces are not returned to the OS at every
// synchronisation); a launch failing with CUDNN_STATUS_BAD_PARAM, NOT_SUPPORTED or
// EXECUTION_FAILED (any sub-code) or a failed workspace allocation moves on to the next. The
// first that runs is cached per (direction, geometry, dtype, device, options, layout). One cuDNN
// handle per device and host thread.
#pragma once
#include <optional>

#include "kernels/op_geometry.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/cudnn_api.h"
#include "kernels/cuda/storage_types.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {

cudnnHandle_t cudnn_handle();

// Where the channel dimension is stored: NC[D]HW (channels_first) or N[D]HWC (channels_last).
enum class ConvLayout { channels_first = 0, channels_last = 1 };

template <class T>
void conv_forward(const kernels::ConvGeom& g, const T* x, const T* w, T* y, cudaStream_t stream,
                  ConvLayout layout = ConvLayout::channels_first);
template <class T>
void conv_backward_input(const kernels::ConvGeom& g, const T* dy, const T* w, T* dx, cudaStream_t stream,
                         ConvLayout layout = ConvLayout::channels_first);
template <class T>
void conv_backward_weight(const kernels::ConvGeom& g, const T* x, const T* dy, T* dw, cudaStream_t stream,
                          ConvLayout layout = ConvLayout::channels_first);

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
std::optional<ConvAlgorithm> conv_algorithm(ConvDirection direction, const kernels::ConvGeom& g,
                                            ConvLayout layout = ConvLayout::channels_first);

// Throws CudaError for a failed cuDNN call: the call, its file:line, the status name and
// cuDNN's explanation (cudnnGetLastErrorString; emulated: last_error_detail()).
void check_cudnn(cudnnStatus_t s, const char* call, const char* file, int line);

}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda

#define PN_CUDNN_CHECK(call) ::pn::cuda::check_cudnn((call), #call, __FILE__, __LINE__)
