// Workbench family "reduce": the sum of all n elements of a float32 tensor (accumulated in
// double, as production does), in numbered versions.
//   1  production (kernels/cuda/reduce.cu sum_reduce over every axis): the split kernel of the
//      channel_sum family with one channel: chunks of 4096 elements on as many blocks (at most
//      1024), double partials added in order by a second launch. Before issue 17 a whole-tensor
//      sum ran on one block of 256 threads (channel_sum v2 with C = 1)
//   2  grid-wide, two stages: every block sums a grid-stride share (warp shuffles, one shared
//      slot per warp, one barrier) into a double partial; one block then sums the partials
// The check compares each version with the CPU's sum in long double on sizes around warp, block
// and grid boundaries (relative tolerance 1e-6 of the sum of |x|: the orders of addition differ).
#include <cmath>
#include <cstdio>
#include <random>

#include "kernels/cuda/check.h"
#include "kernels/cuda/device.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/reduce.h"
#include "kernels/cuda/workbench/family.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {
namespace workbench {

namespace {

constexpr unsigned kBlock = 256;

// The block's sum of v (every thread of the block calls it); valid in thread 0.
__device__ __forceinline__ double block_sum(double v, double* warp_sums) {
  for (unsigned delta = 16; delta > 0; delta >>= 1) v += __shfl_down_sync(0xffffffffu, v, delta);
  if (threadIdx.x % 32 == 0) warp_sums[threadIdx.x / 32] = v;
  __syncthreads();
  v = 0;
  if (threadIdx.x < 32) {
    v = threadIdx.x < kBlock / 32 ? warp_sums[threadIdx.x] : 0.0;
    for (unsigned delta = 16; delta > 0; delta >>= 1) v += __shfl_down_sync(0xffffffffu, v, delta);
  }
  return v;
}

__global__ void partial_sums_kernel(const float* x, int64_t n, double* partials) {
  PN_SHARED(double[kBlock / 32], warp_sums);
  double acc = 0;
  for (int64_t i = global_index(); i < n; i += grid_stride()) acc += x[i];
  acc = block_sum(acc, warp_sums);
  if (threadIdx.x == 0) partials[blockIdx.x] = acc;
}

__global__ void finish_kernel(const double* partials, unsigned count, float* out) {
  PN_SHARED(double[kBlock / 32], warp_sums);
  double acc = 0;
  for (unsigned i = threadIdx.x; i < count; i += blockDim.x) acc += partials[i];
  acc = block_sum(acc, warp_sums);
  if (threadIdx.x == 0) *out = static_cast<float>(acc);
}

using SumLauncher = void (*)(const float* x, float* out, int64_t n, cudaStream_t stream);

void launch_v1(const float* x, float* out, int64_t n, cudaStream_t stream) {
  kernels::ReduceGeom g;
  g.ndim = 1;
  g.shape[0] = n;
  g.reduce[0] = true;
  sum_reduce(x, out, g, stream);
}

void launch_v2(const float* x, float* out, int64_t n, cudaStream_t stream) {
  if (n <= 0) return;
  ErrorScope scope("workbench reduce v2", n);
  const unsigned blocks = grid_for(n, kBlock);
  double* partials = nullptr;
  PN_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&partials), sizeof(double) * blocks, stream));
  launch(partial_sums_kernel, blocks, kBlock, 0, stream, x, n, partials);
  launch(finish_kernel, 1u, kBlock, 0, stream, static_cast<const double*>(partials), blocks, out);
  PN_CUDA_CHECK(cudaFreeAsync(partials, stream));
}

constexpr SumLauncher kLaunchers[] = {launch_v1, launch_v2};

std::string check_version(int version) {
  std::mt19937 rng(29);
  std::uniform_real_distribution<float> u(-1.f, 2.f);
  for (int64_t n : {1, 31, 32, 33, 255, 256, 257, 4099, 65537}) {
    std::vector<float> x(static_cast<size_t>(n));
    long double want = 0, magnitude = 0;
    for (float& v : x) {
      v = u(rng);
      want += v;
      magnitude += std::fabs(v);
    }
    float *dx = nullptr, *dout = nullptr;
    PN_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&dx), x.size() * sizeof(float)));
    PN_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&dout), sizeof(float)));
    PN_CUDA_CHECK(cudaMemcpy(dx, x.data(), x.size() * sizeof(float), cudaMemcpyHostToDevice));
    PN_CUDA_CHECK(cudaMemset(dout, 0xff, sizeof(float)));  // NaN until written
    kLaunchers[version - 1](dx, dout, n, nullptr);
    float got = 0;
    PN_CUDA_CHECK(cudaMemcpy(&got, dout, sizeof(float), cudaMemcpyDeviceToHost));
    PN_CUDA_CHECK(cudaFree(dx));
    PN_CUDA_CHECK(cudaFree(dout));
    const double err = std::fabs(static_cast<double>(static_cast<long double>(got) - want));
    if (!(err <= 1e-6 * static_cast<double>(magnitude))) {
      char msg[160];
      std::snprintf(msg, sizeof msg, "n = %lld: sum %.9g, the CPU gives %.9g (error %.3g)", static_cast<long long>(n),
                    static_cast<double>(got), static_cast<double>(want), err);
      return msg;
    }
  }
  return "";
}

class SumCase : public BenchCase {
 public:
  SumCase(SumLauncher f, int64_t n) : f_(f), n_(n) {
    PN_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&x_), static_cast<size_t>(n) * sizeof(float)));
    PN_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&out_), sizeof(float)));
    PN_CUDA_CHECK(cudaMemset(x_, 0x3f, static_cast<size_t>(n) * sizeof(float)));
  }
  ~SumCase() override {
    (void)cudaFree(x_);
    (void)cudaFree(out_);
  }
  void launch(cudaStream_t stream) override { f_(x_, out_, n_, stream); }
  double compulsory_bytes() const override { return static_cast<double>(n_ + 1) * sizeof(float); }
  std::string problem() const override { return "sum of " + std::to_string(n_) + " float32"; }

 private:
  SumLauncher f_;
  int64_t n_;
  float* x_ = nullptr;
  float* out_ = nullptr;
};

std::unique_ptr<BenchCase> bench_version(int version, int64_t n) {
  return std::make_unique<SumCase>(kLaunchers[version - 1], n);
}

}  // namespace

const Family& reduce_family() {
  static const Family f{"reduce",
                        "the sum of all elements, float32 accumulated in double (kernels/cuda/reduce.cu)",
                        {{1, "production: split into chunks of 4096 on as many blocks, then a merge launch"},
                         {2, "grid-wide two stages: a double partial per block (shuffles, 1 barrier), then one block"}},
                        check_version,
                        bench_version,
                        int64_t{1} << 26,
                        int64_t{1} << 16};
  return f;
}

}  // namespace workbench
}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda
