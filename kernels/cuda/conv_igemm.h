// Our own 3-D convolution (float32, channels first, no bias) as an implicit GEMM: each pass is
// a matrix product whose operands are gathered from the tensors on the fly (the column matrix
// is never materialised). The production alternative to cuDNN, chosen per run by
// LibraryOptions::conv (run.conv = "implicit_gemm"; kernels/cuda/library_options.h), and the
// version 2 of the workbench families conv3d, conv3d_bwd_data and conv3d_bwd_weight
// (kernels/cuda/WORKBENCH.md). The GEMM mapping of each pass is narrated in conv_igemm.cu.
//
// Contract of the three calls (the same as dnn.h's for float, channels_first):
//   requires  g a valid geometry (sizes >= 1, out[] as ConvGeom::out_size gives; stride and
//             zero padding per axis, no dilation: kernels/op_geometry.h); pointers to device
//             memory of the current device holding contiguous x [N, C_in, D, H, W],
//             w [C_out, C_in, kd, kh, kw], y / dy [N, C_out, oD, oH, oW]; stream on that device;
//             the grid's M tiles (output channels, or input channels for backward data) below
//             65535 x 32.
//   ensures   y / dx / dw overwritten (never read), enqueued on `stream`; float accumulation in
//             a fixed order (the same bits run to run; backward weight splits its long reduction
//             into conv_igemm_weight_splits(g) chunks summed in order through a stream-ordered
//             workspace). Within ~1e-6 x (C_in k^3, C_out k^3 or N x out volume) of the CPU
//             reference for inputs of magnitude <= 1.
//   throws    CudaError for a failing launch or workspace allocation, naming the op and shape.
#pragma once
#include <cstdint>

#include "kernels/op_geometry.h"
#include "kernels/cuda/runtime.h"
#include "kernels/cuda/storage_types.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {

void conv_igemm_forward(const kernels::ConvGeom& g, const float* x, const float* w, float* y, cudaStream_t stream);
void conv_igemm_backward_input(const kernels::ConvGeom& g, const float* dy, const float* w, float* dx,
                               cudaStream_t stream);
void conv_igemm_backward_weight(const kernels::ConvGeom& g, const float* x, const float* dy, float* dw,
                                cudaStream_t stream);

// The three passes on tensor cores for 16-bit data (conv_igemm.cu: nvcuda::wmma 16 x 16 x 16
// tiles of the same three problems, float accumulation): what run.conv = "implicit_gemm"
// computes bf16 / fp16 channels-first convolutions with.
//   requires  as the float calls, with T __nv_bfloat16 or __half; for the forward (T, Out) one
//             of (bf16, bf16), (half, half), (bf16, float) (the workbench's, to see the sums
//             unrounded); on a GPU, sm_80 or newer (the kernel traps on older devices).
//   ensures   the float sum of the exact products in a fixed order (the same bits run to run),
//             rounded once to the output type; backward weight's splits summed in float in
//             order, then rounded once.
template <class T, class Out>
void conv_igemm_forward_mma(const kernels::ConvGeom& g, const T* x, const T* w, Out* y, cudaStream_t stream);
template <class T>
void conv_igemm_backward_input_mma(const kernels::ConvGeom& g, const T* dy, const T* w, T* dx, cudaStream_t stream);
template <class T>
void conv_igemm_backward_weight_mma(const kernels::ConvGeom& g, const T* x, const T* dy, T* dw, cudaStream_t stream);

// How many chunks backward weight splits its reduction (N x out volume) into for g: enough
// blocks to fill a large GPU (~512), at most one per 16-long slice; 1 = no workspace.
int64_t conv_igemm_weight_splits(const kernels::ConvGeom& g);

}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda
