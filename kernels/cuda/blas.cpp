// cuBLAS gemm for row-major arrays. cuBLAS is column-major; a row-major M x N matrix is the
// column-major N x M transpose, so C = op(A) op(B) is computed as C^T = op(B)^T op(A)^T:
// the operands swap places and keep their transpose flags and leading dimensions.
#include "kernels/cuda/blas.h"

#include <map>
#include <memory>
#include <type_traits>

#include "kernels/cuda/library_options.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {

namespace {

struct HandleDeleter {
  void operator()(cublasContext* h) const { (void)cublasDestroy(h); }
};

}  // namespace

cublasHandle_t cublas_handle() {
  thread_local std::map<int, std::unique_ptr<cublasContext, HandleDeleter>> handles;
  int dev = 0;
  PN_CUDA_CHECK(cudaGetDevice(&dev));
  auto& h = handles[dev];
  if (!h) {
    cublasHandle_t raw = nullptr;
    PN_CUBLAS_CHECK(cublasCreate(&raw));
    h.reset(raw);
  }
  return h.get();
}

template <class T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda, const T* b,
          int64_t ldb, T beta, T* c, int64_t ldc, cudaStream_t stream) {
  if (m <= 0 || n <= 0) return;
  const int64_t shape[3] = {m, n, k};
  ErrorScope scope("gemm", shape, 3);
  cublasHandle_t h = cublas_handle();
  PN_CUBLAS_CHECK(cublasSetStream(h, stream));
  PN_CUBLAS_CHECK(
      cublasSetMathMode(h, library_options().allow_tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
  const cublasOperation_t op_a = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, op_b = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  if constexpr (sizeof(T) == 4) {
    PN_CUBLAS_CHECK(cublasSgemm_64(h, op_b, op_a, n, m, k, &alpha, b, ldb, a, lda, &beta, c, ldc));
  } else {
    PN_CUBLAS_CHECK(cublasDgemm_64(h, op_b, op_a, n, m, k, &alpha, b, ldb, a, lda, &beta, c, ldc));
  }
}

namespace {

template <class T>
constexpr cudaDataType data_type() {
  if constexpr (std::is_same_v<T, __nv_bfloat16>) {
    return CUDA_R_16BF;
  } else if constexpr (std::is_same_v<T, __half>) {
    return CUDA_R_16F;
  } else {
    static_assert(std::is_same_v<T, float>, "gemm_mixed: storage types are bfloat16, float16 and float");
    return CUDA_R_32F;
  }
}

}  // namespace

template <class In, class Out>
void gemm_mixed(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const In* a, int64_t lda,
                const In* b, int64_t ldb, float beta, Out* c, int64_t ldc, cudaStream_t stream) {
  static_assert(sizeof(In) == 2 && (std::is_same_v<Out, In> || std::is_same_v<Out, float>),
                "gemm_mixed: In is bfloat16 or float16, Out is In or float");
  if (m <= 0 || n <= 0) return;
  const int64_t shape[3] = {m, n, k};
  ErrorScope scope("gemm_mixed", shape, 3);
  cublasHandle_t h = cublas_handle();
  PN_CUBLAS_CHECK(cublasSetStream(h, stream));
  // 16-bit inputs use tensor cores under the default math; the flag keeps split-K partial sums
  // in fp32 (by default cuBLAS may reduce them in the 16-bit output type).
  PN_CUBLAS_CHECK(cublasSetMathMode(
      h, static_cast<cublasMath_t>(CUBLAS_DEFAULT_MATH | CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION)));
  const cublasOperation_t op_a = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, op_b = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  PN_CUBLAS_CHECK(cublasGemmEx_64(h, op_b, op_a, n, m, k, &alpha, b, data_type<In>(), ldb, a, data_type<In>(), lda,
                                  &beta, c, data_type<Out>(), ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

#define PN_GEMM_MIXED(In, Out)                                                                                     \
  template void gemm_mixed<In, Out>(bool, bool, int64_t, int64_t, int64_t, float, const In*, int64_t, const In*, \
                                    int64_t, float, Out*, int64_t, cudaStream_t);
PN_GEMM_MIXED(__nv_bfloat16, __nv_bfloat16)
PN_GEMM_MIXED(__nv_bfloat16, float)
PN_GEMM_MIXED(__half, __half)
PN_GEMM_MIXED(__half, float)
#undef PN_GEMM_MIXED

template void gemm<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*, int64_t,
                          float, float*, int64_t, cudaStream_t);
template void gemm<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*, int64_t, const double*,
                           int64_t, double, double*, int64_t, cudaStream_t);

}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda
