// cpu::gemm's summation order (kernels/cpu/gemm.h): GemmOrder::sequential adds each element's k
// terms in order, in the element type, so that its bits do not depend on which OpenBLAS kernels
// the processor gets; the default stays the BLAS.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>
#include <vector>

#include "kernels/cpu/gemm.h"

namespace {

struct OrderScope {
  pn::cpu::GemmOrder before = pn::cpu::gemm_order();
  explicit OrderScope(pn::cpu::GemmOrder o) { pn::cpu::set_gemm_order(o); }
  ~OrderScope() { pn::cpu::set_gemm_order(before); }
};

// Values of mixed magnitude, so that summation orders round differently.
std::vector<float> values(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f), e(-6.0f, 6.0f);
  std::vector<float> v(n);
  for (float& x : v) x = u(rng) * std::exp2(e(rng));
  return v;
}

}  // namespace

TEST_CASE("gemm order: PENUMBRA_CPU_GEMM names it, and nothing else") {
  using pn::cpu::GemmOrder;
  CHECK(pn::cpu::parse_gemm_order(nullptr) == GemmOrder::blas);
  CHECK(pn::cpu::parse_gemm_order("") == GemmOrder::blas);
  CHECK(pn::cpu::parse_gemm_order("blas") == GemmOrder::blas);
  CHECK(pn::cpu::parse_gemm_order("sequential") == GemmOrder::sequential);
  CHECK_THROWS_WITH_AS(pn::cpu::parse_gemm_order("fast"),
                       doctest::Contains("PENUMBRA_CPU_GEMM=fast: expected 'blas' or 'sequential'"),
                       std::invalid_argument);
}

TEST_CASE("gemm order: sequential adds k in order (the plain loop, bit for bit), transposes and beta included") {
  const int64_t m = 7, n = 19, k = 301;
  const std::vector<float> a = values(m * k, 1), b = values(k * n, 2), c0 = values(m * n, 3);
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (float beta : {0.0f, 0.5f}) {
        CAPTURE(ta);
        CAPTURE(tb);
        CAPTURE(beta);
        // A stored [k, m] when transposed, B [n, k].
        const int64_t lda = ta ? m : k, ldb = tb ? k : n;
        std::vector<float> want(c0);
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < n; ++j) {
            float acc = 0.0f;
            for (int64_t p = 0; p < k; ++p) acc += (ta ? a[p * lda + i] : a[i * lda + p]) * (tb ? b[j * ldb + p] : b[p * ldb + j]);
            want[i * n + j] = beta == 0.0f ? 1.5f * acc : 1.5f * acc + beta * c0[i * n + j];
          }
        std::vector<float> seq(c0), blas(c0);
        {
          OrderScope s(pn::cpu::GemmOrder::sequential);
          pn::cpu::gemm<float>(ta, tb, m, n, k, 1.5f, a.data(), lda, b.data(), ldb, beta, seq.data(), n);
        }
        {
          OrderScope s(pn::cpu::GemmOrder::blas);
          pn::cpu::gemm<float>(ta, tb, m, n, k, 1.5f, a.data(), lda, b.data(), ldb, beta, blas.data(), n);
        }
        CHECK(seq == want);
        double worst = 0, scale = 0;
        for (size_t i = 0; i < want.size(); ++i) {
          worst = std::max(worst, std::fabs(double(blas[i]) - double(want[i])));
          scale = std::max(scale, std::fabs(double(want[i])));
        }
        CHECK(worst < 1e-5 * scale);  // the BLAS: the same product in its own order
      }
}

TEST_CASE("gemm order: sequential in float64 and the 16-bit types") {
  OrderScope s(pn::cpu::GemmOrder::sequential);
  const double a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {1, 0, 0, 1, 1, 1};
  double c[4] = {9, 9, 9, 9};
  pn::cpu::gemm<double>(false, false, 2, 2, 3, 1.0, a, 3, b, 2, 0.0, c, 2);  // [[1,2,3],[4,5,6]] @ [[1,0],[0,1],[1,1]]
  CHECK(c[0] == 4);
  CHECK(c[1] == 5);
  CHECK(c[2] == 10);
  CHECK(c[3] == 11);
  using pn::math::bfloat16;
  const bfloat16 ah[2] = {bfloat16(1.5f), bfloat16(2.0f)}, bh[2] = {bfloat16(4.0f), bfloat16(0.25f)};
  bfloat16 ch[1] = {bfloat16(0.0f)};
  pn::cpu::gemm<bfloat16>(false, false, 1, 1, 2, bfloat16(1.0f), ah, 2, bh, 1, bfloat16(0.0f), ch, 1);
  CHECK(static_cast<float>(ch[0]) == 6.5f);
}
