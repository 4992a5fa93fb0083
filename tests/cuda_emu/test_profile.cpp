// The emulator's memory-traffic profile (kernels/cuda/emu/profile.h) on kernels whose
// traffic is known (profile_kernels.h): sector efficiency of coalesced and strided copies,
// bytes moved against compulsory bytes, 32-way shared-memory bank conflicts, divergence;
// a production kernel through its profile twin; nothing recorded while the profile is off;
// and the PN_CUDA_EMU_PROFILE switch end to end (the test binary run again as a child).
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "emu_util.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/launch.h"
#include "profile_kernels.h"

using pn::cuda::emu::LaunchProfile;
using pn::cuda::emu::ProfileCapture;
using pn::test::DeviceArray;

namespace {

// Turns the profile on for a scope (and back to what it was).
struct ProfileOn {
  bool was = pn::cuda::emu::profiling();
  ProfileOn() { pn::cuda::emu::set_profiling(true); }
  ~ProfileOn() { pn::cuda::emu::set_profiling(was); }
};

// The one launch a capture saw.
LaunchProfile only_launch(const ProfileCapture& cap) {
  PN_CUDA_CHECK(cudaDeviceSynchronize());
  const std::vector<LaunchProfile> all = cap.launches();
  INFO(pn::cuda::emu::format_profiles(all));
  REQUIRE(all.size() == 1);
  return all[0];
}

// A kernel of this (uninstrumented) file: the profile sees the launch, not its accesses.
__global__ void plain_copy(const float* x, float* y, int n) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) y[i] = x[i];
}

constexpr int kN = 4096;  // 16 blocks of 256 threads: 128 warps

}  // namespace

TEST_CASE("profile: a coalesced copy uses every sector it touches and moves only compulsory bytes") {
  DeviceArray<float> x(pn::test::random_vector<float>(kN, 1)), y(kN);
  ProfileOn on;
  ProfileCapture cap;
  pn::test::profiled::copy_coalesced(x.get(), y.get(), kN, 256);
  const LaunchProfile p = only_launch(cap);
  CHECK(y.to_host() == x.to_host());
  CHECK(p.instrumented());
  CHECK(p.site.find("profile_kernels.cpp") != std::string::npos);
  CHECK(p.threads == kN);
  CHECK(p.warps == kN / 32);
  CHECK(p.global_load.warp_accesses == kN / 32);
  CHECK(p.global_load.lane_accesses == kN);
  CHECK(p.global_load.units == 4 * (kN / 32));  // 128 bytes per warp: 4 sectors
  CHECK(p.global_load.min_units == 4 * (kN / 32));
  CHECK(p.global_store.units == 4 * (kN / 32));
  CHECK(p.sector_efficiency() == doctest::Approx(1.0));
  CHECK(p.compulsory_read == 4 * kN);
  CHECK(p.compulsory_write == 4 * kN);
  CHECK(p.bytes_moved() == p.compulsory_bytes());
  CHECK(p.divergent_accesses == 0);
  CHECK(p.mean_active_lanes() == doctest::Approx(32.0));
  CHECK(p.shared_load.warp_accesses + p.shared_store.warp_accesses == 0);
}

TEST_CASE("profile: a strided copy's loads waste sectors in proportion to the stride") {
  for (int stride : {2, 8}) {
    CAPTURE(stride);
    DeviceArray<float> x(pn::test::random_vector<float>(int64_t{kN} * stride, 2)), y(kN);
    ProfileOn on;
    ProfileCapture cap;
    pn::test::profiled::copy_strided(x.get(), y.get(), kN, stride, 256);
    const LaunchProfile p = only_launch(cap);
    const std::vector<float> xs = x.to_host(), ys = y.to_host();
    for (int i = 0; i < kN; i += 97) CHECK(ys[i] == xs[static_cast<size_t>(i) * stride]);
    CHECK(p.global_load.units == uint64_t(4 * stride) * (kN / 32));
    CHECK(p.global_load.min_units == 4 * (kN / 32));
    CHECK(p.global_store.units == p.global_store.min_units);
    // Loads 4s sectors, stores 4, per warp; each needs 4.
    CHECK(p.sector_efficiency() == doctest::Approx(8.0 / (4.0 * stride + 4.0)));
    CHECK(p.compulsory_read == 4 * kN);  // only the floats read count as compulsory
    CHECK(static_cast<double>(p.bytes_moved()) / static_cast<double>(p.compulsory_bytes()) ==
          doctest::Approx((stride + 1) / 2.0));
  }
}

TEST_CASE("profile: column writes to a 32x32 shared tile are 32-way bank conflicts; padding removes them") {
  DeviceArray<float> x(pn::test::random_vector<float>(32 * 32, 3)), y(32 * 32);
  for (bool pad : {false, true}) {
    CAPTURE(pad);
    ProfileOn on;
    ProfileCapture cap;
    pn::test::profiled::shared_transpose(x.get(), y.get(), pad);
    const LaunchProfile p = only_launch(cap);
    const std::vector<float> xs = x.to_host(), ys = y.to_host();
    for (int r = 0; r < 32; ++r)
      for (int c = 0; c < 32; ++c) REQUIRE(ys[32 * r + c] == xs[32 * c + r]);  // a transpose
    CHECK(p.shared_store.warp_accesses == 32);
    CHECK(p.shared_store.min_units == 32);  // 32 distinct words each time: one wavefront
    CHECK(p.shared_store.units == (pad ? 32u : 32u * 32u));
    CHECK(p.shared_load.warp_accesses == 32);
    CHECK(p.shared_load.units == 32);  // row reads: 32 banks, no conflict
    CHECK(p.shared_efficiency() == doctest::Approx(pad ? 1.0 : 64.0 / (32.0 * 32 + 32)));
    CHECK(p.barriers == 1);
    CHECK(p.sector_efficiency() == doctest::Approx(1.0));  // the global side is coalesced
  }
}

TEST_CASE("profile: lanes that skip an access show as divergence") {
  DeviceArray<float> x(pn::test::random_vector<float>(kN, 4)), y(kN);
  ProfileOn on;
  ProfileCapture cap;
  pn::test::profiled::copy_even_lanes(x.get(), y.get(), kN, 256);
  const LaunchProfile p = only_launch(cap);
  CHECK(p.global_load.warp_accesses == kN / 32);
  CHECK(p.global_load.lane_accesses == kN / 2);
  CHECK(p.divergent_accesses == 2 * (kN / 32));  // every load and every store
  CHECK(p.mean_active_lanes() == doctest::Approx(16.0));
  CHECK(p.global_load.units == 4 * (kN / 32));  // 64 useful bytes spread over 4 sectors
  CHECK(p.global_load.min_units == 2 * (kN / 32));
}

TEST_CASE("profile: a production kernel is measured through its twin and computes the same") {
  const std::vector<float> xs = pn::test::random_vector<float>(kN, 5);
  DeviceArray<float> x(xs), y_plain(kN), y_twin(kN);
  pn::cuda::unary(pn::math::Unary::Relu, x.get(), y_plain.get(), kN, 0.f, 0.f, nullptr);
  ProfileOn on;
  ProfileCapture cap;
  pn::cuda::unary(pn::math::Unary::Relu, x.get(), y_twin.get(), kN, 0.f, 0.f, nullptr);
  const LaunchProfile p = only_launch(cap);
  CHECK(y_twin.to_host() == y_plain.to_host());
  CHECK(p.instrumented());
  CHECK(p.site.find("elementwise.cu") != std::string::npos);
  CHECK(p.scope.find("relu") != std::string::npos);
  CHECK(p.compulsory_read == 4 * kN);
  CHECK(p.compulsory_write == 4 * kN);
  CHECK(p.sector_efficiency() == doctest::Approx(1.0));
  CHECK(p.bytes_moved() == p.compulsory_bytes());
}

TEST_CASE("profile: off, nothing is recorded; an uninstrumented kernel shows without memory figures") {
  DeviceArray<float> x(pn::test::random_vector<float>(kN, 6)), y(kN);
  {
    ProfileCapture cap;
    pn::cuda::emu::set_profiling(false);
    pn::test::profiled::copy_coalesced(x.get(), y.get(), kN, 256);
    pn::cuda::unary(pn::math::Unary::Relu, x.get(), y.get(), kN, 0.f, 0.f, nullptr);
    PN_CUDA_CHECK(cudaDeviceSynchronize());
    CHECK(cap.launches().empty());
  }
  ProfileOn on;
  ProfileCapture cap;
  pn::cuda::launch(plain_copy, kN / 256, 256, 0, nullptr, x.get(), y.get(), kN);
  const LaunchProfile p = only_launch(cap);
  CHECK(!p.instrumented());
  CHECK(p.threads == kN);
  CHECK(pn::cuda::emu::format_profiles({p}).find("not instrumented") != std::string::npos);
}

// The twins share the plain build's host services (runtime.h: PN_CUDA_HOST_ABI), so an error
// raised inside a twin is the CudaError callers catch, naming the op's ErrorScope.
TEST_CASE("profile: a production kernel's error while profiling is the usual CudaError") {
  std::vector<float> host(64, 1.f);
  ProfileOn on;
  try {
    pn::cuda::unary(pn::math::Unary::Relu, host.data(), host.data(), 64, 0.f, 0.f, nullptr);  // host memory
    FAIL("a launch on host memory must throw");
  } catch (const pn::cuda::CudaError& e) {
    CHECK(std::string(e.what()).find("relu[64]") != std::string::npos);
  }
}

// The child of the next test: runs only when that test starts this binary again.
TEST_CASE("profile: child run for the environment switch") {
  if (!std::getenv("PN_PROFILE_TEST_CHILD")) return;
  DeviceArray<float> x(pn::test::random_vector<float>(kN, 7)), y(kN);
  for (int i = 0; i < 3; ++i) pn::test::profiled::copy_strided(x.get(), y.get(), kN / 2, 2, 128);
  PN_CUDA_CHECK(cudaDeviceSynchronize());
}

namespace {

// Runs the child test case above in a new process with PN_CUDA_EMU_PROFILE=`mode`; its report.
std::string child_report(const std::string& mode) {
  const std::string report = "profile_report_" + std::to_string(::getpid()) + ".txt";
  const std::string cmd = "PN_PROFILE_TEST_CHILD=1 PN_CUDA_EMU_PROFILE=" + mode + " PN_CUDA_EMU_PROFILE_FILE=" + report +
                          " /proc/" + std::to_string(::getpid()) +
                          "/exe -tc='profile: child run for the environment switch' > /dev/null 2>&1";
  REQUIRE(std::system(cmd.c_str()) == 0);
  std::ifstream in(report);
  std::stringstream text;
  text << in.rdbuf();
  std::remove(report.c_str());
  return text.str();
}

}  // namespace

TEST_CASE("profile: PN_CUDA_EMU_PROFILE=1 on any program writes a table per launch site at exit") {
  const std::string text = child_report("1");
  INFO(text);
  CHECK(text.find("PN_CUDA_EMU_PROFILE: 3 kernel launches profiled, added up per launch site") != std::string::npos);
  CHECK(text.find("profile_kernels.cpp") != std::string::npos);
  // One row for the three launches: count 3, loads at 50 %, stores at 100 %.
  CHECK(text.find("     3        16     128   50.0%  100.0%") != std::string::npos);
}

TEST_CASE("profile: PN_CUDA_EMU_PROFILE=launches writes a row per launch") {
  const std::string text = child_report("launches");
  INFO(text);
  CHECK(text.find("PN_CUDA_EMU_PROFILE: 3 kernel launches profiled\n") != std::string::npos);
  size_t rows = 0;
  for (size_t at = 0; (at = text.find("     1        16     128   50.0%  100.0%", at)) != std::string::npos; ++at) ++rows;
  CHECK(rows == 3);
}

// GCC compiles several unary ops (sqrt's errno path, sign, clamp, ...) with the store duplicated
// into the arms of a per-element branch; nvcc predicates one store. The grouping by array
// (profile_recorder.cpp) must not report that as divergence or split sectors.
TEST_CASE("profile: a production kernel's branches on elements are not divergence") {
  DeviceArray<float> x(pn::test::random_vector<float>(kN, 8)), y(kN);
  for (int op = 0; op <= static_cast<int>(pn::math::Unary::Reciprocal); ++op) {
    CAPTURE(op);
    ProfileOn on;
    ProfileCapture cap;
    pn::cuda::unary(static_cast<pn::math::Unary>(op), x.get(), y.get(), kN, 0.1f, 0.5f, nullptr);
    const LaunchProfile p = only_launch(cap);
    CHECK(p.divergent_accesses == 0);
    CHECK(p.global_store.units == 4 * (kN / 32));
    CHECK(p.sector_efficiency() == doctest::Approx(1.0));
  }
}
