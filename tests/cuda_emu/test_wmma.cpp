// The emulated warp matrix functions (kernels/cuda/emu/wmma_emu.h, through wmma_api.h): a
// 16 x 16 x 16 product of bf16 and of half tiles against a CPU loop (integer-valued inputs,
// so the float sums are exact and the answers known), both memory layouts of every operand,
// accumulators loaded and stored, a half accumulator; every contract violation the emulator
// claims to catch (a partial warp, a lane that does not call, lanes with different pointers,
// a misaligned pointer, ldm not a multiple of 16 bytes) fails the launch with a detail naming
// it; and the profile sees a tile load as the warp's 16-byte accesses.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "emu_util.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/wmma_api.h"

namespace wmma = nvcuda::wmma;
using pn::test::DeviceArray;

namespace {

constexpr int kT = 16;

// D = A B + C for one tile: A and B in their layouts with ldm lda / ldb; C loaded from c (or
// zeros when c is null); D stored to d in `out_layout` with ldm ldd.
template <class T, class LA, class LB>
__global__ void tile_product(const T* a, unsigned lda, const T* b, unsigned ldb, const float* c, float* d,
                             unsigned ldd, wmma::layout_t out_layout) {
  wmma::fragment<wmma::matrix_a, kT, kT, kT, T, LA> fa;
  wmma::fragment<wmma::matrix_b, kT, kT, kT, T, LB> fb;
  wmma::fragment<wmma::accumulator, kT, kT, kT, float> acc;
  wmma::load_matrix_sync(fa, a, lda);
  wmma::load_matrix_sync(fb, b, ldb);
  if (c) wmma::load_matrix_sync(acc, c, ldd, out_layout);
  else wmma::fill_fragment(acc, 0.0f);
  wmma::mma_sync(acc, fa, fb, acc);
  wmma::store_matrix_sync(d, acc, ldd, out_layout);
}

// Element (i, j) of a tile stored with `row_major` layout and leading dimension ld.
size_t at(int i, int j, bool row_major, int ld) { return row_major ? size_t(i) * ld + j : size_t(j) * ld + i; }

// Small integers: every product and sum of 16 is exact in float, whatever the order.
float a_value(int i, int k) { return static_cast<float>((i * 3 + k * 5) % 7 - 3); }
float b_value(int k, int j) { return static_cast<float>((k * 2 + j * 7) % 9 - 4); }
float c_value(int i, int j) { return static_cast<float>(i - 2 * j); }

template <class T, class LA, class LB>
void check_product(bool with_c, wmma::layout_t out_layout) {
  constexpr bool a_row = std::is_same_v<LA, wmma::row_major>, b_row = std::is_same_v<LB, wmma::row_major>;
  const int lda = 24, ldb = 16, ldd = 20;  // multiples of 8 (16-bit) and of 4 (float), rows 32-byte aligned
  std::vector<T> a(kT * lda), b(kT * ldb);
  std::vector<float> c(kT * ldd, 0.f), want(kT * ldd, 0.f);
  const bool d_row = out_layout == wmma::mem_row_major;
  for (int i = 0; i < kT; ++i)
    for (int j = 0; j < kT; ++j) {
      a[at(i, j, a_row, lda)] = T(a_value(i, j));
      b[at(i, j, b_row, ldb)] = T(b_value(i, j));
      if (with_c) c[at(i, j, d_row, ldd)] = c_value(i, j);
    }
  for (int i = 0; i < kT; ++i)  // the CPU loop: D(i, j) = sum over k of A(i, k) B(k, j) + C(i, j)
    for (int j = 0; j < kT; ++j) {
      float s = with_c ? c_value(i, j) : 0.f;
      for (int k = 0; k < kT; ++k) s += a_value(i, k) * b_value(k, j);
      want[at(i, j, d_row, ldd)] = s;
    }
  DeviceArray<T> da(a), db(b);
  DeviceArray<float> dc(c), dd(std::vector<float>(c.size(), 0.f));
  pn::cuda::launch(tile_product<T, LA, LB>, 1, 32, 0, nullptr, static_cast<const T*>(da.get()), unsigned(lda),
                   static_cast<const T*>(db.get()), unsigned(ldb), with_c ? static_cast<const float*>(dc.get()) : nullptr,
                   dd.get(), unsigned(ldd), out_layout);
  PN_CUDA_CHECK(cudaDeviceSynchronize());
  const std::vector<float> got = dd.to_host();
  for (int i = 0; i < kT; ++i)
    for (int j = 0; j < kT; ++j) {
      CAPTURE(i);
      CAPTURE(j);
      REQUIRE(got[at(i, j, d_row, ldd)] == want[at(i, j, d_row, ldd)]);
    }
}

template <class T>
void check_all_layouts() {
  check_product<T, wmma::row_major, wmma::row_major>(false, wmma::mem_row_major);
  check_product<T, wmma::row_major, wmma::col_major>(true, wmma::mem_row_major);
  check_product<T, wmma::col_major, wmma::row_major>(true, wmma::mem_col_major);
  check_product<T, wmma::col_major, wmma::col_major>(false, wmma::mem_col_major);
}

// The accumulator in half: a tile of ones times ones, plus 0.5 everywhere: 16.5 each.
__global__ void half_accumulator(const __half* a, __half* d) {
  wmma::fragment<wmma::matrix_a, kT, kT, kT, __half, wmma::row_major> fa;
  wmma::fragment<wmma::matrix_b, kT, kT, kT, __half, wmma::col_major> fb;
  wmma::fragment<wmma::accumulator, kT, kT, kT, __half> acc;
  wmma::fill_fragment(acc, __float2half(0.5f));
  wmma::load_matrix_sync(fa, a, kT);
  wmma::load_matrix_sync(fb, a, kT);
  wmma::mma_sync(acc, fa, fb, acc);
  wmma::store_matrix_sync(d, acc, kT, wmma::mem_row_major);
}

// Contract violations, one per `mode`.
enum Mode { kMisaligned, kBadLdm16, kBadLdmFloat, kPartialWarp, kLaneSkips, kLanePointers };
__global__ void violate(const __nv_bfloat16* a, float* d, int mode) {
  const unsigned lane = threadIdx.x % 32;
  wmma::fragment<wmma::matrix_a, kT, kT, kT, __nv_bfloat16, wmma::row_major> fa;
  wmma::fragment<wmma::accumulator, kT, kT, kT, float> acc;
  wmma::fill_fragment(acc, 0.0f);
  switch (mode) {
    case kMisaligned: wmma::load_matrix_sync(fa, a + 8, 16); break;  // 16 bytes past a 32-byte boundary
    case kBadLdm16: wmma::load_matrix_sync(fa, a, 20); break;
    case kBadLdmFloat: wmma::store_matrix_sync(d, acc, 18, wmma::mem_row_major); break;
    case kPartialWarp: wmma::load_matrix_sync(fa, a, 16); break;  // launched with 48 threads
    case kLaneSkips:
      if (lane != 31) wmma::load_matrix_sync(fa, a, 16);
      break;
    case kLanePointers: wmma::load_matrix_sync(fa, lane < 16 ? a : a + 16 * 16, 16); break;
  }
}

std::string failure_of(Mode mode, unsigned threads) {
  DeviceArray<__nv_bfloat16> a(std::vector<__nv_bfloat16>(2 * kT * kT, __float2bfloat16(1.f)));
  DeviceArray<float> d(2 * kT * kT);
  try {
    pn::cuda::launch(violate, 1, threads, 0, nullptr, static_cast<const __nv_bfloat16*>(a.get()), d.get(),
                     static_cast<int>(mode));
    PN_CUDA_CHECK(cudaDeviceSynchronize());
  } catch (const pn::cuda::CudaError& e) {
    (void)cudaGetLastError();
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("wmma: a 16x16x16 bf16 product, every operand layout, matches the CPU loop exactly") {
  check_all_layouts<__nv_bfloat16>();
}

TEST_CASE("wmma: a 16x16x16 half product, every operand layout, matches the CPU loop exactly") {
  check_all_layouts<__half>();
}

TEST_CASE("wmma: a half accumulator") {
  DeviceArray<__half> a(std::vector<__half>(kT * kT, __float2half(1.f)));
  DeviceArray<__half> d(kT * kT);
  pn::cuda::launch(half_accumulator, 1, 64, 0, nullptr, static_cast<const __half*>(a.get()), d.get());  // two warps
  PN_CUDA_CHECK(cudaDeviceSynchronize());
  for (__half v : d.to_host()) REQUIRE(__half2float(v) == 16.5f);
}

TEST_CASE("wmma: each contract violation fails the launch, naming it") {
  CHECK(failure_of(kMisaligned, 32).find("load_matrix_sync (matrix_a): the pointer is not 256-bit (32-byte) aligned") !=
        std::string::npos);
  CHECK(failure_of(kBadLdm16, 32).find("ldm is not a multiple of 8 (16-bit elements") != std::string::npos);
  CHECK(failure_of(kBadLdmFloat, 32).find("store_matrix_sync: ldm is not a multiple of 4 (float") != std::string::npos);
  CHECK(failure_of(kPartialWarp, 48).find("the warp of this thread is not full") != std::string::npos);
  CHECK(failure_of(kLaneSkips, 32).find("an nvcuda::wmma function (load_matrix_sync / store_matrix_sync / mma_sync) "
                                        "names lane 31 in its mask, but that thread has exited") != std::string::npos);
  CHECK(failure_of(kLanePointers, 32).find("the lanes of the warp pass different pointers") != std::string::npos);
  // The same kernel within the contract runs (so the failures above are the violations').
  CHECK(failure_of(kPartialWarp, 64) == "");
}

TEST_CASE("wmma: the profile sees a tile load as the warp's 16-byte accesses") {
  DeviceArray<__nv_bfloat16> a(std::vector<__nv_bfloat16>(kT * 32, __float2bfloat16(1.f)));
  DeviceArray<float> d(kT * kT);
  pn::cuda::emu::set_profiling(true);
  std::vector<pn::cuda::emu::LaunchProfile> launches;
  {
    pn::cuda::emu::ProfileCapture capture;
    // rows 32 elements (64 bytes) apart: 16 rows of 32 bytes, one sector each
    pn::cuda::launch(tile_product<__nv_bfloat16, wmma::row_major, wmma::col_major>, 1, 32, 0, nullptr,
                     static_cast<const __nv_bfloat16*>(a.get()), 32u, static_cast<const __nv_bfloat16*>(a.get()), 32u,
                     static_cast<const float*>(nullptr), d.get(), 16u, wmma::mem_row_major);
    PN_CUDA_CHECK(cudaDeviceSynchronize());
    launches = capture.launches();
  }
  pn::cuda::emu::set_profiling(false);
  REQUIRE(launches.size() == 1);
  const pn::cuda::emu::LaunchProfile& p = launches[0];
  CHECK(p.global_load.warp_accesses == 2);  // A and B: one 16-byte access per lane each
  CHECK(p.global_load.bytes_requested == 2 * kT * kT * 2);
  CHECK(p.global_load.units == 2 * 16);  // 16 sectors per tile
  CHECK(p.global_load.units == p.global_load.min_units);
  CHECK(p.global_store.warp_accesses == 2);  // the float tile: two 16-byte accesses per lane
  CHECK(p.global_store.units == 32);        // 1 KiB in 32 sectors
}
