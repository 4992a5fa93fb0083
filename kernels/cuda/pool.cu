// Window ops on the GPU: one thread per output element (per input element for block_sum,
// which then sums its block in the CPU reference's order: bit-identical results). Max-pooling
// indexes in 32 bits when the tensors allow, and pools 2-wide windows of float rows (the
// study's k = stride = 2) two outputs per thread through 16-byte loads of the rows and 16-byte
// stores of the indices. Chosen on the kernel workbench (workbench/max_pool.cu, WORKBENCH.md).
// Every op is instantiated for float, double, __nv_bfloat16 and __half; 16-bit values are
// compared and summed as floats (block_sum rounds once, the scatter-add after each add).
// The pixel shuffle pair moves elements only (one thread per element of the big grid).
#include <string.h>

#include "kernels/cuda/device.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/storage_types.h"
#include "kernels/cuda/pool.h"
#include "kernels/cuda/vector_types.h"
#include "kernels/math/pool_math.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {

namespace {

using kernels::PoolGeom;
constexpr unsigned kBlock = 256;

// Any geometry, channels-last (g.interleaved channels per voxel, the fastest-varying index) too.
template <class T>
__global__ void max_pool_kernel(PoolGeom g, const T* x, T* y, int64_t* idx, int64_t n) {
  const int64_t ch = g.interleaved;
  for (int64_t i = global_index(); i < n; i += grid_stride()) {
    const int64_t c = i % ch, v = i / ch;
    const int64_t ow = v % g.out[2], oh = v / g.out[2] % g.out[1], od = v / (g.out[2] * g.out[1]) % g.out[0];
    const int64_t p = v / (g.out[2] * g.out[1] * g.out[0]);
    const T* xp = x + p * g.in[0] * g.in[1] * g.in[2] * ch;
    const int64_t best = math::max_window_argmax(g, xp + c, od, oh, ow) * ch + c;
    y[i] = xp[best];
    if (idx) idx[i] = best;
  }
}

// The pooling's sizes in 32 bits (every offset of the tensors below 2^31).
struct Pool32 {
  unsigned out0, out1, out2, in_volume;
};

// Every output index below 2^31: three 32-bit divisions per output instead of seven 64-bit ones.
template <class T>
__global__ void max_pool32_kernel(PoolGeom g, Pool32 s, const T* x, T* y, int64_t* idx, unsigned n) {
  for (unsigned i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    const unsigned q = i / s.out2, ow = i - q * s.out2, r = q / s.out1, oh = q - r * s.out1;
    const unsigned p = r / s.out0, od = r - p * s.out0;
    const T* xp = x + p * s.in_volume;
    const int64_t best = math::max_window_argmax(g, xp, od, oh, ow);
    y[i] = xp[best];
    if (idx) idx[i] = best;
  }
}

// k = stride = 2 along the last dim, float, in[2] a multiple of 4 and out[2] = in[2] / 2, 16-byte
// aligned: each thread makes 2 neighbouring outputs from one 16-byte load of 4 inputs per window
// row, and stores their 2 indices with one 16-byte store (the outputs: two 4-byte stores). The
// comparisons are those of math::max_window_argmax, in its order: the same maxima, the first
// one on ties.
__global__ void max_pool_k2_vec_kernel(PoolGeom g, Pool32 s, const float* x, float* y, int64_t* idx, unsigned units) {
  const unsigned pairs = s.out2 / 2;
  for (unsigned u = blockIdx.x * blockDim.x + threadIdx.x; u < units; u += gridDim.x * blockDim.x) {
    const unsigned q = u / pairs, ow0 = (u - q * pairs) * 2, r = q / s.out1, oh = q - r * s.out1;
    const unsigned p = r / s.out0, od = r - p * s.out0;
    const float* xp = x + p * s.in_volume;
    float best_v[2] = {0, 0};
    int64_t best[2] = {-1, -1};
    for (int64_t a = 0; a < g.k[0]; ++a)
      for (int64_t b = 0; b < g.k[1]; ++b) {
        const int64_t row = ((od * g.stride[0] + a) * g.in[1] + oh * g.stride[1] + b) * g.in[2] + 2 * ow0;
        const float4 in = ld128(reinterpret_cast<const float4*>(xp + row));
        const float v[4] = {in.x, in.y, in.z, in.w};
        for (int o = 0; o < 2; ++o)
          for (int c = 0; c < 2; ++c)
            if (best[o] < 0 || v[2 * o + c] > best_v[o]) {
              best[o] = row + 2 * o + c;
              best_v[o] = v[2 * o + c];
            }
      }
    const unsigned out = q * s.out2 + ow0;
    y[out] = best_v[0];
    y[out + 1] = best_v[1];
    if (!idx) continue;
    float4 bits;  // the two int64 indices, moved as 16 bytes
    memcpy(&bits, best, sizeof bits);
    st128(reinterpret_cast<float4*>(idx + out), bits);
  }
}

template <class T>
__global__ void gather_kernel(const T* x, const int64_t* idx, T* y, int64_t in_vol, int64_t out_vol, int64_t n) {
  for (int64_t i = global_index(); i < n; i += grid_stride()) y[i] = x[i / out_vol * in_vol + idx[i]];
}

template <class T>
__global__ void scatter_add_kernel(const T* y, const int64_t* idx, T* x, int64_t in_vol, int64_t out_vol, int64_t n) {
  for (int64_t i = global_index(); i < n; i += grid_stride()) atomic_add(x + i / out_vol * in_vol + idx[i], y[i]);
}

template <class T>
__global__ void upsample_kernel(PoolGeom g, const T* x, T* y, int64_t n) {
  for (int64_t i = global_index(); i < n; i += grid_stride()) {
    const int64_t ow = i % g.out[2], oh = i / g.out[2] % g.out[1], od = i / (g.out[2] * g.out[1]) % g.out[0];
    const int64_t p = i / (g.out[2] * g.out[1] * g.out[0]);
    y[i] = x[((p * g.in[0] + od / g.k[0]) * g.in[1] + oh / g.k[1]) * g.in[2] + ow / g.k[2]];
  }
}

template <class T>
__global__ void block_sum_kernel(PoolGeom g, const T* y, T* x, int64_t n) {
  for (int64_t i = global_index(); i < n; i += grid_stride()) {
    const int64_t iw = i % g.in[2], ih = i / g.in[2] % g.in[1], id = i / (g.in[2] * g.in[1]) % g.in[0];
    const int64_t p = i / (g.in[2] * g.in[1] * g.in[0]);
    using S = StorageType<T>;  // the sum in its compute type (float for 16-bit T), rounded once
    typename S::Compute acc = 0;
    for (int64_t a = 0; a < g.k[0]; ++a)
      for (int64_t b = 0; b < g.k[1]; ++b) {
        const T* src = y + ((p * g.out[0] + id * g.k[0] + a) * g.out[1] + ih * g.k[1] + b) * g.out[2] + iw * g.k[2];
        for (int64_t c = 0; c < g.k[2]; ++c) acc += S::to_compute(src[c]);
      }
    x[i] = S::from_compute(acc);
  }
}

// The offset in x (pixel_shuffle's input) of y's element i, y in NC[D]HW order.
__device__ inline int64_t shuffle_source(const PoolGeom& g, int64_t i) {
  const int64_t ow = i % g.out[2], oh = i / g.out[2] % g.out[1], od = i / (g.out[2] * g.out[1]) % g.out[0];
  const int64_t p = i / (g.out[2] * g.out[1] * g.out[0]);
  const int64_t phase = ((od % g.k[0]) * g.k[1] + oh % g.k[1]) * g.k[2] + ow % g.k[2];
  const int64_t plane = p * g.k[0] * g.k[1] * g.k[2] + phase;
  return ((plane * g.in[0] + od / g.k[0]) * g.in[1] + oh / g.k[1]) * g.in[2] + ow / g.k[2];
}

template <class T>
__global__ void pixel_shuffle_kernel(PoolGeom g, const T* x, T* y, int64_t n) {
  for (int64_t i = global_index(); i < n; i += grid_stride()) y[i] = x[shuffle_source(g, i)];
}

template <class T>
__global__ void pixel_unshuffle_kernel(PoolGeom g, const T* y, T* x, int64_t n) {
  for (int64_t i = global_index(); i < n; i += grid_stride()) x[shuffle_source(g, i)] = y[i];
}

}  // namespace

// Whether max_pool_k2_vec_kernel applies (see there).
template <class T>
bool k2_vector_path(const PoolGeom& g, const T* x, T* y, int64_t* idx) {
  const auto aligned = [](const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; };
  return sizeof(T) == 4 && g.k[2] == 2 && g.stride[2] == 2 && g.in[2] % 4 == 0 && 2 * g.out[2] == g.in[2] &&
         aligned(x) && aligned(y) && aligned(idx);
}

template <class T>
void max_pool_forward(const PoolGeom& g, const T* x, T* y, int64_t* idx, cudaStream_t stream) {
  PN_PROFILE_DISPATCH("max_pool_forward", max_pool_forward<T>, g, x, y, idx, stream);
  const int64_t n = g.planes * g.out_volume() * g.interleaved;
  if (n <= 0) return;
  const int64_t shape[4] = {g.planes, g.in[0], g.in[1], g.in[2]};
  ErrorScope scope("max_pool", shape, 4);
  constexpr int64_t kLimit = int64_t{1} << 31;
  if (g.interleaved != 1 || n >= kLimit || g.planes * g.in_volume() >= kLimit)
    return launch(max_pool_kernel<T>, grid_for(n, kBlock), kBlock, 0, stream, g, x, y, idx, n);
  const Pool32 s{static_cast<unsigned>(g.out[0]), static_cast<unsigned>(g.out[1]), static_cast<unsigned>(g.out[2]),
                 static_cast<unsigned>(g.in_volume())};
  if constexpr (sizeof(T) == 4) {
    if (k2_vector_path(g, x, y, idx))
      return launch(max_pool_k2_vec_kernel, grid_for(n / 2, kBlock), kBlock, 0, stream, g, s, x, y, idx,
                    static_cast<unsigned>(n / 2));
  }
  launch(max_pool32_kernel<T>, grid_for(n, kBlock), kBlock, 0, stream, g, s, x, y, idx, static_cast<unsigned>(n));
}

template <class T>
void index_gather(const T* x, const int64_t* idx, T* y, int64_t planes, int64_t in_vol, int64_t out_vol,
                  cudaStream_t stream) {
  PN_PROFILE_DISPATCH("index_gather", index_gather<T>, x, idx, y, planes, in_vol, out_vol, stream);
  const int64_t n = planes * out_vol;
  if (n <= 0) return;
  const int64_t shape[3] = {planes, in_vol, out_vol};
  ErrorScope scope("index_gather", shape, 3);
  launch(gather_kernel<T>, grid_for(n, kBlock), kBlock, 0, stream, x, idx, y, in_vol, out_vol, n);
}

template <class T>
void index_scatter_add(const T* y, const int64_t* idx, T* x, int64_t planes, int64_t in_vol, int64_t out_vol,
                       cudaStream_t stream) {
  PN_PROFILE_DISPATCH("index_scatter_add", index_scatter_add<T>, y, idx, x, planes, in_vol, out_vol, stream);
  const int64_t shape[3] = {planes, in_vol, out_vol};
  ErrorScope scope("index_scatter_add", shape, 3);
  fill(x, planes * in_vol, StorageType<T>::from_compute(0), stream);
  const int64_t n = planes * out_vol;
  if (n <= 0) return;
  launch(scatter_add_kernel<T>, grid_for(n, kBlock), kBlock, 0, stream, y, idx, x, in_vol, out_vol, n);
}

template <class T>
void upsample_nearest(const PoolGeom& g, const T* x, T* y, cudaStream_t stream) {
  PN_PROFILE_DISPATCH("upsample_nearest", upsample_nearest<T>, g, x, y, stream);
  const int64_t n = g.planes * g.out_volume();
  if (n <= 0) return;
  const int64_t shape[4] = {g.planes, g.in[0], g.in[1], g.in[2]};
  ErrorScope scope("upsample_nearest", shape, 4);
  launch(upsample_kernel<T>, grid_for(n, kBlock), kBlock, 0, stream, g, x, y, n);
}

template <class T>
void block_sum(const PoolGeom& g, const T* y, T* x, cudaStream_t stream) {
  PN_PROFILE_DISPATCH("block_sum", block_sum<T>, g, y, x, stream);
  const int64_t n = g.planes * g.in_volume();
  if (n <= 0) return;
  const int64_t shape[4] = {g.planes, g.out[0], g.out[1], g.out[2]};
  ErrorScope scope("block_sum", shape, 4);
  launch(block_sum_kernel<T>, grid_for(n, kBlock), kBlock, 0, stream, g, y, x, n);
}

// One thread per element of the big grid of g (pixel_shuffle's y), named `op` in errors.
template <class Kernel, class T>
void launch_over_big_grid(const char* op, Kernel kernel, const PoolGeom& g, const T* from, T* to, cudaStream_t stream) {
  const int64_t n = g.planes * g.out_volume();
  if (n <= 0) return;
  const int64_t shape[4] = {g.planes, g.out[0], g.out[1], g.out[2]};
  ErrorScope scope(op, shape, 4);
  launch(kernel, grid_for(n, kBlock), kBlock, 0, stream, g, from, to, n);
}

template <class T>
void pixel_shuffle(const PoolGeom& g, const T* x, T* y, cudaStream_t stream) {
  PN_PROFILE_DISPATCH("pixel_shuffle", pixel_shuffle<T>, g, x, y, stream);
  launch_over_big_grid("pixel_shuffle", pixel_shuffle_kernel<T>, g, x, y, stream);
}

template <class T>
void pixel_unshuffle(const PoolGeom& g, const T* y, T* x, cudaStream_t stream) {
  PN_PROFILE_DISPATCH("pixel_unshuffle", pixel_unshuffle<T>, g, y, x, stream);
  launch_over_big_grid("pixel_unshuffle", pixel_unshuffle_kernel<T>, g, y, x, stream);
}

#define PN_INSTANTIATE(T)                                                                                       \
  template void max_pool_forward<T>(const PoolGeom&, const T*, T*, int64_t*, cudaStream_t);                     \
  template void index_gather<T>(const T*, const int64_t*, T*, int64_t, int64_t, int64_t, cudaStream_t);         \
  template void index_scatter_add<T>(const T*, const int64_t*, T*, int64_t, int64_t, int64_t, cudaStream_t);    \
  template void upsample_nearest<T>(const PoolGeom&, const T*, T*, cudaStream_t);                               \
  template void block_sum<T>(const PoolGeom&, const T*, T*, cudaStream_t);                                      \
  template void pixel_shuffle<T>(const PoolGeom&, const T*, T*, cudaStream_t);                                  \
  template void pixel_unshuffle<T>(const PoolGeom&, const T*, T*, cudaStream_t);
PN_INSTANTIATE(float)
PN_INSTANTIATE(double)
PN_INSTANTIATE(__nv_bfloat16)
PN_INSTANTIATE(__half)
#undef PN_INSTANTIATE

// The profile twins of the entry points (launch.h).
PN_PROFILE_TWIN("max_pool_forward", max_pool_forward<float>)
PN_PROFILE_TWIN("max_pool_forward", max_pool_forward<double>)
PN_PROFILE_TWIN("index_gather", index_gather<float>)
PN_PROFILE_TWIN("index_gather", index_gather<double>)
PN_PROFILE_TWIN("index_scatter_add", index_scatter_add<float>)
PN_PROFILE_TWIN("index_scatter_add", index_scatter_add<double>)
PN_PROFILE_TWIN("upsample_nearest", upsample_nearest<float>)
PN_PROFILE_TWIN("upsample_nearest", upsample_nearest<double>)
PN_PROFILE_TWIN("block_sum", block_sum<float>)
PN_PROFILE_TWIN("block_sum", block_sum<double>)
PN_PROFILE_TWIN("pixel_shuffle", pixel_shuffle<float>)
PN_PROFILE_TWIN("pixel_shuffle", pixel_shuffle<double>)
PN_PROFILE_TWIN("pixel_unshuffle", pixel_unshuffle<float>)
PN_PROFILE_TWIN("pixel_unshuffle", pixel_unshuffle<double>)

}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda

PN_PROFILE_TWIN_UNIT(pool)
