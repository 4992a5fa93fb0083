// The emulator's device semantics, each checked against what CUDA defines, under every
// thread schedule: __syncthreads, shared memory, the index built-ins, warp shuffles and
// votes, atomics, and the launch checks (bad configurations, deadlocks, __trap).
#include <doctest/doctest.h>

#include <numeric>
#include <vector>

#include "emu_util.h"
#include "kernels/cuda/device.h"
#include "kernels/cuda/launch.h"

using pn::cuda::emu::Schedule;
using pn::test::DeviceArray;

namespace {

constexpr Schedule kSchedules[] = {Schedule::Forward, Schedule::Reverse, Schedule::Shuffle};

// Each thread publishes a value in shared memory, waits, then reads a neighbour's.
__global__ void rotate_through_shared(int* out, int shift) {
  PN_SHARED(int[1024], buf);
  const int t = static_cast<int>(threadIdx.x), n = static_cast<int>(blockDim.x);
  buf[t] = 1000 * static_cast<int>(blockIdx.x) + t;
  __syncthreads();
  out[blockIdx.x * blockDim.x + threadIdx.x] = buf[(t + shift) % n];
}

// Two phases separated by barriers inside a loop: every round reads what the previous wrote.
__global__ void prefix_sum_hillis_steele(const int* in, int* out) {
  PN_SHARED(int[2][512], buf);
  const unsigned t = threadIdx.x, n = blockDim.x;
  int cur = 0;
  buf[cur][t] = in[t];
  __syncthreads();
  for (unsigned step = 1; step < n; step *= 2) {
    buf[1 - cur][t] = buf[cur][t] + (t >= step ? buf[cur][t - step] : 0);
    cur = 1 - cur;
    __syncthreads();
  }
  out[t] = buf[cur][t];
}

__global__ void record_indices(unsigned* out) {
  const unsigned tl = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
  const unsigned bl = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
  const unsigned i = bl * blockDim.x * blockDim.y * blockDim.z + tl;
  out[4 * i + 0] = threadIdx.x + 100 * threadIdx.y + 10000 * threadIdx.z;
  out[4 * i + 1] = blockIdx.x + 100 * blockIdx.y + 10000 * blockIdx.z;
  out[4 * i + 2] = blockDim.x + 100 * blockDim.y + 10000 * blockDim.z;
  out[4 * i + 3] = gridDim.x + 100 * gridDim.y + 10000 * gridDim.z;
}

// Lane results of the four shuffles and three votes, 7 ints per thread.
__global__ void warp_ops(int* out) {
  const int t = static_cast<int>(threadIdx.x), lane = t % 32;
  const int v = 10 * t + 1;
  int* o = out + 7 * t;
  o[0] = __shfl_sync(0xffffffffu, v, 5);
  o[1] = __shfl_down_sync(0xffffffffu, v, 3);
  o[2] = __shfl_up_sync(0xffffffffu, v, 2, 16);
  o[3] = __shfl_xor_sync(0xffffffffu, v, 6);
  o[4] = static_cast<int>(__ballot_sync(0xffffffffu, lane % 3 == 0));
  o[5] = __any_sync(0xffffffffu, t == 37);
  o[6] = __all_sync(0xffffffffu, lane < 31);
}

__global__ void warp_sum_double(const double* x, double* out) {
  double v = x[threadIdx.x];
  for (int d = 16; d > 0; d /= 2) v += __shfl_xor_sync(0xffffffffu, v, d);
  out[threadIdx.x] = v;
}

__global__ void atomics(int* counter, float* fsum, int* imax, float* fmax, unsigned* cas_slot, const float* x, int n) {
  for (int64_t i = pn::cuda::global_index(); i < n; i += pn::cuda::grid_stride()) {
    atomicAdd(counter, 1);
    atomicAdd(fsum, x[i]);
    atomicMax(imax, static_cast<int>(x[i]));
    pn::cuda::atomic_max(fmax, x[i]);
    // Claim the slot once: only the first thread to try sees 0.
    if (atomicCAS(cas_slot, 0u, static_cast<unsigned>(i) + 1u) == 0u) atomicAdd(counter, 1000000);
  }
}

__global__ void read_unwritten_shared(float* out) {
  PN_SHARED(float[64], buf);
  out[threadIdx.x] = buf[threadIdx.x];
}

__global__ void barrier_in_divergent_code(int* out) {
  if (threadIdx.x < 16) {
    __syncthreads();
  } else {
    __syncwarp();  // the rest wait elsewhere: a real GPU would hang or misbehave
  }
  out[threadIdx.x] = 1;
}

__global__ void traps(int* out) {
  if (threadIdx.x == 3) __trap();
  out[threadIdx.x] = 1;
}

__global__ void noop(int*) {}

// Reverses each block's slice through dynamic shared memory (the launch's shared_bytes).
__global__ void reverse_dynamic_shared(const double* x, double* y) {
  PN_DYNAMIC_SHARED(double, buf);
  const unsigned t = threadIdx.x, n = blockDim.x, base = blockIdx.x * n;
  buf[t] = x[base + t];
  __syncthreads();
  y[base + t] = buf[n - 1 - t];
}

}  // namespace

TEST_CASE("__syncthreads orders shared-memory writes before reads, under every schedule") {
  const int block = 100, grid = 3;  // block not a multiple of the warp size
  for (Schedule s : kSchedules) {
    pn::cuda::emu::ScopedSchedule scoped(s, 7);
    DeviceArray<int> out(block * grid);
    pn::cuda::launch(rotate_through_shared, grid, block, 0, nullptr, out.get(), 37);
    const auto h = out.to_host();
    int wrong = 0;
    for (int b = 0; b < grid; ++b)
      for (int t = 0; t < block; ++t) wrong += h[b * block + t] != 1000 * b + (t + 37) % block;
    CHECK_MESSAGE(wrong == 0, "schedule " << pn::cuda::emu::schedule_name(s));
  }
}

TEST_CASE("barriers inside loops: Hillis-Steele prefix sum") {
  const int n = 300;
  std::vector<int> in(n);
  for (int i = 0; i < n; ++i) in[i] = (i * 7919) % 13 - 6;
  std::vector<int> want(n);
  std::partial_sum(in.begin(), in.end(), want.begin());
  for (Schedule s : kSchedules) {
    pn::cuda::emu::ScopedSchedule scoped(s, 3);
    DeviceArray<int> d_in(in), d_out(n);
    pn::cuda::launch(prefix_sum_hillis_steele, 1, n, 0, nullptr, d_in.get(), d_out.get());
    CHECK_MESSAGE(d_out.to_host() == want, "schedule " << pn::cuda::emu::schedule_name(s));
  }
}

TEST_CASE("threadIdx, blockIdx, blockDim and gridDim in 3-D launches") {
  const dim3 grid(3, 2, 2), block(5, 3, 2);
  const int threads = 5 * 3 * 2, blocks = 3 * 2 * 2;
  DeviceArray<unsigned> out(4 * threads * blocks);
  pn::cuda::launch(record_indices, grid, block, 0, nullptr, out.get());
  const auto h = out.to_host();
  for (unsigned bz = 0; bz < 2; ++bz)
    for (unsigned by = 0; by < 2; ++by)
      for (unsigned bx = 0; bx < 3; ++bx)
        for (unsigned tz = 0; tz < 2; ++tz)
          for (unsigned ty = 0; ty < 3; ++ty)
            for (unsigned tx = 0; tx < 5; ++tx) {
              const unsigned i = (bx + 3 * (by + 2 * bz)) * threads + tx + 5 * (ty + 3 * tz);
              CHECK(h[4 * i + 0] == tx + 100 * ty + 10000 * tz);
              CHECK(h[4 * i + 1] == bx + 100 * by + 10000 * bz);
              CHECK(h[4 * i + 2] == 5u + 100 * 3 + 10000 * 2);
              CHECK(h[4 * i + 3] == 3u + 100 * 2 + 10000 * 2);
            }
}

TEST_CASE("warp shuffles and votes follow CUDA's lane rules") {
  const int n = 64;
  for (Schedule s : kSchedules) {
    pn::cuda::emu::ScopedSchedule scoped(s, 11);
    DeviceArray<int> out(7 * n);
    pn::cuda::launch(warp_ops, 1, n, 0, nullptr, out.get());
    const auto h = out.to_host();
    for (int t = 0; t < n; ++t) {
      const int lane = t % 32, w0 = t - lane;
      auto val = [](int thread) { return 10 * thread + 1; };
      const int* o = h.data() + 7 * t;
      INFO("thread " << t << ", schedule " << pn::cuda::emu::schedule_name(s));
      CHECK(o[0] == val(w0 + 5));
      CHECK(o[1] == (lane + 3 < 32 ? val(t + 3) : val(t)));             // no source: own value
      CHECK(o[2] == (lane % 16 >= 2 ? val(t - 2) : val(t)));            // width 16: segments of 16
      CHECK(o[3] == val(w0 + (lane ^ 6)));
      unsigned ballot = 0;
      for (int l = 0; l < 32; l += 3) ballot |= 1u << l;
      CHECK(static_cast<unsigned>(o[4]) == ballot);
      CHECK(o[5] == (w0 == 32 ? 1 : 0));  // thread 37 sits in the second warp
      CHECK(o[6] == 0);                   // lane 31 votes false in every warp
    }
  }
}

TEST_CASE("butterfly reduction with __shfl_xor_sync on doubles") {
  const auto x = pn::test::random_vector<double>(32, 5);
  DeviceArray<double> d_x(x), d_out(32);
  pn::cuda::launch(warp_sum_double, 1, 32, 0, nullptr, d_x.get(), d_out.get());
  double sum = 0;
  for (double v : x) sum += v;
  for (double v : d_out.to_host()) CHECK(v == doctest::Approx(sum).epsilon(1e-14));
}

TEST_CASE("atomics from many blocks and a grid-stride loop") {
  const int n = 1000 + 37;
  std::vector<float> x(n);
  for (int i = 0; i < n; ++i) x[i] = static_cast<float>((i * 37) % 101 - 50);  // integers: float sums are exact
  DeviceArray<float> d_x(x);
  DeviceArray<int> counter(std::vector<int>{0}), imax(std::vector<int>{-1000});
  DeviceArray<float> fsum(std::vector<float>{0.f}), fmax(std::vector<float>{-1e30f});
  DeviceArray<unsigned> slot(std::vector<unsigned>{0u});
  pn::cuda::launch(atomics, 3, 128, 0, nullptr, counter.get(), fsum.get(), imax.get(), fmax.get(), slot.get(),
                   d_x.get(), n);
  float want_sum = 0, want_max = -1e30f;
  for (float v : x) { want_sum += v; want_max = std::max(want_max, v); }
  CHECK(counter.to_host()[0] == n + 1000000);
  CHECK(fsum.to_host()[0] == want_sum);
  CHECK(imax.to_host()[0] == static_cast<int>(want_max));
  CHECK(fmax.to_host()[0] == want_max);
  const unsigned claimed = slot.to_host()[0];
  CHECK(claimed >= 1u);
  CHECK(claimed <= static_cast<unsigned>(n));
}

TEST_CASE("shared memory nobody wrote reads as NaN") {
  DeviceArray<float> out(64);
  pn::cuda::launch(read_unwritten_shared, 1, 64, 0, nullptr, out.get());
  for (float v : out.to_host()) CHECK(std::isnan(v));
}

TEST_CASE("bad launches fail with a CudaError that names the problem") {
  DeviceArray<int> out(64);
  try {
    pn::cuda::launch(noop, 1, 2048, 0, nullptr, out.get());
    FAIL("a 2048-thread block was accepted");
  } catch (const pn::cuda::CudaError& e) {
    CHECK(e.code() == cudaErrorInvalidConfiguration);
    CHECK(std::string(e.what()).find("1024 threads") != std::string::npos);
  }
  try {
    pn::cuda::launch(barrier_in_divergent_code, 1, 64, 0, nullptr, out.get());
    PN_CUDA_CHECK(cudaDeviceSynchronize());  // kernel errors are asynchronous, as on a GPU
    FAIL("a barrier in divergent code was not caught");
  } catch (const pn::cuda::CudaError& e) {
    CHECK(e.code() == cudaErrorLaunchFailure);
    INFO(e.what());
    CHECK(std::string(e.what()).find("deadlock") != std::string::npos);
  }
  try {
    pn::cuda::launch(traps, 2, 32, 0, nullptr, out.get());
    PN_CUDA_CHECK(cudaDeviceSynchronize());
    FAIL("__trap was not reported");
  } catch (const pn::cuda::CudaError& e) {
    CHECK(std::string(e.what()).find("__trap") != std::string::npos);
  }
  // The emulator recovers: the next launch works.
  pn::cuda::launch(rotate_through_shared, 1, 64, 0, nullptr, out.get(), 1);
  CHECK(out.to_host()[63] == 0);
}

TEST_CASE("dynamic shared memory has the launch's size and is per block") {
  const int block = 96, grid = 3;
  const auto x = pn::test::random_vector<double>(block * grid, 9);
  DeviceArray<double> d_x(x), d_y(block * grid);
  pn::cuda::launch(reverse_dynamic_shared, grid, block, block * sizeof(double), nullptr, d_x.get(), d_y.get());
  const auto y = d_y.to_host();
  for (int b = 0; b < grid; ++b)
    for (int t = 0; t < block; ++t) CHECK(y[b * block + t] == x[b * block + block - 1 - t]);
  // Asking for more than the 48 KiB a block may have is a configuration error.
  CHECK_THROWS_AS(pn::cuda::launch(reverse_dynamic_shared, 1, 32, 64 * 1024, nullptr, d_x.get(), d_y.get()),
                  pn::cuda::CudaError);
}
