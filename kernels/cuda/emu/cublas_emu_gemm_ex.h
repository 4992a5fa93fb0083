// The emulated cublasGemmEx's type rules and mixed-precision math (cublas_emu.h states what
// they follow): which (Atype, Btype, Ctype, computeType) combinations cuBLAS documents, which of
// them the emulator computes, how inputs are rounded for a compute type and math mode, and the
// product itself with float accumulation. For cublas_emu.cpp only.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "kernels/cuda/emu/cublas_emu.h"

namespace pn::cuda::emu::cublas_ex {

// Bytes of one element of t; 0 for a type cublasGemmEx does not know.
size_t element_bytes(cudaDataType t);
// "CUDA_R_16BF", "CUBLAS_COMPUTE_32F", ... for messages ("cudaDataType 99" if unknown).
std::string type_name(cudaDataType t);
std::string compute_name(cublasComputeType_t c);

// "" when the combination is in cuBLAS's documented table; otherwise why not, naming it.
std::string combination_error(cudaDataType a, cudaDataType b, cudaDataType c, cublasComputeType_t compute);
// "" for CUBLAS_GEMM_DEFAULT[_TENSOR_OP], ALGO0..23, ALGO0..15_TENSOR_OP; otherwise why not.
std::string algo_error(cublasGemmAlgo_t algo);
// "" when the emulator computes this documented combination; otherwise why not.
std::string not_emulated(cudaDataType a, cudaDataType c, cublasComputeType_t compute);

// What each float A and B element is rounded to before the products.
enum class InputRounding { None, TF32, BFloat16, Half };
InputRounding input_rounding(cudaDataType a, cublasComputeType_t compute, cublasMath_t handle_math);

// C = alpha op(A) op(B) + beta C, column-major, A and B of type a_type (16BF, 16F or 32F), C of
// c_type (16BF, 16F or 32F): inputs to float (then `rounding`), products summed in float in
// the order l = 0..k-1, alpha acc + beta C in float (C not read when beta == 0), one rounding
// to c_type.
void gemm_mixed(cublasOperation_t ta, cublasOperation_t tb, int64_t m, int64_t n, int64_t k, float alpha,
                const void* A, int64_t lda, const void* B, int64_t ldb, cudaDataType a_type, float beta, void* C,
                int64_t ldc, cudaDataType c_type, InputRounding rounding);

}  // namespace pn::cuda::emu::cublas_ex
