#include "kernels/cpu/gemm.h"

#include <cblas.h>

#include <vector>

#include "kernels/cpu/elementwise.h"

namespace pn::cpu {

namespace {

// Elements an op(X) of rows x cols with leading dimension ld spans (row-major).
int64_t span(bool trans, int64_t rows, int64_t cols, int64_t ld) {
  return trans ? (cols - 1) * ld + rows : (rows - 1) * ld + cols;
}

// Runs the float32 product into a float C (beta applied to C widened), then narrows C.
template <class T, class Product>
void through_float_c(int64_t m, int64_t n, float beta, T* c, int64_t ldc, Product product) {
  const int64_t len = (m - 1) * ldc + n;
  std::vector<float> cf(static_cast<size_t>(len), 0.0f);
  if (beta != 0.0f) cast<T, float>(c, cf.data(), len);
  product(cf.data());
  for (int64_t i = 0; i < m; ++i) cast<float, T>(cf.data() + i * ldc, c + i * ldc, n);  // C's rows only
}

}  // namespace

template <>
void gemm<float>(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                 int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
              (blasint)m, (blasint)n, (blasint)k, alpha, a, (blasint)lda, b, (blasint)ldb, beta, c,
              (blasint)ldc);
}

template <>
void gemm<double>(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const double* a,
                  int64_t lda, const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
              (blasint)m, (blasint)n, (blasint)k, alpha, a, (blasint)lda, b, (blasint)ldb, beta, c,
              (blasint)ldc);
}

// 16-bit operands widen to float32 (exact), multiply through sgemm, C is rounded once. (The
// distribution's OpenBLAS is built without sbgemm, its bf16 GEMM.)
template <class T>
void gemm_16(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda, const T* b,
             int64_t ldb, T beta, T* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  const int64_t la = k == 0 ? 0 : span(ta, m, k, lda), lb = k == 0 ? 0 : span(tb, k, n, ldb);
  std::vector<float> af(static_cast<size_t>(la)), bf(static_cast<size_t>(lb));
  cast<T, float>(a, af.data(), la);
  cast<T, float>(b, bf.data(), lb);
  through_float_c(m, n, float(beta), c, ldc, [&](float* cf) {
    gemm<float>(ta, tb, m, n, k, float(alpha), af.data(), lda, bf.data(), ldb, float(beta), cf, ldc);
  });
}

template <>
void gemm<math::bfloat16>(bool ta, bool tb, int64_t m, int64_t n, int64_t k, math::bfloat16 alpha,
                          const math::bfloat16* a, int64_t lda, const math::bfloat16* b, int64_t ldb,
                          math::bfloat16 beta, math::bfloat16* c, int64_t ldc) {
  gemm_16(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

template <>
void gemm<math::float16>(bool ta, bool tb, int64_t m, int64_t n, int64_t k, math::float16 alpha,
                         const math::float16* a, int64_t lda, const math::float16* b, int64_t ldb,
                         math::float16 beta, math::float16* c, int64_t ldc) {
  gemm_16(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

const char* blas_core_name() { return openblas_get_corename(); }

}  // namespace pn::cpu
