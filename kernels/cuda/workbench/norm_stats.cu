// Workbench family "norm_stats": batch- and instance-norm statistics (per-group mean and biased
// variance, accumulated in double) of a float32 tensor [N, C, S], in numbered versions.
//   1  production (kernels/cuda/norm.cu norm_stats): split across blocks, one per chunk of 4096
//      elements of a group; warp-shuffle merges of the threads' moments (one barrier); a second
//      launch merges each group's chunks in order (none when a group fits one chunk)
//   2  the production kernel before issue 17: one block per group, a shared-memory tree of
//      moments with a barrier per level; row and position of every element by 64-bit division
// The check runs every version on batch and instance geometries whose groups span one chunk,
// several chunks and a ragged last chunk, with an offset mean (x in [3, 7]), against the CPU's
// sequential statistics: relative and absolute tolerance 1e-6 (the merge orders differ).
#include "kernels/cpu/norm.h"
#include "kernels/cuda/device.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/norm.h"
#include "kernels/cuda/workbench/buffers.h"
#include "kernels/cuda/workbench/family.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {
namespace workbench {

namespace {

using math::NormGeom;
constexpr unsigned kThreads = 256;

__global__ void stats_one_block_kernel(const float* x, NormGeom g, float* mean, float* var) {
  PN_SHARED(double[kThreads], cnt);
  PN_SHARED(double[kThreads], mu);
  PN_SHARED(double[kThreads], m2);
  const unsigned t = threadIdx.x;
  const int64_t groups = math::norm_groups(g), size = math::norm_group_size(g);
  for (int64_t grp = blockIdx.x; grp < groups; grp += gridDim.x) {
    math::MomentAcc acc;
    for (int64_t j = t; j < size; j += blockDim.x)
      acc.add(static_cast<double>(x[math::norm_row_offset(g, grp, j / g.s) + j % g.s]));
    cnt[t] = static_cast<double>(acc.count);
    mu[t] = acc.mean();
    m2[t] = math::moments_m2(acc);
    __syncthreads();
    for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
      if (t < s) math::merge_moments(cnt[t], mu[t], m2[t], cnt[t + s], mu[t + s], m2[t + s]);
      __syncthreads();
    }
    if (t == 0) {
      mean[grp] = static_cast<float>(mu[0]);
      var[grp] = static_cast<float>(math::moments_var(cnt[0], m2[0]));
    }
    __syncthreads();
  }
}

using StatsLauncher = void (*)(const float* x, const NormGeom& g, float* mean, float* var, cudaStream_t stream);

void launch_v1(const float* x, const NormGeom& g, float* mean, float* var, cudaStream_t stream) {
  norm_stats(x, g, mean, var, stream);
}

void launch_v2(const float* x, const NormGeom& g, float* mean, float* var, cudaStream_t stream) {
  if (math::norm_groups(g) <= 0) return;
  ErrorScope scope("workbench norm_stats v2", math::norm_groups(g));
  launch(stats_one_block_kernel, grid_for(math::norm_groups(g), 1), kThreads, 0, stream, x, g, mean, var);
}

constexpr StatsLauncher kLaunchers[] = {launch_v1, launch_v2};

std::string check_version(int version) {
  const NormGeom geoms[] = {{3, 5, 1001, false}, {2, 7, 37, false}, {4, 3, 4099, false}, {1, 2, 1, false},
                            {3, 5, 1001, true},  {2, 3, 9000, true}, {2, 2, 0, false}};
  unsigned seed = 61;
  for (const NormGeom& g : geoms) {
    const int64_t n = g.n * g.c * g.s, groups = math::norm_groups(g);
    const std::vector<float> x = random_values<float>(n, seed++, 3.0, 7.0);
    std::vector<float> mean(static_cast<size_t>(groups)), var(static_cast<size_t>(groups));
    cpu::norm_stats(x.data(), g, mean.data(), var.data());
    DeviceBuffer<float> dx(x), dmean(groups), dvar(groups);
    kLaunchers[version - 1](dx.get(), g, dmean.get(), dvar.get(), nullptr);
    const std::string what = std::string(g.per_instance ? "instance" : "batch") + " norm [" + std::to_string(g.n) +
                             ", " + std::to_string(g.c) + ", " + std::to_string(g.s) + "]";
    std::string failure = compare(dmean.download(), mean, 1e-6, 1e-6, what + " mean");
    if (failure.empty()) failure = compare(dvar.download(), var, 1e-6, 1e-6, what + " var");
    if (!failure.empty()) return failure;
  }
  return "";
}

// Batch-norm statistics of [2, 4, n / 8]: 4 groups of n / 4 elements.
class StatsCase : public BenchCase {
 public:
  StatsCase(StatsLauncher f, int64_t n)
      : f_(f), g_{2, 4, n / 8, false}, x_(random_values<float>(8 * (n / 8), 5, 3, 7)), mean_(4), var_(4) {}
  void launch(cudaStream_t stream) override { f_(x_.get(), g_, mean_.get(), var_.get(), stream); }
  double compulsory_bytes() const override { return (8.0 * static_cast<double>(g_.s) + 8) * sizeof(float); }
  std::string problem() const override {
    return "batch-norm statistics of [2, 4, " + std::to_string(g_.s) + "] float32 (4 groups)";
  }

 private:
  StatsLauncher f_;
  NormGeom g_;
  DeviceBuffer<float> x_, mean_, var_;
};

std::unique_ptr<BenchCase> bench_version(int version, int64_t n) {
  return std::make_unique<StatsCase>(kLaunchers[version - 1], n);
}

}  // namespace

const Family& norm_stats_family() {
  static const Family f{"norm_stats",
                        "batch/instance-norm mean and variance per group, float32 in double (kernels/cuda/norm.cu)",
                        {{1, "production: split across blocks (4096 elements each), shuffle merges, a merge stage"},
                         {2, "before issue 17: one block per group, shared-memory tree with a barrier per level"}},
                        check_version,
                        bench_version,
                        int64_t{1} << 26,
                        int64_t{1} << 16};
  return f;
}

}  // namespace workbench
}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda
