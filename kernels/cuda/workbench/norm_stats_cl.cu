// Workbench family "norm_stats_cl": batch- and instance-norm statistics of a channels-last
// float32 tensor [N, S, C] (per-group mean and biased variance, accumulated in double), in
// numbered versions.
//   1  production (kernels/cuda/norm_channels_last.cuh, through norm_stats): block (split, tile
//      of 32 channels, sample) reads rows of the [rows, C] matrix with its lanes along the
//      channels (32 / width rows per warp when a tile is narrower), each thread a stream of rows
//      of one channel; a block merges its slots per channel in order (one barrier), a second
//      launch merges the splits (none when a group fits one split)
//   2  the first channels-last kernel (issue 18, before): norm.cu's channels-first split kernel
//      with elements addressed through math::norm_element_offset, so a warp's 32 lanes read
//      32 elements C apart (one 32-byte sector each)
// The check runs both on batch and instance geometries with C below, at and above a warp (1, 5,
// 32, 33, 70) and groups that span one and several splits, with an offset mean (x in [3, 7]),
// against the CPU's channels-last statistics (kernels/cpu/norm_channels_last.cpp): relative and
// absolute tolerance 1e-6 (the merge orders differ).
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
constexpr int64_t kChunk = 4096;  // elements of a group per block, as production's channels-first split

struct Moments {
  double count, mean, m2;
};

// Version 2, stage 1: block (split, grp) walks elements [split chunk, (split + 1) chunk) of its
// group (offsets C apart), threads' moments merged by warp shuffles and one shared slot per warp.
__global__ void strided_split_kernel(const float* x, NormGeom g, int64_t chunk, double* partials) {
  PN_SHARED(Moments[kThreads / 32], warp_moments);
  const unsigned t = threadIdx.x;
  const int64_t groups = math::norm_groups(g), size = math::norm_group_size(g);
  const int64_t first = static_cast<int64_t>(blockIdx.x) * chunk, end = first + chunk < size ? first + chunk : size;
  const int64_t grp = blockIdx.y;
  math::MomentAcc acc;
  for (int64_t j = first + t; j < end; j += blockDim.x)
    acc.add(static_cast<double>(x[math::norm_element_offset(g, grp, j / g.s, j % g.s)]));
  Moments m{static_cast<double>(acc.count), acc.mean(), math::moments_m2(acc)};
  for (unsigned delta = 16; delta > 0; delta >>= 1) {
    const double n = __shfl_down_sync(0xffffffffu, m.count, delta);
    const double mu = __shfl_down_sync(0xffffffffu, m.mean, delta);
    const double m2 = __shfl_down_sync(0xffffffffu, m.m2, delta);
    math::merge_moments(m.count, m.mean, m.m2, n, mu, m2);
  }
  if (t % 32 == 0) warp_moments[t / 32] = m;
  __syncthreads();
  if (t != 0) return;
  m = warp_moments[0];
  for (unsigned w = 1; w < blockDim.x / 32; ++w)
    math::merge_moments(m.count, m.mean, m.m2, warp_moments[w].count, warp_moments[w].mean, warp_moments[w].m2);
  const int64_t at = static_cast<int64_t>(blockIdx.x) * groups + grp, plane = gridDim.x * groups;
  partials[at] = m.count;
  partials[plane + at] = m.mean;
  partials[2 * plane + at] = m.m2;
}

// Version 2, stage 2: each group's splits merged in order.
__global__ void strided_merge_kernel(const double* partials, int64_t groups, unsigned splits, float* mean, float* var) {
  const int64_t plane = splits * groups;
  for (int64_t grp = global_index(); grp < groups; grp += grid_stride()) {
    Moments m{0, 0, 0};
    for (unsigned k = 0; k < splits; ++k) {
      const int64_t at = k * groups + grp;
      math::merge_moments(m.count, m.mean, m.m2, partials[at], partials[plane + at], partials[2 * plane + at]);
    }
    mean[grp] = static_cast<float>(m.mean);
    var[grp] = static_cast<float>(math::moments_var(m.count, m.m2));
  }
}

using StatsLauncher = void (*)(const float* x, const NormGeom& g, float* mean, float* var, cudaStream_t stream);

void launch_v1(const float* x, const NormGeom& g, float* mean, float* var, cudaStream_t stream) {
  norm_stats(x, g, mean, var, stream);
}

void launch_v2(const float* x, const NormGeom& g, float* mean, float* var, cudaStream_t stream) {
  const int64_t groups = math::norm_groups(g), size = math::norm_group_size(g);
  if (groups <= 0) return;
  ErrorScope scope("workbench norm_stats_cl v2", groups);
  const int64_t want = (size + kChunk - 1) / kChunk;
  const unsigned splits = static_cast<unsigned>(want < 1 ? 1 : want > 1024 ? 1024 : want);
  double* partials = nullptr;
  PN_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&partials),
                                3 * sizeof(double) * splits * static_cast<size_t>(groups), stream));
  launch(strided_split_kernel, dim3(splits, static_cast<unsigned>(groups)), dim3(kThreads), 0, stream, x, g,
         (size + splits - 1) / splits, partials);
  launch(strided_merge_kernel, grid_for(groups, kThreads), kThreads, 0, stream, static_cast<const double*>(partials),
         groups, splits, mean, var);
  PN_CUDA_CHECK(cudaFreeAsync(partials, stream));
}

constexpr StatsLauncher kLaunchers[] = {launch_v1, launch_v2};

std::string check_version(int version) {
  const NormGeom geoms[] = {{2, 5, 1001, false, true}, {3, 33, 37, false, true}, {2, 32, 4099, false, true},
                            {1, 1, 9000, false, true}, {3, 70, 129, true, true},  {2, 5, 3000, true, true},
                            {1, 2, 1, false, true},    {2, 3, 0, false, true}};
  unsigned seed = 71;
  for (const NormGeom& g : geoms) {
    const int64_t n = g.n * g.c * g.s, groups = math::norm_groups(g);
    const std::vector<float> x = random_values<float>(n, seed++, 3.0, 7.0);
    std::vector<float> mean(static_cast<size_t>(groups)), var(static_cast<size_t>(groups));
    cpu::norm_stats(x.data(), g, mean.data(), var.data());
    DeviceBuffer<float> dx(x), dmean(groups), dvar(groups);
    kLaunchers[version - 1](dx.get(), g, dmean.get(), dvar.get(), nullptr);
    const std::string what = std::string(g.per_instance ? "instance" : "batch") + " norm channels-last [" +
                             std::to_string(g.n) + ", " + std::to_string(g.s) + ", " + std::to_string(g.c) + "]";
    std::string failure = compare(dmean.download(), mean, 1e-6, 1e-6, what + " mean");
    if (failure.empty()) failure = compare(dvar.download(), var, 1e-6, 1e-6, what + " var");
    if (!failure.empty()) return failure;
  }
  return "";
}

// Batch-norm statistics of channels-last [2, n / 64, 32]: 32 groups (the U-Net's first level).
class StatsClCase : public BenchCase {
 public:
  StatsClCase(StatsLauncher f, int64_t n)
      : f_(f), g_{2, 32, n / 64, false, true}, x_(random_values<float>(64 * (n / 64), 5, 3, 7)), mean_(32), var_(32) {}
  void launch(cudaStream_t stream) override { f_(x_.get(), g_, mean_.get(), var_.get(), stream); }
  double compulsory_bytes() const override { return (64.0 * static_cast<double>(g_.s) + 64) * sizeof(float); }
  std::string problem() const override {
    return "batch-norm statistics of channels-last [2, " + std::to_string(g_.s) + ", 32] float32 (32 groups)";
  }

 private:
  StatsLauncher f_;
  NormGeom g_;
  DeviceBuffer<float> x_, mean_, var_;
};

std::unique_ptr<BenchCase> bench_version(int version, int64_t n) {
  return std::make_unique<StatsClCase>(kLaunchers[version - 1], n);
}

}  // namespace

const Family& norm_stats_cl_family() {
  static const Family f{
      "norm_stats_cl",
      "batch/instance-norm mean and variance per group of a channels-last tensor, float32 in double (norm.cu)",
      {{1, "production: lanes along the channels (whole lines per warp access), slots merged per channel in order"},
       {2, "before: the channels-first split kernel through norm_element_offset (lanes C elements apart)"}},
      check_version,
      bench_version,
      int64_t{1} << 26,
      int64_t{1} << 16};
  return f;
}

}  // namespace workbench
}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda
