// Parity of the CUDA sum reduction and random fills with the CPU reference, under the
// emulator. Tolerances: sums accumulate in double on both sides but in a different order,
// so results agree to rtol 1e-6 (float output) / 1e-12 (double) with atol scaled by the
// summand count; 16-bit sums bit for bit (exact double sums, one rounding); random fills
// are exact under the emulator (the same Philox draw per element index; 8 ulp on a GPU,
// whose log and cos may differ from glibc's).
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "emu_util.h"
#include "kernels/cpu/random.h"
#include "kernels/cpu/reduce.h"
#include "kernels/cuda/random.h"
#include "kernels/cuda/reduce.h"
#include "kernels/cuda/storage_types.h"
#include "kernels/math/low_precision.h"

using pn::test::DeviceArray;

namespace {

pn::kernels::ReduceGeom rgeom(std::vector<int64_t> shape, std::vector<bool> reduce) {
  pn::kernels::ReduceGeom g;
  g.ndim = static_cast<int>(shape.size());
  for (int d = 0; d < g.ndim; ++d) {
    g.shape[d] = shape[d];
    g.reduce[d] = reduce[d];
  }
  return g;
}

// Kept/reduced patterns that reach every path of both implementations.
const std::vector<pn::kernels::ReduceGeom>& reduce_geoms() {
  static const std::vector<pn::kernels::ReduceGeom> geoms = {
      rgeom({37, 513}, {false, true}),                 // rows: reduce the inner dim
      rgeom({513, 37}, {true, false}),                 // columns: reduce the outer dim
      rgeom({7, 300, 9}, {false, true, false}),        // middle dim, 9 columns
      rgeom({5, 6, 7, 8}, {true, false, true, false}), // alternating
      rgeom({3, 1000 + 37}, {true, true}),             // everything to one number (CPU: 64 chunks)
      rgeom({4, 33}, {false, false}),                  // nothing: a copy
      rgeom({2, 3, 70, 1}, {false, true, true, true}), // size-1 dims among the reduced
      rgeom({3, 2, 5001}, {true, false, true}),        // per channel, 4 chunks of the split kernel
      rgeom({9001}, {true}),                           // a whole tensor in 3 chunks and a merge
  };
  return geoms;
}

// Elements of x and of the output.
std::pair<int64_t, int64_t> sizes(const pn::kernels::ReduceGeom& g) {
  int64_t n = 1, nout = 1;
  for (int d = 0; d < g.ndim; ++d) {
    n *= g.shape[d];
    if (!g.reduce[d]) nout *= g.shape[d];
  }
  return {n, nout};
}

template <class T>
void check_reductions(double rtol) {
  int k = 0;
  for (const auto& g : reduce_geoms()) {
    const auto [n, nout] = sizes(g);
    const int64_t nred = n / nout;
    const auto x = pn::test::random_vector<T>(n, 100 + k++);
    std::vector<T> want(nout);
    pn::cpu::sum_reduce(x.data(), want.data(), g);
    DeviceArray<T> d_x(x), d_out(nout);
    pn::cuda::sum_reduce(d_x.get(), d_out.get(), g, nullptr);
    // Summands are in [-2, 2]: the rounding of a double sum of nred of them is far below
    // this atol; the output's own rounding is covered by rtol.
    pn::test::check_close(d_out.to_host(), want, rtol, 1e-12 * static_cast<double>(nred),
                          "sum_reduce over " + std::to_string(n) + " elements to " + std::to_string(nout));
  }
}

// The bit patterns of 16-bit values (any 2-byte storage type).
template <class T>
std::vector<uint16_t> bits16(const std::vector<T>& v) {
  static_assert(sizeof(T) == 2);
  std::vector<uint16_t> b(v.size());
  std::memcpy(b.data(), v.data(), 2 * v.size());
  return b;
}

// 16-bit sums, H the CPU's storage type and D the device's (the same bits), 6 draws per
// geometry: the CPU reference equals the float32 sum of the same values rounded once to 16
// bits, and the device equals the CPU bit for bit (both sum exactly in double at these sizes:
// a 16-bit value has at most 24 significant bits above 2^-24). Many draws, because a sum
// rounded in 16 bits too early (a chunk's partial, say) still rounds right most of the time.
// With scale = 1 / count (a mean) the same holds for the scaled sum, rounded once; rounding the
// sum first and then the scaled sum (the old mean) differs in some draws, which the count shows.
template <class H, class D>
void check_reductions16(bool mean, int* twice_differs = nullptr) {
  int k = 0;
  for (auto g : reduce_geoms()) {
    const auto [n, nout] = sizes(g);
    if (mean) g.scale = static_cast<double>(nout) / static_cast<double>(n);
    for (int draw = 0; draw < 6; ++draw) {
      INFO("sum_reduce over " << n << " elements to " << nout << ", draw " << draw);
      const auto x32 = pn::test::random_vector<float>(n, 500 + k++);
      std::vector<H> x(x32.size());
      std::vector<float> widened(x32.size()), sum32(nout);
      for (size_t i = 0; i < x32.size(); ++i) x[i] = H(x32[i]), widened[i] = static_cast<float>(x[i]);
      std::vector<H> want(nout), sum32_rounded(nout);
      pn::cpu::sum_reduce(x.data(), want.data(), g);
      pn::cpu::sum_reduce(widened.data(), sum32.data(), g);
      for (int64_t o = 0; o < nout; ++o) sum32_rounded[o] = H(sum32[o]);
      CHECK(bits16(want) == bits16(sum32_rounded));
      if (twice_differs) {  // the old mean: the 16-bit sum, then the scaled sum rounded again
        pn::kernels::ReduceGeom plain = g;
        plain.scale = 1;
        std::vector<H> sum16(nout), twice(nout);
        pn::cpu::sum_reduce(x.data(), sum16.data(), plain);
        for (int64_t o = 0; o < nout; ++o) twice[o] = H(static_cast<float>(sum16[o]) * static_cast<float>(g.scale));
        *twice_differs += bits16(twice) != bits16(want);
      }
      std::vector<D> on_device(x.size());
      std::memcpy(static_cast<void*>(on_device.data()), x.data(), 2 * x.size());
      DeviceArray<D> d_x(on_device), d_out(nout);
      pn::cuda::sum_reduce(d_x.get(), d_out.get(), g, nullptr);
      CHECK(bits16(d_out.to_host()) == bits16(want));
    }
  }
}

template <class T>
void check_random() {
  const int64_t n = 3000 + 37;
  const uint64_t seed = 1234, offset = 77;
  std::vector<T> want(n);
  DeviceArray<T> d(n);
  pn::cpu::fill_normal(want.data(), n, seed, offset, 0.5, 2.0);
  pn::cuda::fill_normal(d.get(), n, seed, offset, 0.5, 2.0, nullptr);
  pn::test::check_same_math(d.to_host(), want, "fill_normal");
  pn::cpu::fill_uniform(want.data(), n, seed, offset, -1.0, 3.0);
  pn::cuda::fill_uniform(d.get(), n, seed, offset, -1.0, 3.0, nullptr);
  pn::test::check_same_math(d.to_host(), want, "fill_uniform");
  pn::cpu::fill_bernoulli(want.data(), n, seed, offset, 0.7, 1.0 / 0.7);
  pn::cuda::fill_bernoulli(d.get(), n, seed, offset, 0.7, 1.0 / 0.7, nullptr);
  const auto got = d.to_host();
  pn::test::check_same_math(got, want, "fill_bernoulli");
  int64_t kept = 0;
  for (T v : got) kept += v != T(0);
  CHECK(std::abs(static_cast<double>(kept) / n - 0.7) < 0.05);  // the mask is not degenerate
}

}  // namespace

TEST_CASE("sum_reduce matches the CPU reference over kept/reduced axis patterns") {
  check_reductions<float>(1e-6);
  check_reductions<double>(1e-12);
}

TEST_CASE("16-bit sum_reduce: the float32 sum rounded once on the CPU, and the device bit for bit") {
  check_reductions16<pn::math::bfloat16, __nv_bfloat16>(false);
  check_reductions16<pn::math::float16, __half>(false);
}

TEST_CASE("16-bit means (sum_reduce with a scale) round once, on the CPU and the device alike") {
  int twice_differs = 0;
  check_reductions16<pn::math::bfloat16, __nv_bfloat16>(true, &twice_differs);
  check_reductions16<pn::math::float16, __half>(true, &twice_differs);
  CHECK(twice_differs > 0);  // the draws tell one rounding from two
}

TEST_CASE("random fills match the CPU reference exactly") {
  check_random<float>();
  check_random<double>();
}
