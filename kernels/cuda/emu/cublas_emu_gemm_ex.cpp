// The emulated cublasGemmEx's type rules and mixed-precision math (cublas_emu_gemm_ex.h).
#include "kernels/cuda/emu/cublas_emu_gemm_ex.h"

#include <algorithm>
#include <vector>

#include "kernels/cuda/emu/half_types.h"
#include "kernels/math/tf32.h"

namespace pn::cuda::emu::cublas_ex {

size_t element_bytes(cudaDataType t) {
  switch (t) {
    case CUDA_R_8I:
      return 1;
    case CUDA_R_16F:
    case CUDA_R_16BF:
    case CUDA_C_8I:
      return 2;
    case CUDA_R_32F:
    case CUDA_R_32I:
    case CUDA_C_16F:
    case CUDA_C_16BF:
      return 4;
    case CUDA_R_64F:
    case CUDA_C_32F:
    case CUDA_C_32I:
      return 8;
    case CUDA_C_64F:
      return 16;
  }
  return 0;
}

std::string type_name(cudaDataType t) {
  switch (t) {
    case CUDA_R_16F: return "CUDA_R_16F";
    case CUDA_C_16F: return "CUDA_C_16F";
    case CUDA_R_16BF: return "CUDA_R_16BF";
    case CUDA_C_16BF: return "CUDA_C_16BF";
    case CUDA_R_32F: return "CUDA_R_32F";
    case CUDA_C_32F: return "CUDA_C_32F";
    case CUDA_R_64F: return "CUDA_R_64F";
    case CUDA_C_64F: return "CUDA_C_64F";
    case CUDA_R_8I: return "CUDA_R_8I";
    case CUDA_C_8I: return "CUDA_C_8I";
    case CUDA_R_32I: return "CUDA_R_32I";
    case CUDA_C_32I: return "CUDA_C_32I";
  }
  return "cudaDataType " + std::to_string(static_cast<int>(t));
}

std::string compute_name(cublasComputeType_t c) {
  switch (c) {
    case CUBLAS_COMPUTE_16F: return "CUBLAS_COMPUTE_16F";
    case CUBLAS_COMPUTE_16F_PEDANTIC: return "CUBLAS_COMPUTE_16F_PEDANTIC";
    case CUBLAS_COMPUTE_32F: return "CUBLAS_COMPUTE_32F";
    case CUBLAS_COMPUTE_32F_PEDANTIC: return "CUBLAS_COMPUTE_32F_PEDANTIC";
    case CUBLAS_COMPUTE_32F_FAST_16F: return "CUBLAS_COMPUTE_32F_FAST_16F";
    case CUBLAS_COMPUTE_32F_FAST_16BF: return "CUBLAS_COMPUTE_32F_FAST_16BF";
    case CUBLAS_COMPUTE_32F_FAST_TF32: return "CUBLAS_COMPUTE_32F_FAST_TF32";
    case CUBLAS_COMPUTE_32F_EMULATED_16BFX9: return "CUBLAS_COMPUTE_32F_EMULATED_16BFX9";
    case CUBLAS_COMPUTE_64F: return "CUBLAS_COMPUTE_64F";
    case CUBLAS_COMPUTE_64F_PEDANTIC: return "CUBLAS_COMPUTE_64F_PEDANTIC";
    case CUBLAS_COMPUTE_64F_EMULATED_FIXEDPOINT: return "CUBLAS_COMPUTE_64F_EMULATED_FIXEDPOINT";
    case CUBLAS_COMPUTE_32I: return "CUBLAS_COMPUTE_32I";
    case CUBLAS_COMPUTE_32I_PEDANTIC: return "CUBLAS_COMPUTE_32I_PEDANTIC";
  }
  return "cublasComputeType_t " + std::to_string(static_cast<int>(c));
}

namespace {

bool fast_32f(cublasComputeType_t c) {
  return c == CUBLAS_COMPUTE_32F_FAST_16F || c == CUBLAS_COMPUTE_32F_FAST_16BF || c == CUBLAS_COMPUTE_32F_FAST_TF32;
}

// The documented table (cublas_emu.h), A == B already checked.
bool documented(cudaDataType a, cudaDataType c, cublasComputeType_t compute) {
  switch (compute) {
    case CUBLAS_COMPUTE_16F:
    case CUBLAS_COMPUTE_16F_PEDANTIC:
      return a == CUDA_R_16F && c == CUDA_R_16F;
    case CUBLAS_COMPUTE_32I:
    case CUBLAS_COMPUTE_32I_PEDANTIC:
      return a == CUDA_R_8I && c == CUDA_R_32I;
    case CUBLAS_COMPUTE_32F:
    case CUBLAS_COMPUTE_32F_PEDANTIC:
      if (a == CUDA_R_16BF || a == CUDA_R_16F) return c == a || c == CUDA_R_32F;
      if (a == CUDA_R_8I || a == CUDA_R_32F) return c == CUDA_R_32F;
      return (a == CUDA_C_8I || a == CUDA_C_32F) && c == CUDA_C_32F;
    case CUBLAS_COMPUTE_32F_FAST_16F:
    case CUBLAS_COMPUTE_32F_FAST_16BF:
    case CUBLAS_COMPUTE_32F_FAST_TF32:
      return (a == CUDA_R_32F && c == CUDA_R_32F) || (a == CUDA_C_32F && c == CUDA_C_32F);
    case CUBLAS_COMPUTE_64F:
    case CUBLAS_COMPUTE_64F_PEDANTIC:
      return (a == CUDA_R_64F && c == CUDA_R_64F) || (a == CUDA_C_64F && c == CUDA_C_64F);
    default:
      return false;
  }
}

}  // namespace

std::string combination_error(cudaDataType a, cudaDataType b, cudaDataType c, cublasComputeType_t compute) {
  const std::string combo = "Atype " + type_name(a) + ", Btype " + type_name(b) + ", Ctype " + type_name(c) +
                            ", computeType " + compute_name(compute);
  if (a != b) return combo + ": Atype and Btype must be the same";
  if (!documented(a, c, compute))
    return combo + " is not a combination cuBLAS supports (see the cublasGemmEx type table; for 16-bit A and B "
                   "with float accumulation use CUBLAS_COMPUTE_32F with Ctype the same 16-bit type or CUDA_R_32F)";
  return "";
}

std::string algo_error(cublasGemmAlgo_t algo) {
  const int v = static_cast<int>(algo);
  if (v == CUBLAS_GEMM_DEFAULT || v == CUBLAS_GEMM_DEFAULT_TENSOR_OP || (v >= 0 && v <= 23) || (v >= 100 && v <= 115))
    return "";
  return "algo " + std::to_string(v) +
         " is not supported (CUBLAS_GEMM_DEFAULT, CUBLAS_GEMM_DEFAULT_TENSOR_OP, CUBLAS_GEMM_ALGO0..23 or "
         "CUBLAS_GEMM_ALGO0_TENSOR_OP..15)";
}

std::string not_emulated(cudaDataType a, cudaDataType c, cublasComputeType_t compute) {
  const bool real16 = a == CUDA_R_16BF || a == CUDA_R_16F;
  const bool ok32 = (compute == CUBLAS_COMPUTE_32F || compute == CUBLAS_COMPUTE_32F_PEDANTIC) &&
                    ((real16 && (c == a || c == CUDA_R_32F)) || (a == CUDA_R_32F && c == CUDA_R_32F));
  const bool ok_fast = fast_32f(compute) && a == CUDA_R_32F && c == CUDA_R_32F;
  const bool ok64 = (compute == CUBLAS_COMPUTE_64F || compute == CUBLAS_COMPUTE_64F_PEDANTIC) && a == CUDA_R_64F;
  if (ok32 || ok_fast || ok64) return "";
  return "Atype " + type_name(a) + ", Ctype " + type_name(c) + ", computeType " + compute_name(compute) +
         " is legal in cuBLAS but not emulated (emulated: real 16BF / 16F / 32F with 32F compute, 64F with 64F)";
}

InputRounding input_rounding(cudaDataType a, cublasComputeType_t compute, cublasMath_t handle_math) {
  if (a != CUDA_R_32F) return InputRounding::None;  // 16-bit inputs are used as given
  if (compute == CUBLAS_COMPUTE_32F_FAST_TF32) return InputRounding::TF32;
  if (compute == CUBLAS_COMPUTE_32F_FAST_16BF) return InputRounding::BFloat16;
  if (compute == CUBLAS_COMPUTE_32F_FAST_16F) return InputRounding::Half;
  const int base = handle_math & ~CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION;
  if (compute == CUBLAS_COMPUTE_32F && base == CUBLAS_TF32_TENSOR_OP_MATH) return InputRounding::TF32;
  return InputRounding::None;
}

namespace {

float load(const void* p, int64_t i, cudaDataType t, InputRounding r) {
  float x;
  if (t == CUDA_R_16BF) {
    x = static_cast<const __nv_bfloat16*>(p)[i];
  } else if (t == CUDA_R_16F) {
    x = static_cast<const __half*>(p)[i];
  } else {
    x = static_cast<const float*>(p)[i];
  }
  switch (r) {
    case InputRounding::TF32:
      return pn::math::round_to_tf32(x);
    case InputRounding::BFloat16:
      return __bfloat162float(__float2bfloat16_rn(x));
    case InputRounding::Half:
      return __half2float(__float2half_rn(x));
    case InputRounding::None:
      break;
  }
  return x;
}

void store(void* p, int64_t i, cudaDataType t, float v) {
  if (t == CUDA_R_16BF) {
    static_cast<__nv_bfloat16*>(p)[i] = __float2bfloat16_rn(v);
  } else if (t == CUDA_R_16F) {
    static_cast<__half*>(p)[i] = __float2half_rn(v);
  } else {
    static_cast<float*>(p)[i] = v;
  }
}

}  // namespace

// Laid out like cublas_emu.cpp's gemm_math: op(A) packed once as float, each column of C
// accumulated over l in order with the innermost loop down a contiguous column.
void gemm_mixed(cublasOperation_t ta, cublasOperation_t tb, int64_t m, int64_t n, int64_t k, float alpha,
                const void* A, int64_t lda, const void* B, int64_t ldb, cudaDataType a_type, float beta, void* C,
                int64_t ldc, cudaDataType c_type, InputRounding rounding) {
  const bool products = k > 0 && alpha != 0.0f;
  std::vector<float> a(products ? static_cast<size_t>(m * k) : 0), acc(static_cast<size_t>(m));
  if (products)
    for (int64_t l = 0; l < k; ++l)
      for (int64_t i = 0; i < m; ++i)
        a[i + l * m] = load(A, ta == CUBLAS_OP_N ? i + l * lda : l + i * lda, a_type, rounding);
  for (int64_t j = 0; j < n; ++j) {
    std::fill(acc.begin(), acc.end(), 0.0f);
    if (products)
      for (int64_t l = 0; l < k; ++l) {
        const float b = load(B, tb == CUBLAS_OP_N ? l + j * ldb : j + l * ldb, a_type, rounding);
        const float* al = a.data() + l * m;
        for (int64_t i = 0; i < m; ++i) acc[i] += al[i] * b;
      }
    for (int64_t i = 0; i < m; ++i) {
      const int64_t at = i + j * ldc;
      const float old = beta == 0.0f ? 0.0f : load(C, at, c_type, InputRounding::None);
      store(C, at, c_type, beta == 0.0f ? alpha * acc[i] : alpha * acc[i] + beta * old);
    }
  }
}

}  // namespace pn::cuda::emu::cublas_ex
