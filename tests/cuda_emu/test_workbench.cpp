// The kernel workbench (kernels/cuda/workbench): every version of every family matches the CPU
// reference on awkward sizes; the check catches a planted bug; the runner profiles each version
// under the emulator (version 1 = the production kernel's twin) and says times need a GPU.
#include <doctest/doctest.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "kernels/cuda/conv_igemm.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/workbench/workbench.h"

namespace wb = pn::cuda::workbench;

namespace {

// Planted bug: forgets the last element.
void relu_without_last(const float* x, float* y, int64_t n, cudaStream_t stream) {
  pn::cuda::unary(pn::math::Unary::Relu, x, y, n - 1, 0.f, 0.f, stream);
}

}  // namespace

TEST_CASE("workbench: every version of every family matches the CPU on awkward sizes") {
  REQUIRE(!wb::families().empty());
  for (const wb::Family* f : wb::families()) {
    CHECK(f->versions.size() >= 2);
    for (const wb::Version& v : f->versions) {
      CAPTURE(f->name);
      CAPTURE(v.number);
      CHECK(f->check(v.number) == "");
    }
  }
}

TEST_CASE("workbench: the check catches a launcher that skips the last element") {
  const std::string failure = wb::check_relu_launcher(relu_without_last);
  INFO(failure);
  CHECK(failure.find("n = 1, pointers offset by 0 floats: y[0] = ") == 0);  // the first size: never written
  CHECK(failure.find("nan, the CPU gives") != std::string::npos);
}

TEST_CASE("workbench: the runner profiles each version under the emulator") {
  const std::vector<wb::VersionReport> reports = wb::run("elementwise", 0);
  REQUIRE(reports.size() == 2);
  for (const wb::VersionReport& r : reports) {
    CAPTURE(r.version);
    CHECK(r.check_failure == "");
    REQUIRE(r.profile.size() == 1);
    const pn::cuda::emu::LaunchProfile& p = r.profile[0];
    CHECK(p.instrumented());
    CHECK(p.sector_efficiency() == doctest::Approx(1.0));
    CHECK(p.bytes_moved() == static_cast<uint64_t>(r.compulsory_bytes));
  }
  CHECK(reports[0].profile[0].site.find("elementwise.cu") != std::string::npos);  // the production kernel
  // Production (version 1, promoted in issue 17) moves the same bytes as the kernel before it
  // (version 2) in 16-byte lane accesses: 4x fewer warp accesses.
  CHECK(reports[0].profile[0].global_load.warp_accesses * 4 == reports[1].profile[0].global_load.warp_accesses);
  CHECK(reports[1].profile[0].global_load.bytes_requested == reports[0].profile[0].global_load.bytes_requested);
  const std::string text = wb::format(reports);
  CHECK(text.find("elementwise v1: production: 4 elements per thread") != std::string::npos);
  CHECK(text.find("Times need a GPU") != std::string::npos);
}

// The profile of one launch of `version` of `family` on a problem of n elements (the runner's
// sizes are larger than this test needs).
std::vector<pn::cuda::emu::LaunchProfile> profile(const std::string& family, int version, int64_t n) {
  const wb::Family* f = nullptr;
  for (const wb::Family* candidate : wb::families())
    if (candidate->name == family) f = candidate;
  REQUIRE(f != nullptr);
  std::unique_ptr<wb::BenchCase> c = f->bench(version, n);
  pn::cuda::emu::set_profiling(true);
  std::vector<pn::cuda::emu::LaunchProfile> out;
  {
    pn::cuda::emu::ProfileCapture capture;
    c->launch(nullptr);
    REQUIRE(cudaDeviceSynchronize() == cudaSuccess);
    out = capture.launches();
  }
  pn::cuda::emu::set_profiling(false);
  return out;
}

// The moved/compulsory ratio of launches taken together.
double moved_ratio(const std::vector<pn::cuda::emu::LaunchProfile>& launches) {
  uint64_t moved = 0, compulsory = 0;
  for (const pn::cuda::emu::LaunchProfile& p : launches) {
    moved += p.bytes_moved();
    compulsory += p.compulsory_bytes();
  }
  return static_cast<double>(moved) / static_cast<double>(compulsory);
}

TEST_CASE("workbench: the versions promoted in issue 17 beat the kernels they replaced on the profile") {
  // softmax: the register version reads x once (v1), the three-pass one three times (v2).
  CHECK(moved_ratio(profile("softmax", 1, 1024)) == doctest::Approx(1.0));
  CHECK(moved_ratio(profile("softmax", 2, 1024)) == doctest::Approx(2.0));
  // max_pool k = 2: 16-byte loads of whole window rows (v1) against lanes 8 bytes apart (v2;
  // 2.4x since math::max_window_argmax keeps its running maximum in a register, 4.4x when it
  // reloaded it through the index).
  const std::vector<pn::cuda::emu::LaunchProfile> pool = profile("max_pool", 1, 16384);
  REQUIRE(pool.size() == 1);
  CHECK(pool[0].global_load.units == pool[0].global_load.min_units);
  CHECK(moved_ratio(pool) < 1.2);
  CHECK(moved_ratio(profile("max_pool", 2, 16384)) > 2.0);
  // norm statistics of 4 groups of 4104: split across blocks (2 chunks x 4 groups) against one
  // block per group.
  const std::vector<pn::cuda::emu::LaunchProfile> split = profile("norm_stats", 1, 16416);
  REQUIRE(split.size() == 2);  // the chunks, then their merge
  CHECK(split[0].grid[0] * split[0].grid[1] == 8);
  CHECK(profile("norm_stats", 2, 16416).at(0).grid[0] == 4);
  // channels-last statistics of [2, 256, 32]: lanes along the channels (v1) read whole sectors,
  // each byte once; the first kernel (v2) walked each channel with lanes 32 elements apart, one
  // 32-byte sector per 4-byte element.
  const std::vector<pn::cuda::emu::LaunchProfile> cl1 = profile("norm_stats_cl", 1, 16384),
                                                  cl2 = profile("norm_stats_cl", 2, 16384);
  REQUIRE(cl1.size() == 2);  // 4 splits x 1 tile, then their merge
  CHECK(cl1[0].grid[0] * cl1[0].grid[1] == 4);
  CHECK(cl1[0].global_load.units == cl1[0].global_load.min_units);
  CHECK(moved_ratio(cl1) < 1.2);
  CHECK(moved_ratio(cl2) > 6.0);
  // adam: one launch for 16 tensors (production, v1, and the parameter-table v2) against 16 (v3).
  CHECK(profile("adam", 1, 2048).size() == 1);
  CHECK(profile("adam", 2, 2048).size() == 1);
  CHECK(profile("adam", 3, 2048).size() == 16);
}

// Warp-level global accesses (loads and stores) of launches taken together.
uint64_t global_accesses(const std::vector<pn::cuda::emu::LaunchProfile>& launches) {
  uint64_t n = 0;
  for (const pn::cuda::emu::LaunchProfile& p : launches) n += p.global_load.warp_accesses + p.global_store.warp_accesses;
  return n;
}

TEST_CASE("workbench: binary and channel_sum, promoted, against the kernels before them on the profile") {
  // Per-channel bias add [2, 16, 512] + [1, 16, 1]: before issue 17 (v2) b is loaded per
  // element (a sector per warp access), 3 accesses per 32 elements; production (v1) holds b per
  // row and uses 16-byte accesses.
  const std::vector<pn::cuda::emu::LaunchProfile> v2 = profile("binary", 2, 16384), v1 = profile("binary", 1, 16384);
  REQUIRE(v1.size() == 1);
  REQUIRE(v2.size() == 1);
  CHECK(global_accesses(v2) == 3 * 16384 / 32);
  CHECK(global_accesses(v1) * 4 == global_accesses(v2));
  CHECK(moved_ratio(v1) < moved_ratio(v2));
  CHECK(v1[0].sector_efficiency() == doctest::Approx(1.0));
  CHECK(v1[0].site.find("elementwise.cu") != std::string::npos);  // the production kernel's twin
  // Per-channel sums of [2, 8, 4096]: production (v1) two chunks per channel, then the merge,
  // reading every byte once; before issue 17 (v2) one block per channel.
  CHECK(profile("channel_sum", 2, 65536).at(0).grid[0] == 8);
  const std::vector<pn::cuda::emu::LaunchProfile> split = profile("channel_sum", 1, 65536);
  REQUIRE(split.size() == 2);
  CHECK(split[0].grid[0] * split[0].grid[1] == 16);
  CHECK(split[0].sector_efficiency() == doctest::Approx(1.0));
  CHECK(moved_ratio(split) == doctest::Approx(1.0).epsilon(0.01));
}

// The launches of f(g, a, b, out) on a tiny geometry, profiled (the bench case's 16 channels
// cost a minute under the sanitizers' unoptimised build).
template <class F>
std::vector<pn::cuda::emu::LaunchProfile> profile_conv(F f, const pn::kernels::ConvGeom& g, int64_t a, int64_t b,
                                                       int64_t out) {
  float *da = nullptr, *db = nullptr, *dout = nullptr;
  REQUIRE(cudaMalloc(reinterpret_cast<void**>(&da), a * sizeof(float)) == cudaSuccess);
  REQUIRE(cudaMalloc(reinterpret_cast<void**>(&db), b * sizeof(float)) == cudaSuccess);
  REQUIRE(cudaMalloc(reinterpret_cast<void**>(&dout), out * sizeof(float)) == cudaSuccess);
  REQUIRE(cudaMemset(da, 0, a * sizeof(float)) == cudaSuccess);
  REQUIRE(cudaMemset(db, 0, b * sizeof(float)) == cudaSuccess);
  pn::cuda::emu::set_profiling(true);
  std::vector<pn::cuda::emu::LaunchProfile> launches;
  {
    pn::cuda::emu::ProfileCapture capture;
    f(g, da, db, dout, nullptr);
    REQUIRE(cudaDeviceSynchronize() == cudaSuccess);
    launches = capture.launches();
  }
  pn::cuda::emu::set_profiling(false);
  for (float* p : {da, db, dout}) REQUIRE(cudaFree(p) == cudaSuccess);
  return launches;
}

TEST_CASE("workbench: the implicit-GEMM convolutions are our kernels; backward weight splits its reduction") {
  // Version 1 is cuDNN: under the emulator a library call, no kernel of ours to profile.
  CHECK(profile("conv3d_bwd_weight", 1, 4096).empty());
  // [1, 2 -> 3, 2x4x4], 3x3x3, pad 1: x 64, w 162, y 96 floats.
  pn::kernels::ConvGeom g;
  g.N = 1, g.C_in = 2, g.C_out = 3;
  for (int d = 0; d < 3; ++d) g.in[d] = d ? 4 : 2, g.k[d] = 3, g.pad[d] = 1, g.out[d] = g.in[d];
  for (const auto& p : {profile_conv(pn::cuda::conv_igemm_forward, g, 64, 162, 96),
                        profile_conv(pn::cuda::conv_igemm_backward_input, g, 96, 162, 64)}) {
    REQUIRE(p.size() == 1);
    CHECK(p[0].site.find("conv_igemm.cu") != std::string::npos);
    CHECK(p[0].instrumented());
    CHECK(p[0].grid[2] == 1);
  }
  // dw is 3 x 54 (2 tiles of 32 columns), K = 32 (2 slices of 16): 2 splits, then their sum.
  const auto w = profile_conv(pn::cuda::conv_igemm_backward_weight, g, 64, 96, 162);
  REQUIRE(w.size() == 2);
  CHECK(w[0].grid[0] * w[0].grid[1] == 2);
  CHECK(w[0].grid[2] == 2);
  CHECK(w[1].site.find("conv_igemm.cu") != std::string::npos);
}

TEST_CASE("workbench: unknown families and versions are refused by name") {
  CHECK_THROWS_WITH_AS(wb::run("softmaxx", 0), doctest::Contains("no kernel family 'softmaxx'"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(wb::run("elementwise", 7), doctest::Contains("has versions 1..2; there is no version 7"),
                       std::invalid_argument);
}
