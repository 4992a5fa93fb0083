// The emulated cuBLAS: exactly the part of the cuBLAS API that Penumbra calls
// (kernels/cuda/blas.cpp, through kernels/cuda/cublas_api.h), with cuBLAS's names, types and
// enum values (copied from the CUDA 13.0 <cublas_api.h>), running on the CPU emulator.
//
// Semantics follow NVIDIA's cuBLAS documentation (docs.nvidia.com/cuda/cublas, sections
// "cuBLAS Helper Function Reference" and "cublas<t>gemm()"):
//  - a handle belongs to the device current at cublasCreate and carries a stream (default:
//    the legacy default stream) and a math mode (default CUBLAS_DEFAULT_MATH);
//  - every call on a null, never created or destroyed handle returns
//    CUBLAS_STATUS_NOT_INITIALIZED ("the library was not initialized");
//  - cublas<t>gemm_64 checks its arguments as documented (CUBLAS_STATUS_INVALID_VALUE: m, n
//    or k < 0; transa/transb not N, T or C; lda < max(1, m) if transa == N else max(1, k);
//    ldb < max(1, k) if transb == N else max(1, n); ldc < max(1, m); alpha or beta NULL),
//    reads alpha and beta from host memory at the call (CUBLAS_POINTER_MODE_HOST), does not
//    read C when beta == 0 ("C does not have to be a valid input") nor A and B when alpha ==
//    0 or k == 0, and accumulates in the data type. Under CUBLAS_TF32_TENSOR_OP_MATH, float
//    A and B elements are rounded to TF32 (kernels/math/tf32.h) before the FP32 accumulate.
//  - The product runs as an op on the handle's stream (emu/device_work.h) that declares
//    A and B read and C written over exactly the elements the arguments span,
//    (cols - 1) * ld + rows each. Real cuBLAS would fault asynchronously on a host pointer or
//    a too short buffer; the emulator refuses the call with CUBLAS_STATUS_EXECUTION_FAILED
//    ("the function failed to launch on the GPU") and pn::cuda::emu::last_error_detail()
//    names the operand (A, B or C) and what is wrong with it.
#pragma once
#if !defined(PN_CUDA_EMU) || defined(__CUDACC__)
#error "cublas_emu.h is for PN_CUDA_EMU builds (include kernels/cuda/cublas_api.h)"
#endif

#include <cstdint>

#include "kernels/cuda/emu/cuda_emu.h"

// The API level emulated (CUDA 13.0's cuBLAS).
#define CUBLAS_VER_MAJOR 13
#define CUBLAS_VER_MINOR 1
#define CUBLAS_VER_PATCH 0
#define CUBLAS_VERSION (CUBLAS_VER_MAJOR * 10000 + CUBLAS_VER_MINOR * 100 + CUBLAS_VER_PATCH)

enum cublasStatus_t : int {
  CUBLAS_STATUS_SUCCESS = 0,
  CUBLAS_STATUS_NOT_INITIALIZED = 1,
  CUBLAS_STATUS_ALLOC_FAILED = 3,
  CUBLAS_STATUS_INVALID_VALUE = 7,
  CUBLAS_STATUS_ARCH_MISMATCH = 8,
  CUBLAS_STATUS_MAPPING_ERROR = 11,
  CUBLAS_STATUS_EXECUTION_FAILED = 13,
  CUBLAS_STATUS_INTERNAL_ERROR = 14,
  CUBLAS_STATUS_NOT_SUPPORTED = 15,
  CUBLAS_STATUS_LICENSE_ERROR = 16,
};

enum cublasOperation_t : int {
  CUBLAS_OP_N = 0,
  CUBLAS_OP_T = 1,
  CUBLAS_OP_C = 2,
  CUBLAS_OP_HERMITAN = 2,
  CUBLAS_OP_CONJG = 3,
};

enum cublasMath_t : int {
  CUBLAS_DEFAULT_MATH = 0,
  CUBLAS_TENSOR_OP_MATH = 1,
  CUBLAS_PEDANTIC_MATH = 2,
  CUBLAS_TF32_TENSOR_OP_MATH = 3,
  CUBLAS_FP32_EMULATED_BF16X9_MATH = 4,
  CUBLAS_FP64_EMULATED_FIXEDPOINT_MATH = 8,
  CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION = 16,
};

// CUDA's data types (library_types.h), the ones cublasGemmEx is documented with.
typedef enum cudaDataType_t : int {
  CUDA_R_16F = 2,
  CUDA_C_16F = 6,
  CUDA_R_16BF = 14,
  CUDA_C_16BF = 15,
  CUDA_R_32F = 0,
  CUDA_C_32F = 4,
  CUDA_R_64F = 1,
  CUDA_C_64F = 5,
  CUDA_R_8I = 3,
  CUDA_C_8I = 7,
  CUDA_R_32I = 10,
  CUDA_C_32I = 11,
} cudaDataType;

typedef enum : int {
  CUBLAS_COMPUTE_16F = 64,
  CUBLAS_COMPUTE_16F_PEDANTIC = 65,
  CUBLAS_COMPUTE_32F = 68,
  CUBLAS_COMPUTE_32F_PEDANTIC = 69,
  CUBLAS_COMPUTE_32F_FAST_16F = 74,
  CUBLAS_COMPUTE_32F_FAST_16BF = 75,
  CUBLAS_COMPUTE_32F_FAST_TF32 = 77,
  CUBLAS_COMPUTE_32F_EMULATED_16BFX9 = 78,
  CUBLAS_COMPUTE_64F = 70,
  CUBLAS_COMPUTE_64F_PEDANTIC = 71,
  CUBLAS_COMPUTE_64F_EMULATED_FIXEDPOINT = 79,
  CUBLAS_COMPUTE_32I = 72,
  CUBLAS_COMPUTE_32I_PEDANTIC = 73,
} cublasComputeType_t;

// The algorithm choices; since CUDA 11 the numbered ones are hints the library may ignore.
typedef enum : int {
  CUBLAS_GEMM_DEFAULT = -1,
  CUBLAS_GEMM_ALGO0 = 0,
  CUBLAS_GEMM_ALGO23 = 23,
  CUBLAS_GEMM_DEFAULT_TENSOR_OP = 99,
  CUBLAS_GEMM_ALGO0_TENSOR_OP = 100,
  CUBLAS_GEMM_ALGO15_TENSOR_OP = 115,
  CUBLAS_GEMM_AUTOTUNE = 999,
} cublasGemmAlgo_t;

struct cublasContext;
using cublasHandle_t = cublasContext*;

// The real header maps these names to their _v2 entry points; so does the emulation.
#define cublasCreate cublasCreate_v2
#define cublasDestroy cublasDestroy_v2
#define cublasGetVersion cublasGetVersion_v2
#define cublasSetStream cublasSetStream_v2
#define cublasGetStream cublasGetStream_v2
#define cublasSgemm_64 cublasSgemm_v2_64
#define cublasDgemm_64 cublasDgemm_v2_64

// CUBLAS_STATUS_INVALID_VALUE for handle == NULL.
cublasStatus_t cublasCreate_v2(cublasHandle_t* handle);
cublasStatus_t cublasDestroy_v2(cublasHandle_t handle);
cublasStatus_t cublasGetVersion_v2(cublasHandle_t handle, int* version);
// An unknown or destroyed stream: CUBLAS_STATUS_INVALID_VALUE (the emulator's check).
cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t stream);
cublasStatus_t cublasGetStream_v2(cublasHandle_t handle, cudaStream_t* stream);
// CUBLAS_STATUS_INVALID_VALUE for a mode that is not one of cublasMath_t's (optionally
// or-ed with CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION).
cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode);
cublasStatus_t cublasGetMathMode(cublasHandle_t handle, cublasMath_t* mode);
const char* cublasGetStatusName(cublasStatus_t status);
const char* cublasGetStatusString(cublasStatus_t status);

cublasStatus_t cublasSgemm_v2_64(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int64_t m,
                                 int64_t n, int64_t k, const float* alpha, const float* A, int64_t lda, const float* B,
                                 int64_t ldb, const float* beta, float* C, int64_t ldc);
// cublasGemmEx_64: C = alpha op(A) op(B) + beta C with A, B, C of the given cudaDataTypes.
// The documented type table (cuBLAS "cublasGemmEx()"), with alpha and beta of the scale type:
//   computeType                     scale  Atype = Btype          Ctype
//   CUBLAS_COMPUTE_16F[_PEDANTIC]   16F    16F                    16F
//   CUBLAS_COMPUTE_32I[_PEDANTIC]   32I    8I                     32I
//   CUBLAS_COMPUTE_32F[_PEDANTIC]   32F    16BF / 16F             the same, or 32F
//                                          8I / 32F               32F
//                                   C_32F  C_8I / C_32F           C_32F
//   CUBLAS_COMPUTE_32F_FAST_16F,    32F    32F                    32F
//   _FAST_16BF, _FAST_TF32          C_32F  C_32F                  C_32F
//   CUBLAS_COMPUTE_64F[_PEDANTIC]   64F    64F                    64F
//                                   C_64F  C_64F                  C_64F
// Anything else, Atype != Btype, or an algo that is not CUBLAS_GEMM_DEFAULT[_TENSOR_OP],
// CUBLAS_GEMM_ALGO0..23 or CUBLAS_GEMM_ALGO0..15_TENSOR_OP: CUBLAS_STATUS_NOT_SUPPORTED ("the
// combination of the parameters Atype, Btype and Ctype or the algorithm, algo is not
// supported"). The argument checks of cublas<t>gemm give CUBLAS_STATUS_INVALID_VALUE first.
// Emulated (the rest of the table is legal but refused with CUBLAS_STATUS_NOT_SUPPORTED and a
// last_error_detail saying it is not emulated): real types 16BF, 16F, 32F with
// CUBLAS_COMPUTE_32F[_PEDANTIC] or the three FAST types, and 64F with CUBLAS_COMPUTE_64F
// [_PEDANTIC]. The math: every A and B element converted to float (exact for 16BF / 16F;
// rounded to TF32 under _FAST_TF32, or under CUBLAS_COMPUTE_32F with the handle's math mode
// CUBLAS_TF32_TENSOR_OP_MATH; to bfloat16 under _FAST_16BF; to half under _FAST_16F), the
// products summed in float in the order l = 0..k-1, alpha acc + beta C in float, and the
// result rounded once to Ctype (nearest even): always as if the math mode carried
// CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION (without it a GPU may reduce split-K
// partial sums in a 16-bit Ctype). C is not read when beta == 0.
cublasStatus_t cublasGemmEx_64(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int64_t m,
                               int64_t n, int64_t k, const void* alpha, const void* A, cudaDataType Atype, int64_t lda,
                               const void* B, cudaDataType Btype, int64_t ldb, const void* beta, void* C,
                               cudaDataType Ctype, int64_t ldc, cublasComputeType_t computeType,
                               cublasGemmAlgo_t algo);

cublasStatus_t cublasDgemm_v2_64(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int64_t m,
                                 int64_t n, int64_t k, const double* alpha, const double* A, int64_t lda,
                                 const double* B, int64_t ldb, const double* beta, double* C, int64_t ldc);
