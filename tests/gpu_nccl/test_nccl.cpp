// NCCL collectives on GPU memory between 2 MPI ranks (one GPU each), checked against the
// MPI results on the host. Runs only where 2 or more GPUs exist (run_with_gpus.sh).
#include <cuda_runtime.h>
#include <doctest/doctest.h>

#include <vector>

#include "nn/communicator.h"

using namespace pn::nn;

TEST_CASE("NCCL all-reduce and broadcast on device buffers agree with MPI on the host") {
  auto host = world_communicator();
  REQUIRE(host->size() >= 2);
  auto gpu = gpu_communicator(host);
  CHECK(gpu->backend() == "nccl");
  const int64_t n = 1000003;  // odd, large enough for several NCCL chunks
  std::vector<float> h(n);
  for (int64_t i = 0; i < n; ++i) h[i] = static_cast<float>((i % 97) * (host->rank() + 1)) * 0.25f;
  std::vector<float> expect = h;
  host->allreduce_sum(expect.data(), n);
  float* d = nullptr;
  REQUIRE(cudaMalloc(&d, n * sizeof(float)) == cudaSuccess);
  cudaMemcpy(d, h.data(), n * sizeof(float), cudaMemcpyHostToDevice);
  gpu->allreduce_sum(d, n);
  cudaMemcpy(h.data(), d, n * sizeof(float), cudaMemcpyDeviceToHost);
  int64_t bad = 0;
  for (int64_t i = 0; i < n; ++i) bad += h[i] != expect[i];
  CHECK(bad == 0);
  int64_t token = host->rank() == 0 ? 4242 : 0;
  int64_t* dt = nullptr;
  REQUIRE(cudaMalloc(&dt, sizeof token) == cudaSuccess);
  cudaMemcpy(dt, &token, sizeof token, cudaMemcpyHostToDevice);
  gpu->broadcast(dt, sizeof token, 0);
  cudaMemcpy(&token, dt, sizeof token, cudaMemcpyDeviceToHost);
  CHECK(token == 4242);
  cudaFree(d);
  cudaFree(dt);
}
