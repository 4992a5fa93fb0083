// The workbench's runner (workbench.h): the family list, checks, and the two ways of measuring
// (CUDA events on a GPU, the memory-traffic profile under the emulator).
#include "kernels/cuda/workbench/workbench.h"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

#include "kernels/cuda/check.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {
namespace workbench {

namespace {

const Family& find_family(const std::string& name) {
  std::string known;
  for (const Family* f : families()) {
    if (f->name == name) return *f;
    known += (known.empty() ? "" : ", ") + f->name;
  }
  throw std::invalid_argument("bench kernels: no kernel family '" + name + "' on the workbench (families: " + known +
                              ")");
}

#if defined(PN_CUDA_EMU)
// One launch of the case with the profile on.
void measure(BenchCase& c, VersionReport& r) {
  const bool was = emu::profiling();
  emu::set_profiling(true);
  {
    emu::ProfileCapture capture;
    c.launch(nullptr);
    PN_CUDA_CHECK(cudaDeviceSynchronize());
    r.profile = capture.launches();
  }
  emu::set_profiling(was);
}
#else
// Median of kReps launches, each after the L2 cache is flushed (a memset of twice its size).
void measure(BenchCase& c, VersionReport& r) {
  constexpr int kReps = 20;
  int dev = 0, l2 = 0, clock_khz = 0, bus_bits = 0;
  PN_CUDA_CHECK(cudaGetDevice(&dev));
  PN_CUDA_CHECK(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, dev));
  PN_CUDA_CHECK(cudaDeviceGetAttribute(&clock_khz, cudaDevAttrMemoryClockRate, dev));
  PN_CUDA_CHECK(cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, dev));
  const size_t flush_bytes = std::max<size_t>(2 * static_cast<size_t>(l2), size_t{1} << 20);
  void* flush = nullptr;
  PN_CUDA_CHECK(cudaMalloc(&flush, flush_bytes));
  cudaEvent_t start, stop;
  PN_CUDA_CHECK(cudaEventCreate(&start));
  PN_CUDA_CHECK(cudaEventCreate(&stop));
  c.launch(nullptr);  // warm-up
  std::vector<float> ms;
  for (int i = 0; i < kReps; ++i) {
    PN_CUDA_CHECK(cudaMemsetAsync(flush, i, flush_bytes, nullptr));
    PN_CUDA_CHECK(cudaEventRecord(start, nullptr));
    c.launch(nullptr);
    PN_CUDA_CHECK(cudaEventRecord(stop, nullptr));
    PN_CUDA_CHECK(cudaEventSynchronize(stop));
    float t = 0;
    PN_CUDA_CHECK(cudaEventElapsedTime(&t, start, stop));
    ms.push_back(t);
  }
  (void)cudaEventDestroy(start);
  (void)cudaEventDestroy(stop);
  (void)cudaFree(flush);
  std::nth_element(ms.begin(), ms.begin() + kReps / 2, ms.end());
  r.ms = ms[kReps / 2];
  r.gbps = r.compulsory_bytes / (r.ms * 1e-3) / 1e9;
  r.peak_gbps = 2.0 * clock_khz * 1e3 * (bus_bits / 8.0) / 1e9;  // double data rate
}
#endif

VersionReport run_version(const Family& f, const Version& v) {
  VersionReport r;
  r.family = f.name;
  r.version = v.number;
  r.summary = v.summary;
  r.check_failure = f.check(v.number);
#if defined(PN_CUDA_EMU)
  const int64_t n = f.emu_elements;
#else
  const int64_t n = f.gpu_elements;
#endif
  std::unique_ptr<BenchCase> c = f.bench(v.number, n);
  r.problem = c->problem();
  r.compulsory_bytes = c->compulsory_bytes();
  r.flops = c->flops();
  measure(*c, r);
  return r;
}

}  // namespace

std::vector<const Family*> families() {
  return {&elementwise_family(),     &binary_family(),           &reduce_family(),        &channel_sum_family(),
          &softmax_family(),         &norm_stats_family(),       &norm_stats_cl_family(), &adam_family(),
          &copy_box_family(),        &max_pool_family(),         &norm_apply_family(),    &norm_backward_family(),
          &conv3d_family(),          &conv3d_bwd_data_family(),  &conv3d_bwd_weight_family()};
}

std::vector<VersionReport> run(const std::string& family, int version) {
  std::vector<const Family*> chosen = family.empty() ? families() : std::vector<const Family*>{&find_family(family)};
  std::vector<VersionReport> out;
  for (const Family* f : chosen) {
    bool found = false;
    for (const Version& v : f->versions)
      if (version == 0 || v.number == version) {
        out.push_back(run_version(*f, v));
        found = true;
      }
    if (!found)
      throw std::invalid_argument("bench kernels: family " + f->name + " has versions 1.." +
                                  std::to_string(f->versions.size()) + "; there is no version " +
                                  std::to_string(version));
  }
  return out;
}

std::string format(const std::vector<VersionReport>& reports) {
  std::string s;
  char line[256];
  for (const VersionReport& r : reports) {
    s += r.family + " v" + std::to_string(r.version) + ": " + r.summary + "\n";
    s += "  check against the CPU: " + (r.check_failure.empty() ? std::string("ok") : "FAILED: " + r.check_failure) +
         "\n";
    std::snprintf(line, sizeof line, "  problem: %s (%.3f MB compulsory)\n", r.problem.c_str(),
                  r.compulsory_bytes / 1e6);
    s += line;
#if defined(PN_CUDA_EMU)
    s += emu::format_profiles(r.profile);
#else
    std::snprintf(line, sizeof line, "  %.4f ms per launch (median of 20, L2 flushed), %.0f GB/s of %.0f GB/s peak (%.0f %%)\n",
                  r.ms, r.gbps, r.peak_gbps, 100.0 * r.gbps / r.peak_gbps);
    s += line;
    if (r.flops > 0) {
      std::snprintf(line, sizeof line, "  %.2f TFLOP/s (%.3g GFLOP per launch)\n", r.flops / (r.ms * 1e-3) / 1e12,
                    r.flops / 1e9);
      s += line;
    }
#endif
  }
#if defined(PN_CUDA_EMU)
  s += "Times need a GPU: these are the emulator's memory-traffic profiles (kernels/cuda/README.md). On a GPU,\n"
       "`penumbra bench kernels` times each version with CUDA events after an L2 flush.\n";
#endif
  return s;
}

}  // namespace workbench
}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda
