// Matrix products on the GPU through cuBLAS, row-major like pn::cpu::gemm
// (kernels/cpu/gemm.h): C = alpha * op(A) op(B) + beta * C. Real CUDA build only (the
// emulator has no cuBLAS). One cuBLAS handle per device and host thread, created on first
// use and bound to the stream of each call; every cuBLAS call is checked, and a failure
// names the call, the status and the shapes.
#pragma once
#include <cstdint>

#include <cublas_v2.h>

#include "kernels/cuda/check.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {

// This thread's handle for the current device.
cublasHandle_t cublas_handle();

template <class T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda, const T* b,
          int64_t ldb, T beta, T* c, int64_t ldc, cudaStream_t stream);

inline void check_cublas(cublasStatus_t s, const char* call, const char* file, int line) {
  if (s != CUBLAS_STATUS_SUCCESS)
    throw_error("cuBLAS", static_cast<int>(s), cublasGetStatusName(s), cublasGetStatusString(s), call, file, line);
}

}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda

#define PN_CUBLAS_CHECK(call) ::pn::cuda::check_cublas((call), #call, __FILE__, __LINE__)
