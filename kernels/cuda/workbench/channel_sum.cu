// Workbench family "channel_sum": the per-channel sum of a float32 tensor [N, C, S] (S the
// spatial volume), out[c] = sum over n, s of x[n, c, s] accumulated in double: what a batch
// norm's or a convolution's bias gradient needs. In numbered versions:
//   1  production (kernels/cuda/reduce.cu sum_reduce over axes {0, 2}): one output per channel,
//      so one block of 256 threads per channel (C blocks), each element's offset rebuilt by
//      64-bit divisions over the reduced dims
//   2  split across blocks, two stages: block (split, c) sums chunk `split` of channel c's N S
//      elements row by row (a row = the S contiguous elements of one n; the row's offset once
//      per row, lanes starting at the 32-byte boundary below the chunk's part of the row so a
//      warp's accesses cover whole sectors), merges its threads by warp shuffles (one barrier)
//      into a double partial [split][c]; one thread per channel then adds its splits in order.
//      One launch when a channel fits one chunk
// The check compares each version with the CPU's sum in long double on sizes around warp,
// block and chunk boundaries, within 1e-6 of the sum of |x| (the orders of addition differ).
#include <cmath>
#include <cstdio>

#include "kernels/cuda/device.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/reduce.h"
#include "kernels/cuda/workbench/buffers.h"
#include "kernels/cuda/workbench/family.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {
namespace workbench {

namespace {

constexpr unsigned kThreads = 256;
constexpr int64_t kChunk = 4096;  // elements of a channel per block (16 per thread)
constexpr int64_t kMaxSplits = 1024;
constexpr int64_t kMaxGridY = 65535;

struct ChannelGeom {
  int64_t n = 0, c = 0, s = 0;
};

// The block's sum of v (every thread calls it); valid in thread 0.
__device__ __forceinline__ double block_sum(double v, double* warp_sums) {
  for (unsigned delta = 16; delta > 0; delta >>= 1) v += __shfl_down_sync(0xffffffffu, v, delta);
  if (threadIdx.x % 32 == 0) warp_sums[threadIdx.x / 32] = v;
  __syncthreads();
  v = 0;
  if (threadIdx.x < 32) {
    v = threadIdx.x < blockDim.x / 32 ? warp_sums[threadIdx.x] : 0.0;
    for (unsigned delta = 16; delta > 0; delta >>= 1) v += __shfl_down_sync(0xffffffffu, v, delta);
  }
  return v;
}

// This thread's share of elements [first, end) of channel c (index j = n S + s): for each
// row n the chunk touches, the row's part [lo, hi) is walked from the 32-byte boundary below
// x[row + lo] (lanes before lo idle), so a warp's loads start on a sector.
__device__ __forceinline__ double thread_share(const float* x, const ChannelGeom& g, int64_t c, int64_t first,
                                               int64_t end) {
  double acc = 0;
  if (first >= end) return acc;
  for (int64_t n = first / g.s; n * g.s < end; ++n) {
    const float* row = x + (n * g.c + c) * g.s;  // row n of channel c
    const int64_t lo = first > n * g.s ? first - n * g.s : 0, hi = end < (n + 1) * g.s ? end - n * g.s : g.s;
    const int64_t start = lo - static_cast<int64_t>((reinterpret_cast<uintptr_t>(row + lo) % 32) / sizeof(float));
    for (int64_t s = start + threadIdx.x; s < hi; s += blockDim.x)
      if (s >= lo) acc += row[s];
  }
  return acc;
}

// Stage 1: block (split, c); with one split it writes out[c], else partials[split][c].
__global__ void channel_split_kernel(const float* x, ChannelGeom g, int64_t chunk, float* out, double* partials) {
  PN_SHARED(double[kThreads / 32], warp_sums);
  const int64_t size = g.n * g.s, first = static_cast<int64_t>(blockIdx.x) * chunk;
  const int64_t end = first + chunk < size ? first + chunk : size;
  for (int64_t c = blockIdx.y; c < g.c; c += gridDim.y) {
    const double v = block_sum(thread_share(x, g, c, first, end), warp_sums);
    if (threadIdx.x == 0 && gridDim.x == 1) out[c] = static_cast<float>(v);
    else if (threadIdx.x == 0) partials[blockIdx.x * g.c + c] = v;
    __syncthreads();  // the next channel overwrites the slots
  }
}

// Stage 2: one thread per channel adds its splits' partials in order (reads coalesced over c).
__global__ void channel_merge_kernel(const double* partials, int64_t channels, unsigned splits, float* out) {
  for (int64_t c = global_index(); c < channels; c += grid_stride()) {
    double v = 0;
    for (unsigned k = 0; k < splits; ++k) v += partials[k * channels + c];
    out[c] = static_cast<float>(v);
  }
}

using ChannelLauncher = void (*)(const float* x, float* out, const ChannelGeom& g, cudaStream_t stream);

void launch_v1(const float* x, float* out, const ChannelGeom& g, cudaStream_t stream) {
  kernels::ReduceGeom r;
  r.ndim = 3;
  r.shape[0] = g.n;
  r.shape[1] = g.c;
  r.shape[2] = g.s;
  r.reduce[0] = r.reduce[2] = true;
  sum_reduce(x, out, r, stream);
}

void launch_v2(const float* x, float* out, const ChannelGeom& g, cudaStream_t stream) {
  const int64_t size = g.n * g.s;
  if (g.c <= 0) return;
  ErrorScope scope("workbench channel_sum v2", g.c);
  int64_t splits = (size + kChunk - 1) / kChunk;
  splits = splits < 1 ? 1 : splits > kMaxSplits ? kMaxSplits : splits;
  const int64_t chunk = (size + splits - 1) / splits;
  const dim3 grid(static_cast<unsigned>(splits), static_cast<unsigned>(g.c < kMaxGridY ? g.c : kMaxGridY));
  if (splits == 1) {
    launch(channel_split_kernel, grid, dim3(kThreads), 0, stream, x, g, chunk, out, static_cast<double*>(nullptr));
    return;
  }
  double* partials = nullptr;
  PN_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&partials),
                                sizeof(double) * static_cast<size_t>(splits * g.c), stream));
  launch(channel_split_kernel, grid, dim3(kThreads), 0, stream, x, g, chunk, out, partials);
  launch(channel_merge_kernel, grid_for(g.c, kThreads), kThreads, 0, stream, static_cast<const double*>(partials), g.c,
         static_cast<unsigned>(splits), out);
  PN_CUDA_CHECK(cudaFreeAsync(partials, stream));
}

constexpr ChannelLauncher kLaunchers[] = {launch_v1, launch_v2};

std::string check_version(int version) {
  const ChannelGeom geoms[] = {{1, 1, 1}, {2, 3, 31}, {3, 5, 1001}, {1, 33, 257}, {2, 4, 8195}, {5, 2, 4099},
                               {7, 3, 1}};
  unsigned seed = 90;
  for (const ChannelGeom& g : geoms) {
    const std::vector<float> x = random_values<float>(g.n * g.c * g.s, seed++, -1, 2);
    std::vector<long double> want(static_cast<size_t>(g.c), 0), magnitude(static_cast<size_t>(g.c), 0);
    for (int64_t i = 0; i < g.n * g.c * g.s; ++i) {
      const size_t c = static_cast<size_t>(i / g.s % g.c);
      want[c] += x[static_cast<size_t>(i)];
      magnitude[c] += std::fabs(x[static_cast<size_t>(i)]);
    }
    DeviceBuffer<float> dx(x), dout(g.c);
    kLaunchers[version - 1](dx.get(), dout.get(), g, nullptr);
    const std::vector<float> got = dout.download();
    for (size_t c = 0; c < got.size(); ++c) {
      const double err = std::fabs(static_cast<double>(static_cast<long double>(got[c]) - want[c]));
      if (!(err <= 1e-6 * static_cast<double>(magnitude[c]))) {
        char msg[200];
        std::snprintf(msg, sizeof msg, "[%lld, %lld, %lld]: out[%zu] = %.9g, the CPU gives %.9g",
                      static_cast<long long>(g.n), static_cast<long long>(g.c), static_cast<long long>(g.s), c,
                      static_cast<double>(got[c]), static_cast<double>(want[c]));
        return msg;
      }
    }
  }
  return "";
}

// [2, 8, S], S = n / 16: the bias gradient of an 8-channel layer over a batch of 2.
class ChannelCase : public BenchCase {
 public:
  ChannelCase(ChannelLauncher f, int64_t n)
      : f_(f), g_{2, 8, n / 16}, x_(random_values<float>(16 * g_.s, 7)), out_(8) {}
  void launch(cudaStream_t stream) override { f_(x_.get(), out_.get(), g_, stream); }
  double compulsory_bytes() const override { return 4.0 * static_cast<double>(x_.size() + out_.size()); }
  std::string problem() const override {
    return "per-channel sum of [2, 8, " + std::to_string(g_.s) + "] float32";
  }

 private:
  ChannelLauncher f_;
  ChannelGeom g_;
  DeviceBuffer<float> x_, out_;
};

std::unique_ptr<BenchCase> bench_version(int version, int64_t n) {
  return std::make_unique<ChannelCase>(kLaunchers[version - 1], n);
}

}  // namespace

const Family& channel_sum_family() {
  static const Family f{"channel_sum",
                        "out[c] = sum of x[n, c, s] over n and s, float32 in double (reduce.cu sum_reduce, axes {0, 2})",
                        {{1, "production: one block of 256 threads per channel, 64-bit divisions per element"},
                         {2, "split across blocks: chunks of 4096 walked by rows from sector boundaries, a merge stage"}},
                        check_version,
                        bench_version,
                        int64_t{1} << 26,
                        int64_t{1} << 16};
  return f;
}

}  // namespace workbench
}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda
