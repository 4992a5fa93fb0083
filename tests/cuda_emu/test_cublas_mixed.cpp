// The emulated cublasGemmEx (kernels/cuda/emu/cublas_emu.h) and the gemm_mixed wrapper over it
// (kernels/cuda/blas.h): bf16 / fp16 storage with fp32 compute, TF32 / bf16 / fp16 input
// rounding of the FAST compute types, and the documented type rules.
// Tolerance of the parity checks, per element, against a float64 product of the same 16-bit
// inputs: |got - want| <= k * 2^-24 * S + u_out * |want|, S = |alpha| sum_l |a_il b_lj| +
// |beta c_ij|: fp32 accumulation in any order (the emulator's or a GPU's) is within k ulps of
// the sums of magnitudes (the standard dot-product error bound), then one rounding to the
// output type (u_out = 2^-24 float, 2^-8 bfloat16, 2^-11 float16: half an ulp, relative).
// Also built into tests/gpu (test_gpu_kernels) against real cuBLAS: there the summation term is
// widened 8x (tensor-core accumulation may truncate, split-K adds partial sums), and the test
// cases about the emulator's own rules and roundings are left out.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "emu_util.h"
#include "kernels/cuda/blas.h"
#include "kernels/cuda/storage_types.h"

using pn::test::DeviceArray;

namespace {

// The summation part of the tolerance: exactly the bound under the emulator, 8x on a GPU.
constexpr double kSumSlack = pn::test::kEmulated ? 1.0 : 8.0;

template <class T>
std::vector<T> random_storage(int64_t n, uint64_t seed) {
  const auto f = pn::test::random_vector<float>(n, seed);
  std::vector<T> v;
  for (float x : f) v.push_back(pn::cuda::convert_storage<T>(x));
  return v;
}

template <class T>
double as_double(T x) {
  return static_cast<double>(pn::cuda::StorageType<T>::to_compute(x));
}

template <class T>
double output_unit() {
  if constexpr (sizeof(T) == 4) return std::ldexp(1.0, -24);
  if constexpr (std::is_same_v<T, __nv_bfloat16>) return std::ldexp(1.0, -8);
  return std::ldexp(1.0, -11);
}

// Row-major C = alpha op(A) op(B) + beta C through the wrapper, against float64.
template <class In, class Out>
void check_gemm_mixed() {
  const int64_t m = 13, n = 17, k = 29;
  const float alpha = 0.75f;
  int seed = 11, failures = 0;
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (float beta : {0.0f, -1.5f}) {
        const int64_t lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 3, ldc = n + 3;
        const auto a = random_storage<In>((ta ? k : m) * lda, seed++);
        const auto b = random_storage<In>((tb ? n : k) * ldb, seed++);
        auto c = beta == 0.0f ? std::vector<Out>(static_cast<size_t>(m * ldc),
                                                 pn::cuda::convert_storage<Out>(std::nanf("")))
                              : random_storage<Out>(m * ldc, seed++);
        DeviceArray<In> d_a(a), d_b(b);
        DeviceArray<Out> d_c(c);
        pn::cuda::gemm_mixed(ta, tb, m, n, k, alpha, d_a.get(), lda, d_b.get(), ldb, beta, d_c.get(), ldc, nullptr);
        const auto got = d_c.to_host();
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < n; ++j) {
            double sum = 0, mag = 0;
            for (int64_t l = 0; l < k; ++l) {
              const double p = as_double(ta ? a[l * lda + i] : a[i * lda + l]) *
                               as_double(tb ? b[j * ldb + l] : b[l * ldb + j]);
              sum += p;
              mag += std::fabs(p);
            }
            const double old = beta == 0.0f ? 0.0 : as_double(c[i * ldc + j]);
            const double want = alpha * sum + beta * old;
            const double s = std::fabs(alpha) * mag + std::fabs(beta * old);
            const double tol = kSumSlack * k * std::ldexp(1.0, -24) * s + output_unit<Out>() * std::fabs(want);
            const double g = as_double(got[i * ldc + j]);
            if (!(std::fabs(g - want) <= tol)) {
              if (failures++ < 5)
                INFO("C[" << i << "," << j << "] = " << g << ", want " << want << " +- " << tol << " (" << ta << tb
                          << " beta " << beta << ")");
              CHECK(std::fabs(g - want) <= tol);
            }
          }
      }
  CHECK(failures == 0);
}

}  // namespace

TEST_CASE("gemm_mixed: bf16 / fp16 storage, fp32 compute, against float64 (all transposes, beta, ld)") {
  SUBCASE("bf16 -> bf16") { check_gemm_mixed<__nv_bfloat16, __nv_bfloat16>(); }
  SUBCASE("bf16 -> float") { check_gemm_mixed<__nv_bfloat16, float>(); }
  SUBCASE("fp16 -> fp16") { check_gemm_mixed<__half, __half>(); }
  SUBCASE("fp16 -> float") { check_gemm_mixed<__half, float>(); }
}

#if defined(PN_CUDA_EMU)  // the emulator's own rules and roundings
namespace {

std::string detail() { return pn::cuda::emu::last_error_detail(); }
bool mentions(const std::string& s, const std::string& what) { return s.find(what) != std::string::npos; }

cublasHandle_t fresh_handle() {
  cublasHandle_t h = nullptr;
  REQUIRE(cublasCreate(&h) == CUBLAS_STATUS_SUCCESS);
  return h;
}

// One 1 x 1 x 1 float product a * b under a compute type and math mode.
float product_32f(cublasComputeType_t compute, cublasMath_t math, float a, float b) {
  cublasHandle_t h = fresh_handle();
  REQUIRE(cublasSetMathMode(h, math) == CUBLAS_STATUS_SUCCESS);
  DeviceArray<float> d_a(std::vector<float>{a}), d_b(std::vector<float>{b}), d_c(1);
  const float one = 1, zero = 0;
  REQUIRE(cublasGemmEx_64(h, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 1, &one, d_a.get(), CUDA_R_32F, 1, d_b.get(), CUDA_R_32F,
                          1, &zero, d_c.get(), CUDA_R_32F, 1, compute, CUBLAS_GEMM_DEFAULT) == CUBLAS_STATUS_SUCCESS);
  const float c = d_c.to_host()[0];
  REQUIRE(cublasDestroy(h) == CUBLAS_STATUS_SUCCESS);
  return c;
}

}  // namespace

TEST_CASE("cublasGemmEx: FAST compute types and the TF32 math mode round float inputs") {
  const float x = 1.0f + std::ldexp(1.0f, -9);   // kept by TF32 (10 bits), lost by bf16 (7 bits)
  const float y = 1.0f + std::ldexp(1.0f, -12);  // lost by TF32 and fp16 (10 bits), kept by fp32
  CHECK(product_32f(CUBLAS_COMPUTE_32F, CUBLAS_DEFAULT_MATH, y, 1.0f) == y);
  CHECK(product_32f(CUBLAS_COMPUTE_32F_FAST_TF32, CUBLAS_DEFAULT_MATH, y, 1.0f) == 1.0f);
  CHECK(product_32f(CUBLAS_COMPUTE_32F_FAST_TF32, CUBLAS_DEFAULT_MATH, x, 1.0f) == x);
  CHECK(product_32f(CUBLAS_COMPUTE_32F_FAST_16BF, CUBLAS_DEFAULT_MATH, x, 1.0f) == 1.0f);
  CHECK(product_32f(CUBLAS_COMPUTE_32F_FAST_16F, CUBLAS_DEFAULT_MATH, y, 1.0f) == 1.0f);
  CHECK(product_32f(CUBLAS_COMPUTE_32F_FAST_16F, CUBLAS_DEFAULT_MATH, 1e5f, 1.0f) == INFINITY);  // past fp16's range
  // The handle's TF32 math mode applies to CUBLAS_COMPUTE_32F, not to the pedantic type.
  CHECK(product_32f(CUBLAS_COMPUTE_32F, CUBLAS_TF32_TENSOR_OP_MATH, y, 1.0f) == 1.0f);
  CHECK(product_32f(CUBLAS_COMPUTE_32F_PEDANTIC, CUBLAS_TF32_TENSOR_OP_MATH, y, 1.0f) == y);
}

TEST_CASE("cublasGemmEx: bf16 inputs are used as given and the result is rounded once to Ctype") {
  cublasHandle_t h = fresh_handle();
  // 1 x 1 x 2: (1 + 2^-7) * 1 + 2^-8 * 1 = 1 + 3 * 2^-8, exact in fp32 but not in bf16 (ulp
  // 2^-7 at 1): to Ctype float it stays; to Ctype bf16 it is a tie between 1 + 2^-7 (odd) and
  // 1 + 2^-6 (even), so one rounding to nearest even gives 1 + 2^-6.
  const std::vector<__nv_bfloat16> a{__float2bfloat16(1.0f + std::ldexp(1.0f, -7)), __float2bfloat16(std::ldexp(1.0f, -8))};
  const std::vector<__nv_bfloat16> b{__float2bfloat16(1.0f), __float2bfloat16(1.0f)};
  DeviceArray<__nv_bfloat16> d_a(a), d_b(b), d_c(1);
  DeviceArray<float> d_f(1);
  const float one = 1, zero = 0;
  REQUIRE(cublasGemmEx_64(h, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 2, &one, d_a.get(), CUDA_R_16BF, 1, d_b.get(), CUDA_R_16BF,
                          2, &zero, d_f.get(), CUDA_R_32F, 1, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT) ==
          CUBLAS_STATUS_SUCCESS);
  CHECK(d_f.to_host()[0] == 1.0f + 3 * std::ldexp(1.0f, -8));  // fp32 accumulation keeps every bit
  REQUIRE(cublasGemmEx_64(h, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 2, &one, d_a.get(), CUDA_R_16BF, 1, d_b.get(), CUDA_R_16BF,
                          2, &zero, d_c.get(), CUDA_R_16BF, 1, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT_TENSOR_OP) ==
          CUBLAS_STATUS_SUCCESS);
  CHECK(static_cast<float>(d_c.to_host()[0]) == 1.0f + std::ldexp(1.0f, -6));
  REQUIRE(cublasDestroy(h) == CUBLAS_STATUS_SUCCESS);
}

TEST_CASE("cublasGemmEx: the documented type rules, with a reason for every refusal") {
  cublasHandle_t h = fresh_handle();
  DeviceArray<float> a(64), b(64), c(64);
  const float one = 1, zero = 0;
  auto ex = [&](cudaDataType at, cudaDataType bt, cudaDataType ct, cublasComputeType_t compute,
                cublasGemmAlgo_t algo = CUBLAS_GEMM_DEFAULT, int64_t lda = 4) {
    return cublasGemmEx_64(h, CUBLAS_OP_N, CUBLAS_OP_N, 4, 4, 4, &one, a.get(), at, lda, b.get(), bt, 4, &zero,
                           c.get(), ct, 4, compute, algo);
  };
  for (cudaDataType t : {CUDA_R_16BF, CUDA_R_16F}) {
    CHECK(ex(t, t, t, CUBLAS_COMPUTE_32F) == CUBLAS_STATUS_SUCCESS);
    CHECK(ex(t, t, CUDA_R_32F, CUBLAS_COMPUTE_32F_PEDANTIC) == CUBLAS_STATUS_SUCCESS);
    CHECK(ex(t, t, t, CUBLAS_COMPUTE_32F_FAST_TF32) == CUBLAS_STATUS_NOT_SUPPORTED);  // FAST types: 32F data only
    CHECK(mentions(detail(), "is not a combination cuBLAS supports"));
  }
  CHECK(ex(CUDA_R_16BF, CUDA_R_16BF, CUDA_R_16F, CUBLAS_COMPUTE_32F) == CUBLAS_STATUS_NOT_SUPPORTED);
  CHECK(mentions(detail(), "Ctype CUDA_R_16F"));
  CHECK(ex(CUDA_R_16BF, CUDA_R_16F, CUDA_R_32F, CUBLAS_COMPUTE_32F) == CUBLAS_STATUS_NOT_SUPPORTED);
  CHECK(mentions(detail(), "Atype and Btype must be the same"));
  CHECK(ex(CUDA_R_32F, CUDA_R_32F, CUDA_R_16BF, CUBLAS_COMPUTE_32F) == CUBLAS_STATUS_NOT_SUPPORTED);
  CHECK(ex(CUDA_R_16BF, CUDA_R_16BF, CUDA_R_16BF, CUBLAS_COMPUTE_16F) == CUBLAS_STATUS_NOT_SUPPORTED);
  CHECK(ex(CUDA_R_32F, CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_64F) == CUBLAS_STATUS_NOT_SUPPORTED);
  CHECK(ex(CUDA_R_32F, CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_32F, cublasGemmAlgo_t(50)) ==
        CUBLAS_STATUS_NOT_SUPPORTED);
  CHECK(mentions(detail(), "algo 50 is not supported"));
  CHECK(ex(CUDA_R_32F, CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_32F, cublasGemmAlgo_t(5)) == CUBLAS_STATUS_SUCCESS);
  // Legal in cuBLAS but not emulated: refused, and the reason says so.
  CHECK(ex(CUDA_R_16F, CUDA_R_16F, CUDA_R_16F, CUBLAS_COMPUTE_16F) == CUBLAS_STATUS_NOT_SUPPORTED);
  CHECK(mentions(detail(), "legal in cuBLAS but not emulated"));
  CHECK(ex(CUDA_R_8I, CUDA_R_8I, CUDA_R_32I, CUBLAS_COMPUTE_32I) == CUBLAS_STATUS_NOT_SUPPORTED);
  CHECK(mentions(detail(), "not emulated"));
  // Argument errors come first: CUBLAS_STATUS_INVALID_VALUE even with an unsupported type.
  CHECK(ex(CUDA_R_16BF, CUDA_R_16F, CUDA_R_32F, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT, 3) ==
        CUBLAS_STATUS_INVALID_VALUE);
  CHECK(mentions(detail(), "lda = 3 < 4"));
  // C of 16-bit elements spans 2 bytes each: 4 x 4 fp16 fits in 32 bytes, 31 do not.
  DeviceArray<__half> h16(16);
  DeviceArray<unsigned char> short_c(31);
  CHECK(cublasGemmEx_64(h, CUBLAS_OP_N, CUBLAS_OP_N, 4, 4, 4, &one, h16.get(), CUDA_R_16F, 4, h16.get(), CUDA_R_16F, 4,
                        &zero, short_c.get(), CUDA_R_16F, 4, CUBLAS_COMPUTE_32F,
                        CUBLAS_GEMM_DEFAULT) == CUBLAS_STATUS_EXECUTION_FAILED);
  CHECK(mentions(detail(), "C: "));
  CHECK(mentions(detail(), "past the end of its 31-byte allocation"));
  REQUIRE(cublasDestroy(h) == CUBLAS_STATUS_SUCCESS);
  CHECK(ex(CUDA_R_16BF, CUDA_R_16BF, CUDA_R_16BF, CUBLAS_COMPUTE_32F) == CUBLAS_STATUS_NOT_INITIALIZED);
}

TEST_CASE("cublasGemmEx: 64F through the Ex entry point matches the CPU in double") {
  cublasHandle_t h = fresh_handle();
  const int64_t m = 5, n = 3, k = 7;
  const auto a = pn::test::random_vector<double>(m * k, 3), b = pn::test::random_vector<double>(k * n, 4);
  DeviceArray<double> d_a(a), d_b(b), d_c(m * n);
  const double one = 1, zero = 0;
  REQUIRE(cublasGemmEx_64(h, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &one, d_a.get(), CUDA_R_64F, m, d_b.get(), CUDA_R_64F,
                          k, &zero, d_c.get(), CUDA_R_64F, m, CUBLAS_COMPUTE_64F, CUBLAS_GEMM_DEFAULT) ==
          CUBLAS_STATUS_SUCCESS);
  const auto got = d_c.to_host();
  for (int64_t j = 0; j < n; ++j)
    for (int64_t i = 0; i < m; ++i) {
      double want = 0;
      for (int64_t l = 0; l < k; ++l) want += a[i + l * m] * b[l + j * k];
      CHECK(got[i + j * m] == doctest::Approx(want).epsilon(1e-12));
    }
  REQUIRE(cublasDestroy(h) == CUBLAS_STATUS_SUCCESS);
}
#endif  // PN_CUDA_EMU
