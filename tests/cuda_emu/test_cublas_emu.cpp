// The emulated cuBLAS (kernels/cuda/emu/cublas_emu.h) and the gemm wrapper over it
// (kernels/cuda/blas.h): parity with the CPU reference (OpenBLAS) for all four transpose
// combinations, float and double, alpha/beta, beta = 0 over a NaN-filled C, leading
// dimensions larger than the rows; the documented argument checks; operands outside device
// memory; and TF32 under CUBLAS_TF32_TENSOR_OP_MATH (the wrapper's allow_tf32).
// Tolerances: the emulator sums in another order than OpenBLAS: rtol 1e-5 (float) / 1e-12
// (double), atol that times k.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "emu_util.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cuda/blas.h"
#include "kernels/cuda/library_options.h"
#include "kernels/math/tf32.h"

using pn::test::DeviceArray;

namespace {

std::string detail() { return pn::cuda::emu::last_error_detail(); }
bool mentions(const std::string& s, const std::string& what) { return s.find(what) != std::string::npos; }

template <class T>
void check_wrapper_gemm() {
  const int64_t m = 13, n = 17, k = 29;
  const double tol = sizeof(T) == 4 ? 1e-5 : 1e-12;
  int seed = 1;
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (T beta : {T(0), T(-1.5)}) {
        // Row-major; every leading dimension 3 longer than the rows as stored.
        const int64_t lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 3, ldc = n + 3;
        const auto a = pn::test::random_vector<T>((ta ? k : m) * lda, seed++);
        const auto b = pn::test::random_vector<T>((tb ? n : k) * ldb, seed++);
        auto c = beta == T(0) ? std::vector<T>(static_cast<size_t>(m * ldc), std::numeric_limits<T>::quiet_NaN())
                              : pn::test::random_vector<T>(m * ldc, seed++);
        DeviceArray<T> d_a(a), d_b(b), d_c(c);
        pn::cpu::gemm(ta, tb, m, n, k, T(0.75), a.data(), lda, b.data(), ldb, beta, c.data(), ldc);
        pn::cuda::gemm(ta, tb, m, n, k, T(0.75), d_a.get(), lda, d_b.get(), ldb, beta, d_c.get(), ldc, nullptr);
        auto got = d_c.to_host();
        // The 3 padding columns of each row of C are not part of the product: NaN stays NaN
        // there when beta == 0, and the CPU reference leaves them alone too.
        pn::test::check_close(
            got, c, tol, tol * k,
            std::string("gemm ") + (ta ? "T" : "N") + (tb ? "T" : "N") + " beta " + std::to_string(beta));
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < n; ++j) CHECK_FALSE(std::isnan(got[i * ldc + j]));
      }
}

// C (column-major m x n) = A (m x k) B (k x n), accumulated in float in the order l = 0..k-1,
// with the inputs rounded to TF32 or not: what the emulator is specified to compute.
std::vector<float> column_major_product(const std::vector<float>& a, const std::vector<float>& b, int m, int n, int k,
                                        bool tf32) {
  std::vector<float> c(static_cast<size_t>(m * n));
  auto r = [&](float v) { return tf32 ? pn::math::round_to_tf32(v) : v; };
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < m; ++i) {
      float acc = 0;
      for (int l = 0; l < k; ++l) acc += r(a[i + l * m]) * r(b[l + j * k]);
      c[i + j * m] = acc;
    }
  return c;
}

}  // namespace

TEST_CASE("gemm through the wrapper matches the CPU reference (emulated cuBLAS)") {
  check_wrapper_gemm<float>();
  check_wrapper_gemm<double>();
}

TEST_CASE("cublas<t>gemm_64 argument checks return CUBLAS_STATUS_INVALID_VALUE with a reason") {
  cublasHandle_t h = nullptr;
  REQUIRE(cublasCreate(&h) == CUBLAS_STATUS_SUCCESS);
  DeviceArray<float> a(6 * 4), b(4 * 5), c(6 * 5);
  const float one = 1, zero = 0;
  auto sgemm = [&](cublasOperation_t ta, cublasOperation_t tb, int64_t m, int64_t n, int64_t k, int64_t lda,
                   int64_t ldb, int64_t ldc, const float* alpha = nullptr) {
    return cublasSgemm_64(h, ta, tb, m, n, k, alpha ? alpha : &one, a.get(), lda, b.get(), ldb, &zero, c.get(), ldc);
  };
  CHECK(sgemm(CUBLAS_OP_N, CUBLAS_OP_N, 6, 5, 4, 6, 4, 6) == CUBLAS_STATUS_SUCCESS);
  CHECK(sgemm(CUBLAS_OP_N, CUBLAS_OP_N, -1, 5, 4, 6, 4, 6) == CUBLAS_STATUS_INVALID_VALUE);
  CHECK(mentions(detail(), "m, n, k must be >= 0"));
  CHECK(sgemm(CUBLAS_OP_N, CUBLAS_OP_N, 6, 5, 4, 5, 4, 6) == CUBLAS_STATUS_INVALID_VALUE);  // lda < m
  CHECK(mentions(detail(), "lda = 5 < 6"));
  CHECK(sgemm(CUBLAS_OP_T, CUBLAS_OP_N, 6, 5, 4, 3, 4, 6) == CUBLAS_STATUS_INVALID_VALUE);  // lda < k (A is k x m)
  CHECK(sgemm(CUBLAS_OP_N, CUBLAS_OP_T, 6, 5, 4, 6, 4, 6) == CUBLAS_STATUS_INVALID_VALUE);  // ldb < n (B is n x k)
  CHECK(sgemm(CUBLAS_OP_N, CUBLAS_OP_N, 6, 5, 4, 6, 4, 5) == CUBLAS_STATUS_INVALID_VALUE);  // ldc < m
  CHECK(sgemm(CUBLAS_OP_CONJG, CUBLAS_OP_N, 6, 5, 4, 6, 4, 6) == CUBLAS_STATUS_INVALID_VALUE);
  CHECK(cublasSgemm_64(h, CUBLAS_OP_N, CUBLAS_OP_N, 6, 5, 4, nullptr, a.get(), 6, b.get(), 4, &zero, c.get(), 6) ==
        CUBLAS_STATUS_INVALID_VALUE);
  CHECK(cublasSetMathMode(h, cublasMath_t(5)) == CUBLAS_STATUS_INVALID_VALUE);
  REQUIRE(cublasDestroy(h) == CUBLAS_STATUS_SUCCESS);
  // A destroyed (or NULL) handle: "the library was not initialized".
  CHECK(sgemm(CUBLAS_OP_N, CUBLAS_OP_N, 6, 5, 4, 6, 4, 6) == CUBLAS_STATUS_NOT_INITIALIZED);
  CHECK(mentions(detail(), "destroyed"));
  CHECK(cublasSetStream(nullptr, nullptr) == CUBLAS_STATUS_NOT_INITIALIZED);
  CHECK(cublasDestroy(h) == CUBLAS_STATUS_NOT_INITIALIZED);
  CHECK(std::string(cublasGetStatusName(CUBLAS_STATUS_INVALID_VALUE)) == "CUBLAS_STATUS_INVALID_VALUE");
}

TEST_CASE("cuBLAS operands outside device memory are refused, naming the operand") {
  cublasHandle_t h = nullptr;
  REQUIRE(cublasCreate(&h) == CUBLAS_STATUS_SUCCESS);
  int version = 0;
  CHECK(cublasGetVersion(h, &version) == CUBLAS_STATUS_SUCCESS);
  CHECK(version == CUBLAS_VERSION);
  DeviceArray<double> a(7 * 3), b(3 * 5), c(7 * 5), short_c(7 * 5 - 1);
  std::vector<double> host_b(3 * 5);
  const double one = 1, zero = 0;
  // C spans (n - 1) * ldc + m = 35 elements; an allocation of 34 is one short.
  CHECK(cublasDgemm_64(h, CUBLAS_OP_N, CUBLAS_OP_N, 7, 5, 3, &one, a.get(), 7, b.get(), 3, &zero, short_c.get(), 7) ==
        CUBLAS_STATUS_EXECUTION_FAILED);
  CHECK(mentions(detail(), "C: "));
  CHECK(mentions(detail(), "+280 bytes) runs 8 byte(s) past the end of its 272-byte allocation"));  // 35 doubles in 34
  CHECK(cublasDgemm_64(h, CUBLAS_OP_N, CUBLAS_OP_N, 7, 5, 3, &one, a.get(), 7, host_b.data(), 3, &zero, c.get(), 7) ==
        CUBLAS_STATUS_EXECUTION_FAILED);
  CHECK(mentions(detail(), "B: "));
  CHECK(mentions(detail(), "is not device memory"));
  CHECK(cudaGetLastError() == cudaSuccess);  // a cuBLAS status, not a stray CUDA error
  // alpha == 0 or k == 0: A and B are not read (so not checked); beta == 0: C is not read.
  CHECK(cublasDgemm_64(h, CUBLAS_OP_N, CUBLAS_OP_N, 7, 5, 0, &one, nullptr, 7, nullptr, 3, &zero, c.get(), 7) ==
        CUBLAS_STATUS_SUCCESS);
  for (double v : c.to_host()) CHECK(v == 0.0);
  // Through the wrapper the failure is a CudaError carrying the status and the reason.
  try {
    pn::cuda::gemm(false, false, 5, 7, 3, 1.0, b.get(), 3, host_b.data(), 7, 0.0, c.get(), 7, nullptr);
    FAIL("a host operand must be refused");
  } catch (const pn::cuda::CudaError& e) {
    CHECK(mentions(e.what(), "CUBLAS_STATUS_EXECUTION_FAILED"));
    CHECK(mentions(e.what(), "is not device memory"));
    CHECK(mentions(e.what(), "gemm[5, 7, 3]"));
  }
  REQUIRE(cublasDestroy(h) == CUBLAS_STATUS_SUCCESS);
}

TEST_CASE("TF32: allow_tf32 rounds gemm inputs to TF32; off by default, FP32 bit for bit") {
  const int m = 9, n = 11, k = 64;
  const auto a = pn::test::random_vector<float>(m * k, 21), b = pn::test::random_vector<float>(k * n, 22);
  DeviceArray<float> d_a(a), d_b(b), d_c(m * n);
  // Column-major C = A B is row-major C^T = B^T A^T: the wrapper's (n x m) product of the
  // transposed operands, with B as its first operand.
  auto run = [&] {
    pn::cuda::gemm(false, false, n, m, k, 1.0f, d_b.get(), k, d_a.get(), m, 0.0f, d_c.get(), m, nullptr);
    return d_c.to_host();
  };
  CHECK_FALSE(pn::cuda::library_options().allow_tf32);
  const auto fp32 = run();
  CHECK(fp32 == column_major_product(a, b, m, n, k, false));
  std::vector<float> tf32;
  {
    pn::cuda::ScopedLibraryOptions opts({false, true});
    tf32 = run();
    cublasMath_t mode;
    REQUIRE(cublasGetMathMode(pn::cuda::cublas_handle(), &mode) == CUBLAS_STATUS_SUCCESS);
    CHECK(mode == CUBLAS_TF32_TENSOR_OP_MATH);
  }
  CHECK(tf32 == column_major_product(a, b, m, n, k, true));
  double worst = 0;
  for (size_t i = 0; i < fp32.size(); ++i)
    worst = std::max(worst, std::abs(double(tf32[i]) - fp32[i]) / (1 + std::abs(fp32[i])));
  CHECK(worst > 1e-4);  // TF32 keeps 10 mantissa bits: errors of ~2^-11 per product
  CHECK(worst < 1e-2);
  CHECK(run() == fp32);  // the option is read at every call
  // The conversion: round to nearest, ties to even, at 10 mantissa bits.
  CHECK(pn::math::round_to_tf32(1.0f + 0x1p-11f) == 1.0f);                       // a tie: to even
  CHECK(pn::math::round_to_tf32(1.0f + 0x1.8p-11f) == 1.0f + 0x1p-10f);          // above half: up
  CHECK(pn::math::round_to_tf32(1.0f + 0x1p-10f + 0x1p-11f) == 1.0f + 0x1p-9f);  // a tie from odd: up
}
