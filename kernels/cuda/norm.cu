// Normalisation on the GPU. Statistics are split across blocks: each group's elements are cut
// into chunks of kStatsChunk, one block per (chunk, group) merges its threads' moments by warp
// shuffles, and a second stage merges a group's chunks in order (one launch when a group fits
// one chunk); the backward's two group sums are split the same way. The forward and the
// backward's dx map rows of S elements (statistics and affine parameters read once per row).
// The norm fused with a following ReLU / leaky ReLU (norm_act) applies per-group scale and
// shift in the tensor's type, one pass with 16-byte accesses; its backward is the norm's with
// the activation's mask taken from the saved output.
// Chosen on the kernel workbench (workbench/norm_*.cu, WORKBENCH.md).
// Channels-last tensors (NormGeom::channels_last, [N, S, C]) have kernels of their own
// (norm_channels_last.cuh): lanes along the channels, so warps read whole lines, and the same
// merge stages.
// 16-bit tensors (__nv_bfloat16 / __half) run the same kernels: elements widen exactly on load
// (StorageType::to_compute) and round once on store; statistics, parameters and sums are float /
// double (NormParam, P below); the fused apply computes in float and reads 2-byte elements.
#include "kernels/cuda/check.h"
#include "kernels/cuda/device.h"
#include "kernels/cuda/dnn_graph.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/library_options.h"
#include "kernels/cuda/norm.h"
#include "kernels/cuda/storage_types.h"
#include "kernels/cuda/vector_types.h"

#include <atomic>
#include <cstdio>
#include <type_traits>

namespace pn::cuda {
inline namespace PN_CUDA_ABI {

namespace {

using math::NormGeom;
constexpr unsigned kThreads = 256;  // per block of a split reduction: a multiple of 32, at most 1024
constexpr unsigned kBlock = 256;
constexpr int64_t kStatsChunk = 4096;  // elements of a group per block of a split reduction (16 per thread)
constexpr int64_t kMaxSplits = 1024;   // blocks per group at most
constexpr int64_t kMaxGridY = 65535;
constexpr int64_t kRowElementsPerThread = 16;  // elements of a row per thread (forward, dx)

// Elements of p's 128-byte line before p: a row loop that starts that far before its row keeps
// each warp's accesses within whole sectors when rows are not multiples of 32 floats.
template <class T>
__device__ __forceinline__ int64_t line_lead(const T* p) {
  return static_cast<int64_t>(reinterpret_cast<uintptr_t>(p) % 128 / sizeof(T));
}

// An element of storage type T widened to double (exact), and a double rounded to T (through
// the compute type: for float a single rounding, for 16-bit types as the CPU's math::bfloat16).
template <class T>
__device__ __forceinline__ double wide(T x) {
  return static_cast<double>(StorageType<T>::to_compute(x));
}
template <class T>
__device__ __forceinline__ T narrow(double v) {
  return StorageType<T>::from_compute(static_cast<ComputeOf<T>>(v));
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
template <class T, class P = NormParam<T>>
__global__ void stats_split_kernel(const T* x, NormGeom g, int64_t chunk, P* mean, P* var, double* partials) {
  PN_SHARED(Moments[kThreads / 32], warp_moments);
  const unsigned t = threadIdx.x, splits = gridDim.x;
  const int64_t groups = math::norm_groups(g), size = math::norm_group_size(g);
  const int64_t first = static_cast<int64_t>(blockIdx.x) * chunk, end = first + chunk < size ? first + chunk : size;
  for (int64_t grp = blockIdx.y; grp < groups; grp += gridDim.y) {
    math::MomentAcc acc;
    int64_t r = 0, pos = 0;
    if (first + t < end) r = (first + t) / g.s, pos = (first + t) % g.s;
    for (int64_t j = first + t; j < end; j += blockDim.x) {
      acc.add(wide(x[math::norm_element_offset(g, grp, r, pos)]));
      for (pos += blockDim.x; pos >= g.s; pos -= g.s) ++r;
    }
    Moments m = warp_merge({static_cast<double>(acc.count), acc.mean(), math::moments_m2(acc)});
    if (t % 32 == 0) warp_moments[t / 32] = m;
    __syncthreads();
    if (t < 32) {
      m = t < blockDim.x / 32 ? warp_moments[t] : Moments{0, 0, 0};
      m = warp_merge(m);
      if (t == 0 && splits == 1) {
        mean[grp] = static_cast<P>(m.mean);
        var[grp] = static_cast<P>(math::moments_var(m.count, m.m2));
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

// Statistics, stage 2: one thread per group merges its splits' moments in order (T: the
// statistics' type).
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
template <class T, class P = NormParam<T>>
__global__ void forward_rows_kernel(const T* x, NormGeom g, const P* mean, const P* var, double eps, const P* gamma,
                                    const P* beta, T* y) {
  const int64_t rows = g.n * g.c;
  for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) {
    const int64_t c = r % g.c, grp = g.per_instance ? r : c;
    const double group_mean = mean[grp], inv_std = math::norm_inv_std(var[grp], eps);
    const double scale = gamma ? static_cast<double>(gamma[c]) : 1.0, shift = beta ? static_cast<double>(beta[c]) : 0.0;
    const T* xr = x + r * g.s;
    T* yr = y + r * g.s;
    for (int64_t i = global_index() - line_lead(xr); i < g.s; i += grid_stride())
      if (i >= 0) yr[i] = narrow<T>(math::norm_apply(wide(xr[i]), group_mean, inv_std, scale, shift));
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

// The gradient reaching the norm's output: gy, or with the fused activation (y not null)
// gy * norm_act_mask(y), formed in P as the CPU reference does.
template <class T, class P = NormParam<T>>
__device__ __forceinline__ double output_grad(const T* gy, const T* y, P slope, int64_t e) {
  if (!y) return wide(gy[e]);
  const P gz = StorageType<T>::to_compute(gy[e]) * math::norm_act_mask(P(StorageType<T>::to_compute(y[e])), slope);
  return static_cast<double>(gz);
}

// norm_act, stage 1: each group's statistics and affine parameters become scale and shift in T
// (math::norm_affine in double, rounded once; T: the parameters' type).
template <class T>
__global__ void act_scale_shift_kernel(NormGeom g, const T* mean, const T* var, double eps, const T* gamma,
                                       const T* beta, T* scale, T* shift) {
  for (int64_t grp = global_index(); grp < math::norm_groups(g); grp += grid_stride()) {
    const int64_t c = math::norm_channel(g, grp);
    double sc = 0, sh = 0;
    math::norm_affine(mean[grp], math::norm_inv_std(var[grp], eps), gamma ? static_cast<double>(gamma[c]) : 1.0,
                      beta ? static_cast<double>(beta[c]) : 0.0, sc, sh);
    scale[grp] = static_cast<T>(sc);
    shift[grp] = static_cast<T>(sh);
  }
}

// norm_act, stage 2 (workbench norm_apply version 2, promoted): blocks (x, y) take positions of
// row y of [N * C, S]; the row's scale and shift are loaded once, then y = norm_act_apply(x) with
// 16-byte accesses (kVec: float rows of a multiple of 4, aligned) and 32-bit indices; 16-bit
// elements widen to float, the arithmetic is float's (P), the result rounds once.
template <class T, bool kVec, class P = NormParam<T>>
__global__ void act_rows_kernel(const T* x, NormGeom g, const P* scale, const P* shift, P slope, T* y) {
  const unsigned s = static_cast<unsigned>(g.s), rows = static_cast<unsigned>(g.n * g.c);
  const unsigned c = static_cast<unsigned>(g.c);
  for (unsigned r = blockIdx.y; r < rows; r += gridDim.y) {
    const unsigned grp = g.per_instance ? r : r % c;
    const P sc = scale[grp], sh = shift[grp];
    const T* xr = x + static_cast<size_t>(r) * s;
    T* yr = y + static_cast<size_t>(r) * s;
    const unsigned first = blockIdx.x * blockDim.x + threadIdx.x, stride = gridDim.x * blockDim.x;
    if constexpr (kVec) {
      for (unsigned i = first; i < s / 4; i += stride) {
        float4 v = ld128(reinterpret_cast<const float4*>(xr) + i);
        v = float4{math::norm_act_apply(v.x, sc, sh, slope), math::norm_act_apply(v.y, sc, sh, slope),
                   math::norm_act_apply(v.z, sc, sh, slope), math::norm_act_apply(v.w, sc, sh, slope)};
        st128(reinterpret_cast<float4*>(yr) + i, v);
      }
    } else {
      for (unsigned i = first; i < s; i += stride)
        yr[i] = StorageType<T>::from_compute(math::norm_act_apply(StorageType<T>::to_compute(xr[i]), sc, sh, slope));
    }
  }
}

// The backward's group sums, stage 1: block (split, grp) sums gy and gy * xhat over elements
// [split * chunk, (split + 1) * chunk) of group grp, walking rows as stats_split_kernel does,
// and merges its threads' sums by warp shuffles (one barrier). With one split it writes
// sums[2 grp] = sum(gy), sums[2 grp + 1] = sum(gy * xhat); else its two sums to partials
// (sum(gy) then sum(gy xhat), each [split][group]).
template <class T, class P = NormParam<T>>
__global__ void backward_sums_split_kernel(const T* x, const T* gy, const T* y, P slope, NormGeom g, const P* mean,
                                           const P* var, double eps, int64_t chunk, double* sums, double* partials) {
  PN_SHARED(double[2 * (kThreads / 32)], warp_sums);
  const unsigned t = threadIdx.x, splits = gridDim.x;
  const int64_t groups = math::norm_groups(g), size = math::norm_group_size(g);
  const int64_t first = static_cast<int64_t>(blockIdx.x) * chunk, end = first + chunk < size ? first + chunk : size;
  for (int64_t grp = blockIdx.y; grp < groups; grp += gridDim.y) {
    const double group_mean = mean[grp], inv_std = math::norm_inv_std(var[grp], eps);
    double s_gy = 0, s_gy_xhat = 0;
    int64_t r = 0, pos = 0;
    if (first + t < end) r = (first + t) / g.s, pos = (first + t) % g.s;
    for (int64_t j = first + t; j < end; j += blockDim.x) {
      const int64_t e = math::norm_element_offset(g, grp, r, pos);
      const double gy_e = output_grad(gy, y, slope, e);
      s_gy += gy_e;
      s_gy_xhat += gy_e * (wide(x[e]) - group_mean) * inv_std;
      for (pos += blockDim.x; pos >= g.s; pos -= g.s) ++r;
    }
    for (unsigned delta = 16; delta > 0; delta >>= 1) {
      s_gy += __shfl_down_sync(0xffffffffu, s_gy, delta);
      s_gy_xhat += __shfl_down_sync(0xffffffffu, s_gy_xhat, delta);
    }
    if (t % 32 == 0) {
      warp_sums[2 * (t / 32)] = s_gy;
      warp_sums[2 * (t / 32) + 1] = s_gy_xhat;
    }
    __syncthreads();
    if (t < 32) {
      s_gy = t < blockDim.x / 32 ? warp_sums[2 * t] : 0.0;
      s_gy_xhat = t < blockDim.x / 32 ? warp_sums[2 * t + 1] : 0.0;
      for (unsigned delta = 16; delta > 0; delta >>= 1) {
        s_gy += __shfl_down_sync(0xffffffffu, s_gy, delta);
        s_gy_xhat += __shfl_down_sync(0xffffffffu, s_gy_xhat, delta);
      }
      if (t == 0 && splits == 1) {
        sums[2 * grp] = s_gy;
        sums[2 * grp + 1] = s_gy_xhat;
      } else if (t == 0) {
        const int64_t at = static_cast<int64_t>(blockIdx.x) * groups + grp;
        partials[at] = s_gy;
        partials[splits * groups + at] = s_gy_xhat;
      }
    }
    __syncthreads();  // the next group overwrites the slots
  }
}

// The backward's group sums, stage 2: one thread per group adds its splits' sums in order.
__global__ void backward_sums_merge_kernel(const double* partials, int64_t groups, unsigned splits, double* sums) {
  for (int64_t grp = global_index(); grp < groups; grp += grid_stride()) {
    double s_gy = 0, s_gy_xhat = 0;
    for (unsigned k = 0; k < splits; ++k) {
      s_gy += partials[k * groups + grp];
      s_gy_xhat += partials[(splits + k) * groups + grp];
    }
    sums[2 * grp] = s_gy;
    sums[2 * grp + 1] = s_gy_xhat;
  }
}

// dx by rows of S elements, as forward_rows_kernel: the row's statistics, gamma and group sums
// once per row, then norm_backward_dx per element (the same double math as the CPU reference).
template <class T, class P = NormParam<T>>
__global__ void backward_dx_rows_kernel(const T* x, const T* gy, const T* y, P slope, NormGeom g, const P* mean,
                                        const P* var, double eps, const P* gamma, bool batch_stats, const double* sums,
                                        T* dx) {
  const double inv_m = 1.0 / static_cast<double>(math::norm_group_size(g));
  const int64_t rows = g.n * g.c;
  for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) {
    const int64_t c = r % g.c, grp = g.per_instance ? r : c;
    const double group_mean = mean[grp], inv_std = math::norm_inv_std(var[grp], eps);
    const double scale = gamma ? static_cast<double>(gamma[c]) : 1.0;
    const double mean_gy = sums[2 * grp] * inv_m, mean_gy_xhat = sums[2 * grp + 1] * inv_m;
    const T* xr = x + r * g.s;
    T* dxr = dx + r * g.s;
    for (int64_t i = global_index() - line_lead(xr); i < g.s; i += grid_stride()) {
      if (i < 0) continue;
      const double xhat = (wide(xr[i]) - group_mean) * inv_std;
      const double gz = output_grad(gy, y, slope, r * g.s + i);
      dxr[i] = narrow<T>(math::norm_backward_dx(gz, xhat, inv_std, scale, mean_gy, mean_gy_xhat, batch_stats));
    }
  }
}

// dbeta = sum(gy), dgamma = sum(gy xhat) per channel, adding the channel's groups in order
// (T: the parameters' type).
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

#include "kernels/cuda/norm_channels_last.cuh"  // the channels-last kernels

// Blocks per group of a split reduction: one per kStatsChunk elements, at most kMaxSplits.
unsigned stats_splits(int64_t group_size) {
  const int64_t splits = (group_size + kStatsChunk - 1) / kStatsChunk;
  return static_cast<unsigned>(splits < 1 ? 1 : splits > kMaxSplits ? kMaxSplits : splits);
}

// Stage 1 of a split reduction (the statistics, the backward's sums) in either layout: its grid,
// blocks per group and elements (channels-first) or rows (channels-last) per block.
struct SplitPlan {
  dim3 grid;
  unsigned splits;
  int64_t chunk;
};

SplitPlan split_plan(const NormGeom& g) {
  if (g.channels_last) {
    const ClGrid cl = cl_grid(g);
    return {cl.grid, cl.grid.x, cl.chunk};
  }
  const int64_t groups = math::norm_groups(g), size = math::norm_group_size(g);
  const unsigned splits = stats_splits(size);
  return {dim3(splits, static_cast<unsigned>(groups < kMaxGridY ? groups : kMaxGridY)), splits,
          (size + splits - 1) / splits};
}

}  // namespace

template <class T>
void norm_stats(const T* x, const NormGeom& g, NormParam<T>* mean, NormParam<T>* var, cudaStream_t stream) {
  PN_PROFILE_DISPATCH("norm_stats", norm_stats<T>, x, g, mean, var, stream);
  const int64_t groups = math::norm_groups(g);
  if (groups <= 0) return;
  const int64_t shape[3] = {g.n, g.c, g.s};
  ErrorScope scope(g.per_instance ? "instance_norm_stats" : "batch_norm_stats", shape, 3);
  const SplitPlan plan = split_plan(g);
  const auto stage1 = g.channels_last ? stats_cl_split_kernel<T> : stats_split_kernel<T>;
  if (plan.splits == 1) {
    launch(stage1, plan.grid, dim3(kThreads), 0, stream, x, g, plan.chunk, mean, var, static_cast<double*>(nullptr));
    return;
  }
  double* partials = nullptr;
  PN_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&partials),
                                3 * sizeof(double) * plan.splits * static_cast<size_t>(groups), stream));
  launch(stage1, plan.grid, dim3(kThreads), 0, stream, x, g, plan.chunk, mean, var, partials);
  launch(stats_merge_kernel<NormParam<T>>, grid_for(groups, kBlock), kBlock, 0, stream, static_cast<const double*>(partials),
         groups, plan.splits, mean, var);
  PN_CUDA_CHECK(cudaFreeAsync(partials, stream));
}

template <class T>
void norm_forward(const T* x, const NormGeom& g, const NormParam<T>* mean, const NormParam<T>* var, double eps,
                  const NormParam<T>* gamma, const NormParam<T>* beta, T* y, cudaStream_t stream) {
  PN_PROFILE_DISPATCH("norm_forward", norm_forward<T>, x, g, mean, var, eps, gamma, beta, y, stream);
  const int64_t n = g.n * g.c * g.s;
  if (n <= 0) return;
  const int64_t shape[3] = {g.n, g.c, g.s};
  ErrorScope scope(g.per_instance ? "instance_norm" : "batch_norm", shape, 3);
  if (g.channels_last) {
    const ClGrid cl = cl_grid(g);
    return launch(forward_cl_kernel<T>, cl.grid, dim3(kThreads), 0, stream, x, g, cl.chunk, mean, var, eps, gamma,
                  beta, y);
  }
  const int64_t rows = g.n * g.c;
  // kRowElementsPerThread elements of a row per thread: the row's four parameter loads amortised.
  const dim3 grid(grid_for((g.s + 32 + kRowElementsPerThread - 1) / kRowElementsPerThread, kBlock),
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

namespace {

// The backward's dx from the group sums: by rows of S elements, or one thread per element for
// channels-last.
template <class T, class P = NormParam<T>>
void launch_dx(const T* x, const T* gy, const T* y, P slope, const NormGeom& g, const P* mean, const P* var, double eps,
               const P* gamma, bool batch_stats, const double* sums, T* dx, cudaStream_t stream) {
  const int64_t rows = g.n * g.c;
  if (g.channels_last) {
    const ClGrid cl = cl_grid(g);
    return launch(backward_dx_cl_kernel<T>, cl.grid, dim3(kThreads), 0, stream, x, gy, y, slope, g, cl.chunk, mean,
                  var, eps, gamma, batch_stats, sums, dx);
  }
  const dim3 row_grid(grid_for((g.s + 32 + kRowElementsPerThread - 1) / kRowElementsPerThread, kBlock),
                      static_cast<unsigned>(rows < kMaxGridY ? rows : kMaxGridY));
  launch(backward_dx_rows_kernel<T>, row_grid, dim3(kBlock), 0, stream, x, gy, y, slope, g, mean, var, eps, gamma,
         batch_stats, sums, dx);
}

// The backward of norm_forward (y null) or of norm_act_forward (the mask from its output y).
template <class T, class P = NormParam<T>>
void launch_backward(const T* x, const T* gy, const T* y, P slope, const NormGeom& g, const P* mean, const P* var,
                     double eps, const P* gamma, bool batch_stats, T* dx, P* dgamma, P* dbeta, cudaStream_t stream) {
  const int64_t groups = math::norm_groups(g), n = g.n * g.c * g.s;
  if (groups <= 0) return;
  const int64_t shape[3] = {g.n, g.c, g.s};
  ErrorScope scope(y ? (g.per_instance ? "instance_norm_act_backward" : "batch_norm_act_backward")
                     : (g.per_instance ? "instance_norm_backward" : "batch_norm_backward"),
                   shape, 3);
  // One scratch: the group sums, then (with several splits) the splits' partial sums.
  const SplitPlan plan = split_plan(g);
  const size_t scratch = 2 * static_cast<size_t>(groups) * (plan.splits > 1 ? 1 + plan.splits : 1);
  double* sums = nullptr;
  PN_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&sums), sizeof(double) * scratch, stream));
  double* partials = plan.splits > 1 ? sums + 2 * groups : nullptr;
  const auto sums_stage1 = g.channels_last ? backward_sums_cl_split_kernel<T> : backward_sums_split_kernel<T>;
  launch(sums_stage1, plan.grid, dim3(kThreads), 0, stream, x, gy, y, slope, g, mean, var, eps, plan.chunk, sums,
         partials);
  if (plan.splits > 1)
    launch(backward_sums_merge_kernel, grid_for(groups, kBlock), kBlock, 0, stream,
           static_cast<const double*>(partials), groups, plan.splits, sums);
  if (dx && n > 0) launch_dx<T>(x, gy, y, slope, g, mean, var, eps, gamma, batch_stats, sums, dx, stream);
  if (dgamma || dbeta)
    launch(backward_affine_kernel<P>, grid_for(g.c, kBlock), kBlock, 0, stream, g, static_cast<const double*>(sums),
           dgamma, dbeta);
  PN_CUDA_CHECK(cudaFreeAsync(sums, stream));
}

}  // namespace

template <class T>
void norm_backward(const T* x, const T* gy, const NormGeom& g, const NormParam<T>* mean, const NormParam<T>* var,
                   double eps, const NormParam<T>* gamma, bool batch_stats, T* dx, NormParam<T>* dgamma,
                   NormParam<T>* dbeta, cudaStream_t stream) {
  PN_PROFILE_DISPATCH("norm_backward", norm_backward<T>,
                      x, gy, g, mean, var, eps, gamma, batch_stats, dx, dgamma, dbeta, stream);
  launch_backward<T>(x, gy, nullptr, NormParam<T>(0), g, mean, var, eps, gamma, batch_stats, dx, dgamma, dbeta, stream);
}

template <class T>
void norm_scale_shift(const NormGeom& g, const T* mean, const T* var, double eps, const T* gamma, const T* beta,
                      T* scale, T* shift, cudaStream_t stream) {
  PN_PROFILE_DISPATCH("norm_scale_shift", norm_scale_shift<T>, g, mean, var, eps, gamma, beta, scale, shift, stream);
  const int64_t groups = math::norm_groups(g);
  if (groups <= 0) return;
  launch(act_scale_shift_kernel<T>, grid_for(groups, kBlock), kBlock, 0, stream, g, mean, var, eps, gamma, beta, scale,
         shift);
}

// run.cudnn_graphs (library_options.h): stage 2 as one cuDNN fused graph (dnn_graph.h
// scale_shift_act: x * scale + shift, then RELU_FWD with the slope as lower-clip slope). False,
// and our kernel runs, when the option is off, T is not float, or no engine of the installed
// cuDNN runs the graph (said once on stderr; the process keeps our kernel from then on). The
// emulator's profile twin of this file (launch.h) always uses our kernel: the profile measures
// our kernels, and the library lives in the plain build's namespace.
template <class T>
bool act_through_graph(const T* x, const NormGeom& g, const NormParam<T>* scale, const NormParam<T>* shift,
                       double slope, T* y, cudaStream_t stream) {
#if defined(PN_CUDA_EMU_PROFILE_TWIN)
  (void)x, (void)g, (void)scale, (void)shift, (void)slope, (void)y, (void)stream;
  return false;
#else
  if constexpr (!std::is_same_v<T, float>) {
    return false;
  } else {
    static std::atomic<bool> unavailable{false};
    if (!library_options().cudnn_graphs || unavailable.load()) return false;
    ChannelGeom cg;
    cg.N = g.n, cg.C = g.c, cg.spatial[2] = g.s, cg.per_sample = g.per_instance;
    const FusedActivation act{slope == 0 ? FusedActivation::relu : FusedActivation::leaky_relu,
                              static_cast<float>(slope)};
    try {
      scale_shift_act(cg, x, scale, shift, y, act, stream);
      return true;
    } catch (const CudaError& e) {
      if (!unavailable.exchange(true))
        std::fprintf(stderr, "run.cudnn_graphs: no cuDNN engine runs the norm + activation graph; our fused kernel "
                             "computes it instead (%s)\n", e.what());
      return false;
    }
  }
#endif
}

template <class T>
void norm_act_forward(const T* x, const NormGeom& g, const NormParam<T>* mean, const NormParam<T>* var, double eps,
                      const NormParam<T>* gamma, const NormParam<T>* beta, double slope, T* y, cudaStream_t stream) {
  using P = NormParam<T>;
  PN_PROFILE_DISPATCH("norm_act_forward", norm_act_forward<T>, x, g, mean, var, eps, gamma, beta, slope, y, stream);
  const int64_t groups = math::norm_groups(g), rows = g.n * g.c;
  if (groups <= 0 || g.s <= 0) return;
  const int64_t shape[3] = {g.n, g.c, g.s};
  ErrorScope scope(g.per_instance ? "instance_norm_act" : "batch_norm_act", shape, 3);
  P* affine = nullptr;  // scale, then shift
  PN_CUDA_CHECK(
      cudaMallocAsync(reinterpret_cast<void**>(&affine), 2 * sizeof(P) * static_cast<size_t>(groups), stream));
  norm_scale_shift<P>(g, mean, var, eps, gamma, beta, affine, affine + groups, stream);
  const bool vec = std::is_same_v<T, float> && g.s % 4 == 0 && reinterpret_cast<uintptr_t>(x) % 16 == 0 &&
                   reinterpret_cast<uintptr_t>(y) % 16 == 0;
  const dim3 grid(grid_for(vec ? g.s / 4 : g.s, kBlock), static_cast<unsigned>(rows < kMaxGridY ? rows : kMaxGridY));
  const P* scale = affine;
  const P* shift = affine + groups;
  if (g.channels_last) {
    const ClGrid cl = cl_grid(g);
    launch(act_cl_kernel<T>, cl.grid, dim3(kThreads), 0, stream, x, g, cl.chunk, scale, shift, static_cast<P>(slope), y);
    PN_CUDA_CHECK(cudaFreeAsync(affine, stream));
    return;
  }
  if (act_through_graph(x, g, scale, shift, slope, y, stream)) {
    PN_CUDA_CHECK(cudaFreeAsync(affine, stream));
    return;
  }
  if constexpr (std::is_same_v<T, float>) {
    if (vec) {
      launch(act_rows_kernel<T, true>, grid, dim3(kBlock), 0, stream, x, g, scale, shift, static_cast<P>(slope), y);
      PN_CUDA_CHECK(cudaFreeAsync(affine, stream));
      return;
    }
  }
  launch(act_rows_kernel<T, false>, grid, dim3(kBlock), 0, stream, x, g, scale, shift, static_cast<P>(slope), y);
  PN_CUDA_CHECK(cudaFreeAsync(affine, stream));
}

template <class T>
void norm_act_backward(const T* x, const T* y, const T* gy, const NormGeom& g, const NormParam<T>* mean,
                       const NormParam<T>* var, double eps, const NormParam<T>* gamma, double slope, bool batch_stats,
                       T* dx, NormParam<T>* dgamma, NormParam<T>* dbeta, cudaStream_t stream) {
  PN_PROFILE_DISPATCH("norm_act_backward", norm_act_backward<T>,
                      x, y, gy, g, mean, var, eps, gamma, slope, batch_stats, dx, dgamma, dbeta, stream);
  launch_backward<T>(x, gy, y, static_cast<NormParam<T>>(slope), g, mean, var, eps, gamma, batch_stats, dx, dgamma, dbeta,
                     stream);
}

// Storage types T with their statistics' type P; the running update and norm_scale_shift take
// the statistics' type only.
#define PN_INSTANTIATE(T, P)                                                                                     \
  template void norm_stats<T>(const T*, const NormGeom&, P*, P*, cudaStream_t);                                  \
  template void norm_forward<T>(const T*, const NormGeom&, const P*, const P*, double, const P*, const P*, T*,     \
                                cudaStream_t);                                                                   \
  template void norm_backward<T>(const T*, const T*, const NormGeom&, const P*, const P*, double, const P*, bool, \
                                 T*, P*, P*, cudaStream_t);                                                      \
  template void norm_act_forward<T>(const T*, const NormGeom&, const P*, const P*, double, const P*, const P*,    \
                                    double, T*, cudaStream_t);                                                   \
  template void norm_act_backward<T>(const T*, const T*, const T*, const NormGeom&, const P*, const P*, double,   \
                                     const P*, double, bool, T*, P*, P*, cudaStream_t);                          \
  PN_PROFILE_TWIN("norm_stats", norm_stats<T>)                                                                   \
  PN_PROFILE_TWIN("norm_forward", norm_forward<T>)                                                               \
  PN_PROFILE_TWIN("norm_backward", norm_backward<T>)                                                             \
  PN_PROFILE_TWIN("norm_act_forward", norm_act_forward<T>)                                                       \
  PN_PROFILE_TWIN("norm_act_backward", norm_act_backward<T>)
#define PN_INSTANTIATE_PARAM(T)                                                                                  \
  template void norm_running_update<T>(T*, T*, const T*, const T*, int64_t, double, int64_t, cudaStream_t);      \
  template void norm_scale_shift<T>(const NormGeom&, const T*, const T*, double, const T*, const T*, T*, T*,      \
                                    cudaStream_t);                                                               \
  PN_PROFILE_TWIN("norm_running_update", norm_running_update<T>)                                                 \
  PN_PROFILE_TWIN("norm_scale_shift", norm_scale_shift<T>)
PN_INSTANTIATE(float, float)
PN_INSTANTIATE(double, double)
PN_INSTANTIATE(__nv_bfloat16, float)
PN_INSTANTIATE(__half, float)
PN_INSTANTIATE_PARAM(float)
PN_INSTANTIATE_PARAM(double)
#undef PN_INSTANTIATE_PARAM
#undef PN_INSTANTIATE

}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda

PN_PROFILE_TWIN_UNIT(norm)
