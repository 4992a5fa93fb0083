// Normalisation on the GPU. Statistics are split across blocks: each group's elements are cut
// into chunks of kStatsChunk, one block per (chunk, group) merges its threads' moments by warp
// shuffles, and a second stage merges a group's chunks in order (one launch when a group fits
// one chunk). Chosen on the kernel workbench (workbench/norm_stats.cu, WORKBENCH.md). The two
// sums of the backward run one block per group: each thread walks a strided share of the
// group's elements (row r = j / S, position j % S), then the block combines its shares in
// shared memory by a tree with a barrier after every level. The forward maps rows of S elements
// (statistics and affine parameters read once per row); the backward's dx is one thread per
// element.
#include "kernels/cuda/check.h"
#include "kernels/cuda/device.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/norm.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {

namespace {

using math::NormGeom;
constexpr unsigned kThreads = 256;  // a power of two: the trees halve evenly
constexpr unsigned kBlock = 256;
constexpr int64_t kStatsChunk = 4096;  // elements of a group per statistics block (16 per thread)
constexpr int64_t kMaxSplits = 1024;   // blocks per group at most
constexpr int64_t kMaxGridY = 65535;
constexpr int64_t kRowElementsPerThread = 8;  // the forward's rows

__device__ __forceinline__ int64_t group_element(const NormGeom& g, int64_t grp, int64_t j) {
  return math::norm_row_offset(g, grp, j / g.s) + j % g.s;
}

// The group of element e of [N, C, S].
__device__ __forceinline__ int64_t group_of(const NormGeom& g, int64_t e) {
  const int64_t c = e / g.s % g.c;
  return g.per_instance ? e / (g.s * g.c) * g.c + c : c;
}

// A group's moments in a split reduction: count, mean and m2 (sum of squared deviations).
struct Moments {
  double count, mean, m2;
};

// The merge of v over the warp (Chan et al., math::merge_moments): valid in lane 0.
__device__ __forceinline__ Moments warp_merge(Moments v) {
  for (unsigned delta = 16; delta > 0; delta >>= 1) {
    const double n = __shfl_down_sync(0xffffffffu, v.count, delta);
    const double mu = __shfl_down_sync(0xffffffffu, v.mean, delta);
    const double m2 = __shfl_down_sync(0xffffffffu, v.m2, delta);
    math::merge_moments(v.count, v.mean, v.m2, n, mu, m2);
  }
  return v;
}

// Statistics, stage 1: block (split, grp) takes elements [split * chunk, (split + 1) * chunk)
// of group grp (rows of S contiguous elements; the row and position are carried along, no
// division per element); each thread keeps shifted moments, the block merges them (warp
// shuffles, one shared slot per warp, one barrier). With one split the block writes the
// group's mean and variance, else its moments to the partials: counts, then means, then m2s,
// each [split][group] (so the merge stage reads them coalesced).
template <class T>
__global__ void stats_split_kernel(const T* x, NormGeom g, int64_t chunk, T* mean, T* var, double* partials) {
  PN_SHARED(Moments[kThreads / 32], warp_moments);
  const unsigned t = threadIdx.x, splits = gridDim.x;
  const int64_t groups = math::norm_groups(g), size = math::norm_group_size(g);
  const int64_t first = static_cast<int64_t>(blockIdx.x) * chunk, end = first + chunk < size ? first + chunk : size;
  for (int64_t grp = blockIdx.y; grp < groups; grp += gridDim.y) {
    math::MomentAcc acc;
    int64_t r = 0, pos = 0;
    if (first + t < end) r = (first + t) / g.s, pos = (first + t) % g.s;
    for (int64_t j = first + t; j < end; j += blockDim.x) {
      acc.add(static_cast<double>(x[math::norm_row_offset(g, grp, r) + pos]));
      for (pos += blockDim.x; pos >= g.s; pos -= g.s) ++r;
    }
    Moments m = warp_merge({static_cast<double>(acc.count), acc.mean(), math::moments_m2(acc)});
    if (t % 32 == 0) warp_moments[t / 32] = m;
    __syncthreads();
    if (t < 32) {
      m = t < blockDim.x / 32 ? warp_moments[t] : Moments{0, 0, 0};
      m = warp_merge(m);
      if (t == 0 && splits == 1) {
        mean[grp] = static_cast<T>(m.mean);
        var[grp] = static_cast<T>(math::moments_var(m.count, m.m2));
      } else if (t == 0) {
        const int64_t at = static_cast<int64_t>(blockIdx.x) * groups + grp, plane = splits * groups;
        partials[at] = m.count;
        partials[plane + at] = m.mean;
        partials[2 * plane + at] = m.m2;
      }
    }
    __syncthreads();  // the next group overwrites the slots
  }
}

// Statistics, stage 2: one thread per group merges its splits' moments in order.
template <class T>
__global__ void stats_merge_kernel(const double* partials, int64_t groups, unsigned splits, T* mean, T* var) {
  const int64_t plane = splits * groups;
  for (int64_t grp = global_index(); grp < groups; grp += grid_stride()) {
    Moments m{0, 0, 0};
    for (unsigned k = 0; k < splits; ++k) {
      const int64_t at = k * groups + grp;
      math::merge_moments(m.count, m.mean, m.m2, partials[at], partials[plane + at], partials[2 * plane + at]);
    }
    mean[grp] = static_cast<T>(m.mean);
    var[grp] = static_cast<T>(math::moments_var(m.count, m.m2));
  }
}

// One block row per row (n, c) of S contiguous elements (blockIdx.y, striding by gridDim.y):
// the row's statistics, inv_std and affine parameters are read and computed once, then its
// elements are mapped with norm_apply (the same double arithmetic as the CPU reference).
template <class T>
__global__ void forward_rows_kernel(const T* x, NormGeom g, const T* mean, const T* var, double eps, const T* gamma,
                                    const T* beta, T* y) {
  const int64_t rows = g.n * g.c;
  for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) {
    const int64_t c = r % g.c, grp = g.per_instance ? r : c;
    const double group_mean = mean[grp], inv_std = math::norm_inv_std(var[grp], eps);
    const double scale = gamma ? static_cast<double>(gamma[c]) : 1.0, shift = beta ? static_cast<double>(beta[c]) : 0.0;
    const T* xr = x + r * g.s;
    T* yr = y + r * g.s;
    for (int64_t i = global_index(); i < g.s; i += grid_stride())
      yr[i] = math::norm_apply(xr[i], group_mean, inv_std, scale, shift);
  }
}

template <class T>
__global__ void running_kernel(T* running_mean, T* running_var, const T* mean, const T* var, int64_t c,
                               double momentum, int64_t count) {
  for (int64_t i = global_index(); i < c; i += grid_stride()) {
    running_mean[i] = static_cast<T>(math::running_update(running_mean[i], mean[i], momentum));
    running_var[i] = static_cast<T>(math::running_update(running_var[i], math::unbiased_var(var[i], count), momentum));
  }
}

// sums[2 grp] = sum(gy), sums[2 grp + 1] = sum(gy * xhat) over the group.
template <class T>
__global__ void backward_sums_kernel(const T* x, const T* gy, NormGeom g, const T* mean, const T* var, double eps,
                                     double* sums) {
  PN_SHARED(double[kThreads], part_gy);       // each thread's share of sum(gy)
  PN_SHARED(double[kThreads], part_gy_xhat);  // and of sum(gy * xhat)
  const unsigned t = threadIdx.x;
  const int64_t groups = math::norm_groups(g), size = math::norm_group_size(g);
  for (int64_t grp = blockIdx.x; grp < groups; grp += gridDim.x) {
    const double group_mean = mean[grp], inv_std = math::norm_inv_std(var[grp], eps);
    double s_gy = 0, s_gy_xhat = 0;
    for (int64_t j = t; j < size; j += blockDim.x) {
      const int64_t e = group_element(g, grp, j);
      const double gy_e = gy[e];
      s_gy += gy_e;
      s_gy_xhat += gy_e * (static_cast<double>(x[e]) - group_mean) * inv_std;
    }
    part_gy[t] = s_gy;
    part_gy_xhat[t] = s_gy_xhat;
    __syncthreads();
    for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
      if (t < s) {
        part_gy[t] += part_gy[t + s];
        part_gy_xhat[t] += part_gy_xhat[t + s];
      }
      __syncthreads();
    }
    if (t == 0) {
      sums[2 * grp] = part_gy[0];
      sums[2 * grp + 1] = part_gy_xhat[0];
    }
    __syncthreads();
  }
}

template <class T>
__global__ void backward_dx_kernel(const T* x, const T* gy, NormGeom g, const T* mean, const T* var, double eps,
                                   const T* gamma, bool batch_stats, const double* sums, T* dx, int64_t n) {
  const double inv_m = 1.0 / static_cast<double>(math::norm_group_size(g));
  for (int64_t e = global_index(); e < n; e += grid_stride()) {
    const int64_t grp = group_of(g, e), c = e / g.s % g.c;
    const double group_mean = mean[grp], inv_std = math::norm_inv_std(var[grp], eps);
    const double scale = gamma ? static_cast<double>(gamma[c]) : 1.0;
    const double xhat = (static_cast<double>(x[e]) - group_mean) * inv_std;
    dx[e] = math::norm_backward_dx(gy[e], xhat, inv_std, scale, sums[2 * grp] * inv_m, sums[2 * grp + 1] * inv_m,
                                   batch_stats);
  }
}

// dbeta = sum(gy), dgamma = sum(gy xhat) per channel, adding the channel's groups in order.
template <class T>
__global__ void backward_affine_kernel(NormGeom g, const double* sums, T* dgamma, T* dbeta) {
  const int64_t per_channel = math::norm_groups(g) / g.c;
  for (int64_t c = global_index(); c < g.c; c += grid_stride()) {
    double s_gy = 0, s_gy_xhat = 0;
    for (int64_t k = 0; k < per_channel; ++k) {
      const int64_t grp = g.per_instance ? k * g.c + c : c;
      s_gy += sums[2 * grp];
      s_gy_xhat += sums[2 * grp + 1];
    }
    if (dbeta) dbeta[c] = static_cast<T>(s_gy);
    if (dgamma) dgamma[c] = static_cast<T>(s_gy_xhat);
  }
}

unsigned group_blocks(const NormGeom& g) { return grid_for(math::norm_groups(g), 1); }

// Blocks per group for the statistics: one per kStatsChunk elements, at most kMaxSplits.
unsigned stats_splits(int64_t group_size) {
  const int64_t splits = (group_size + kStatsChunk - 1) / kStatsChunk;
  return static_cast<unsigned>(splits < 1 ? 1 : splits > kMaxSplits ? kMaxSplits : splits);
}

}  // namespace

template <class T>
void norm_stats(const T* x, const NormGeom& g, T* mean, T* var, cudaStream_t stream) {
  PN_PROFILE_DISPATCH("norm_stats", norm_stats<T>, x, g, mean, var, stream);
  const int64_t groups = math::norm_groups(g), size = math::norm_group_size(g);
  if (groups <= 0) return;
  const int64_t shape[3] = {g.n, g.c, g.s};
  ErrorScope scope(g.per_instance ? "instance_norm_stats" : "batch_norm_stats", shape, 3);
  const unsigned splits = stats_splits(size);
  const int64_t chunk = (size + splits - 1) / splits;
  const dim3 grid(splits, static_cast<unsigned>(groups < kMaxGridY ? groups : kMaxGridY));
  if (splits == 1) {
    launch(stats_split_kernel<T>, grid, dim3(kThreads), 0, stream, x, g, chunk, mean, var,
           static_cast<double*>(nullptr));
    return;
  }
  double* partials = nullptr;
  PN_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&partials),
                                3 * sizeof(double) * splits * static_cast<size_t>(groups), stream));
  launch(stats_split_kernel<T>, grid, dim3(kThreads), 0, stream, x, g, chunk, mean, var, partials);
  launch(stats_merge_kernel<T>, grid_for(groups, kBlock), kBlock, 0, stream, static_cast<const double*>(partials),
         groups, splits, mean, var);
  PN_CUDA_CHECK(cudaFreeAsync(partials, stream));
}

template <class T>
void norm_forward(const T* x, const NormGeom& g, const T* mean, const T* var, double eps, const T* gamma,
                  const T* beta, T* y, cudaStream_t stream) {
  PN_PROFILE_DISPATCH("norm_forward", norm_forward<T>, x, g, mean, var, eps, gamma, beta, y, stream);
  const int64_t n = g.n * g.c * g.s;
  if (n <= 0) return;
  const int64_t shape[3] = {g.n, g.c, g.s};
  ErrorScope scope(g.per_instance ? "instance_norm" : "batch_norm", shape, 3);
  const int64_t rows = g.n * g.c;
  // kRowElementsPerThread elements of a row per thread: the row's four parameter loads amortised.
  const dim3 grid(grid_for((g.s + kRowElementsPerThread - 1) / kRowElementsPerThread, kBlock),
                  static_cast<unsigned>(rows < kMaxGridY ? rows : kMaxGridY));
  launch(forward_rows_kernel<T>, grid, dim3(kBlock), 0, stream, x, g, mean, var, eps, gamma, beta, y);
}

template <class T>
void norm_running_update(T* running_mean, T* running_var, const T* mean, const T* var, int64_t c, double momentum,
                         int64_t count, cudaStream_t stream) {
  PN_PROFILE_DISPATCH("norm_running_update", norm_running_update<T>,
                      running_mean, running_var, mean, var, c, momentum, count, stream);
  if (c <= 0) return;
  ErrorScope scope("norm_running_update", c);
  launch(running_kernel<T>, grid_for(c, kBlock), kBlock, 0, stream, running_mean, running_var, mean, var, c,
         momentum, count);
}

template <class T>
void norm_backward(const T* x, const T* gy, const NormGeom& g, const T* mean, const T* var, double eps,
                   const T* gamma, bool batch_stats, T* dx, T* dgamma, T* dbeta, cudaStream_t stream) {
  PN_PROFILE_DISPATCH("norm_backward", norm_backward<T>,
                      x, gy, g, mean, var, eps, gamma, batch_stats, dx, dgamma, dbeta, stream);
  const int64_t groups = math::norm_groups(g), n = g.n * g.c * g.s;
  if (groups <= 0) return;
  const int64_t shape[3] = {g.n, g.c, g.s};
  ErrorScope scope(g.per_instance ? "instance_norm_backward" : "batch_norm_backward", shape, 3);
  double* sums = nullptr;
  PN_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&sums), sizeof(double) * 2 * static_cast<size_t>(groups),
                                stream));
  launch(backward_sums_kernel<T>, group_blocks(g), kThreads, 0, stream, x, gy, g, mean, var, eps, sums);
  if (dx && n > 0)
    launch(backward_dx_kernel<T>, grid_for(n, kBlock), kBlock, 0, stream, x, gy, g, mean, var, eps, gamma,
           batch_stats, static_cast<const double*>(sums), dx, n);
  if (dgamma || dbeta)
    launch(backward_affine_kernel<T>, grid_for(g.c, kBlock), kBlock, 0, stream, g, static_cast<const double*>(sums),
           dgamma, dbeta);
  PN_CUDA_CHECK(cudaFreeAsync(sums, stream));
}

#define PN_INSTANTIATE(T)                                                                                        \
  template void norm_stats<T>(const T*, const NormGeom&, T*, T*, cudaStream_t);                                  \
  template void norm_forward<T>(const T*, const NormGeom&, const T*, const T*, double, const T*, const T*, T*,     \
                                cudaStream_t);                                                                   \
  template void norm_running_update<T>(T*, T*, const T*, const T*, int64_t, double, int64_t, cudaStream_t);      \
  template void norm_backward<T>(const T*, const T*, const NormGeom&, const T*, const T*, double, const T*, bool, \
                                 T*, T*, T*, cudaStream_t);
PN_INSTANTIATE(float)
PN_INSTANTIATE(double)
#undef PN_INSTANTIATE

// The profile twins of the entry points (launch.h).
PN_PROFILE_TWIN("norm_stats", norm_stats<float>)
PN_PROFILE_TWIN("norm_stats", norm_stats<double>)
PN_PROFILE_TWIN("norm_forward", norm_forward<float>)
PN_PROFILE_TWIN("norm_forward", norm_forward<double>)
PN_PROFILE_TWIN("norm_running_update", norm_running_update<float>)
PN_PROFILE_TWIN("norm_running_update", norm_running_update<double>)
PN_PROFILE_TWIN("norm_backward", norm_backward<float>)
PN_PROFILE_TWIN("norm_backward", norm_backward<double>)

}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda

PN_PROFILE_TWIN_UNIT(norm)
