#include "kernels/cpu/gemm.h"

#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
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

std::atomic<int>& chosen_order() {
  static std::atomic<int> o{static_cast<int>(parse_gemm_order(std::getenv("PENUMBRA_CPU_GEMM")))};
  return o;
}

// GemmOrder::sequential: C[i, j] = alpha * (((a_i0 b_0j + a_i1 b_1j) + a_i2 b_2j) + ...) + beta * C[i, j],
// accumulated in T. Rows of C are built k by k (vectorisable along j), which keeps each element's
// order.
template <class T>
void sequential_gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda,
                     const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  std::vector<T> acc(static_cast<size_t>(n));
  for (int64_t i = 0; i < m; ++i) {
    std::fill(acc.begin(), acc.end(), T(0));
    for (int64_t p = 0; p < k; ++p) {
      const T aip = ta ? a[p * lda + i] : a[i * lda + p];
      if (tb)
        for (int64_t j = 0; j < n; ++j) acc[j] += aip * b[j * ldb + p];
      else
        for (int64_t j = 0; j < n; ++j) acc[j] += aip * b[p * ldb + j];
    }
    T* ci = c + i * ldc;
    for (int64_t j = 0; j < n; ++j) ci[j] = beta == T(0) ? alpha * acc[j] : alpha * acc[j] + beta * ci[j];
  }
}

}  // namespace

GemmOrder parse_gemm_order(const char* v) {
  if (!v || !*v || !std::strcmp(v, "blas")) return GemmOrder::blas;
  if (!std::strcmp(v, "sequential")) return GemmOrder::sequential;
  throw std::invalid_argument(std::string("PENUMBRA_CPU_GEMM=") + v + ": expected 'blas' or 'sequential'");
}

GemmOrder gemm_order() { return static_cast<GemmOrder>(chosen_order().load()); }

void set_gemm_order(GemmOrder order) { chosen_order().store(static_cast<int>(order)); }

template <>
void gemm<float>(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                 int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  if (gemm_order() == GemmOrder::sequential) return sequential_gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
              (blasint)m, (blasint)n, (blasint)k, alpha, a, (blasint)lda, b, (blasint)ldb, beta, c,
              (blasint)ldc);
}

template <>
void gemm<double>(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const double* a,
                  int64_t lda, const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  if (gemm_order() == GemmOrder::sequential) return sequential_gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
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
