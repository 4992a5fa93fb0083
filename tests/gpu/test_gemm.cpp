// cuBLAS gemm (kernels/cuda/blas.h) against the CPU reference (OpenBLAS), all four
// transpose combinations, odd sizes, alpha/beta != 1/0. Tolerance: different summation
// orders (and TF32 is not enabled), so rtol 1e-5 (float) / 1e-12 (double), atol scaled by k.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "emu_util.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cuda/blas.h"

using pn::test::DeviceArray;

namespace {

template <class T>
void check_gemm() {
  const int64_t m = 37, n = 53, k = 129;
  const double tol = sizeof(T) == 4 ? 1e-5 : 1e-12;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      const int64_t lda = ta ? m : k, ldb = tb ? k : n, ldc = n;
      const auto a = pn::test::random_vector<T>(m * k, 1), b = pn::test::random_vector<T>(k * n, 2);
      auto c = pn::test::random_vector<T>(m * n, 3);
      DeviceArray<T> d_a(a), d_b(b), d_c(c);
      pn::cpu::gemm(ta, tb, m, n, k, T(0.5), a.data(), lda, b.data(), ldb, T(2), c.data(), ldc);
      pn::cuda::gemm(ta, tb, m, n, k, T(0.5), d_a.get(), lda, d_b.get(), ldb, T(2), d_c.get(), ldc, nullptr);
      pn::test::check_close(d_c.to_host(), c, tol, tol * k,
                            std::string("gemm trans_a ") + (ta ? "T" : "N") + " trans_b " + (tb ? "T" : "N"));
    }
}

}  // namespace

TEST_CASE("cuBLAS gemm matches the CPU reference") {
  check_gemm<float>();
  check_gemm<double>();
}
