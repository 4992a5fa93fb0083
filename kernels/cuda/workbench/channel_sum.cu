// Workbench family "channel_sum": the per-channel sum of a float32 tensor [N, C, S] (S the
// spatial volume), out[c] = sum over n, s of x[n, c, s] accumulated in double: what a batch
// norm's or a convolution's bias gradient needs. In numbered versions:
//   1  production (kernels/cuda/reduce.cu sum_reduce over axes {0, 2}; promoted from this
//      workbench in issue 17): split across blocks, two stages: block (chunk, c) sums a chunk of
//      4096 of channel c's N S elements row by row (the row's offset once per row, lanes from the
//      32-byte boundary below the chunk's part of the row, so a warp's accesses cover whole
//      sectors), merges its threads by warp shuffles (one barrier) into a double partial
//      [chunk][c]; a second launch adds each channel's chunks in order (none with one chunk)
//   2  before issue 17 (reduce.cu's column kernel on this geometry): one block of 256 threads per
//      channel (C blocks), each element's offset by two 64-bit divisions, a shared-memory tree
//      with a barrier per level
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

struct ChannelGeom {
  int64_t n = 0, c = 0, s = 0;
};

// Before issue 17's promotion (reduce.cu's column kernel on this geometry): block c sums
// channel c; thread t takes elements j = t, t + 256, ... of its N S, each at offset
// (j / S) C S + c S + j % S (two 64-bit divisions per element); the block's 256 double
// partials meet in a shared-memory tree with a barrier per level, the last warp by shuffles.
__global__ void one_block_per_channel_kernel(const float* x, ChannelGeom g, float* out) {
  PN_SHARED(double[kThreads], partial);
  const unsigned t = threadIdx.x;
  for (int64_t c = blockIdx.x; c < g.c; c += gridDim.x) {
    double acc = 0;
    for (int64_t j = t; j < g.n * g.s; j += blockDim.x) acc += x[(j / g.s) * g.c * g.s + c * g.s + j % g.s];
    partial[t] = acc;
    __syncthreads();
    for (unsigned s = kThreads / 2; s >= 32; s >>= 1) {
      if (t < s) partial[t] += partial[t + s];
      __syncthreads();
    }
    if (t < 32) {
      double v = partial[t];
      for (unsigned delta = 16; delta > 0; delta >>= 1) v += __shfl_down_sync(0xffffffffu, v, delta);
      if (t == 0) out[c] = static_cast<float>(v);
    }
    __syncthreads();  // the next channel overwrites partial
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
  if (g.c <= 0) return;
  ErrorScope scope("workbench channel_sum v2", g.c);
  launch(one_block_per_channel_kernel, grid_for(g.c, 1), kThreads, 0, stream, x, g, out);
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
                        {{1, "production: split across blocks, chunks of 4096 walked by rows from sector boundaries, a merge stage"},
                         {2, "before issue 17: one block of 256 threads per channel, 64-bit divisions per element, a tree"}},
                        check_version,
                        bench_version,
                        int64_t{1} << 26,
                        int64_t{1} << 16};
  return f;
}

}  // namespace workbench
}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda
