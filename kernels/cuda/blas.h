// Matrix products on the GPU through cuBLAS, row-major like pn::cpu::gemm
// (kernels/cpu/gemm.h): C = alpha * op(A) op(B) + beta * C. The same source runs on the real
// cuBLAS (CUDA builds) and on the emulated one (kernels/cuda/emu/cublas_emu.h, PN_CUDA_EMU),
// through kernels/cuda/cublas_api.h.
//
// gemm contract:
//   requires  a, b, c device pointers of the current device, holding op(A) m x k, op(B)
//             k x n and C m x n row-major with leading dimensions lda, ldb, ldc (>= the
//             row lengths as stored); stream on the current device (nullptr: legacy default).
//   ensures   the product is enqueued on `stream` (asynchronous, like any kernel); with
//             beta == 0, C is not read (NaN there does not propagate). Float math is FP32
//             unless library_options().allow_tf32 (then CUBLAS_TF32_TENSOR_OP_MATH); double
//             is always FP64. A failing cuBLAS call throws CudaError naming the call, the
//             status and the shapes (and, emulated, the reason).
//
// gemm_mixed contract (16-bit storage, fp32 compute):
//   requires  as gemm; In is __nv_bfloat16 or __half (kernels/cuda/storage_types.h), Out is In
//             or float.
//   ensures   C = alpha op(A) op(B) + beta C through cublasGemmEx with Atype = Btype = In's
//             CUDA_R_16BF / CUDA_R_16F, Ctype Out's, CUBLAS_COMPUTE_32F and scale type float:
//             products accumulated in fp32 (tensor cores on a GPU), the result rounded once
//             to Out (nearest even), with CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION so
//             that split-K partial sums stay fp32 too. The inputs are used as stored (no TF32
//             question arises).
//             Emulated: every product and sum in float in the order l = 0..k-1, so a GPU agrees
//             within fp32 summation-order error (relative ~k * 2^-24 of sum |a||b|) before the
//             final rounding to Out (one 16-bit ulp: 2^-8 bf16, 2^-11 fp16, relative).
// One cuBLAS handle per device and host thread, created on first use and bound to the
// stream and math mode of each call.
#pragma once
#include <cstdint>

#include "kernels/cuda/check.h"
#include "kernels/cuda/cublas_api.h"
#include "kernels/cuda/storage_types.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {

// This thread's handle for the current device.
cublasHandle_t cublas_handle();

template <class T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda, const T* b,
          int64_t ldb, T beta, T* c, int64_t ldc, cudaStream_t stream);

template <class In, class Out>
void gemm_mixed(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const In* a, int64_t lda,
                const In* b, int64_t ldb, float beta, Out* c, int64_t ldc, cudaStream_t stream);

inline void check_cublas(cublasStatus_t s, const char* call, const char* file, int line) {
  if (s != CUBLAS_STATUS_SUCCESS)
    throw_error("cuBLAS", static_cast<int>(s), cublasGetStatusName(s), cublasGetStatusString(s), call, file, line);
}

}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda

#define PN_CUBLAS_CHECK(call) ::pn::cuda::check_cublas((call), #call, __FILE__, __LINE__)
