// Hand-made kernels with known memory traffic (profile_kernels.h), compiled instrumented.
#include "profile_kernels.h"

#include "kernels/cuda/launch.h"

namespace pn::test::profiled {

namespace {

__global__ void copy_kernel(const float* x, float* y, int n) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) y[i] = x[i];
}

__global__ void strided_kernel(const float* x, float* y, int n, int stride) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) y[i] = x[static_cast<int64_t>(i) * stride];
}

template <int Row>
__global__ void transpose_kernel(const float* x, float* y) {
  PN_SHARED(float[32][Row], tile);
  const unsigned lane = threadIdx.x;
  for (int j = 0; j < 32; ++j) tile[lane][j] = x[32 * j + lane];  // column writes
  __syncthreads();
  for (int j = 0; j < 32; ++j) y[32 * j + lane] = tile[j][lane];  // row reads
}

__global__ void even_lanes_kernel(const float* x, float* y, int n) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n && threadIdx.x % 2 == 0) y[i] = x[i];
}

unsigned blocks(int n, unsigned block) { return (static_cast<unsigned>(n) + block - 1) / block; }

}  // namespace

void copy_coalesced(const float* x, float* y, int n, unsigned block) {
  pn::cuda::launch(copy_kernel, blocks(n, block), block, 0, nullptr, x, y, n);
}
void copy_strided(const float* x, float* y, int n, int stride, unsigned block) {
  pn::cuda::launch(strided_kernel, blocks(n, block), block, 0, nullptr, x, y, n, stride);
}
void shared_transpose(const float* x, float* y, bool pad) {
  if (pad) pn::cuda::launch(transpose_kernel<33>, 1u, 32, 0, nullptr, x, y);
  else pn::cuda::launch(transpose_kernel<32>, 1u, 32, 0, nullptr, x, y);
}
void copy_even_lanes(const float* x, float* y, int n, unsigned block) {
  pn::cuda::launch(even_lanes_kernel, blocks(n, block), block, 0, nullptr, x, y, n);
}

}  // namespace pn::test::profiled
