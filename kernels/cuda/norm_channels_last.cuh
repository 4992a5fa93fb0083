// The channels-last kernels of kernels/cuda/norm.cu (included there only, inside its anonymous
// namespace, after wide / narrow / Moments / output_grad). A channels-last tensor [N, S, C] is a
// matrix of voxel rows by C channels; a group's elements are one column of it (batch norm: all
// N S rows; instance norm: the S rows of sample n).
//
// Every kernel here maps threads the same way (ClLane): block (split, tile, sample) takes rows
// [split * chunk, (split + 1) * chunk) of a tile of up to 32 consecutive channels (sample: the
// instance-norm sample, 0 for batch norm). A warp's lanes lie along the channels, so a warp
// reads consecutive elements: one 128-byte line per access for a float tile of 32 channels.
// When the tile is narrower than 32 channels (C < 32, or the last tile), a warp takes
// 32 / width rows at once so that its lanes stay busy. Each thread is a "slot": a stream of rows
// first + slot, first + slot + slots, ... of one channel, whose statistics and parameters it
// loads once. (The first version, kept on the workbench as norm_stats_cl v2, walked a group's
// elements with stride C: one 32-byte sector per element.)
//
// The reductions merge a block's slots of one channel in slot order through shared memory (one
// barrier), so the result is the same every run; the splits go through norm.cu's merge stage.
#pragma once

// A thread's place in a channels-last block.
struct ClLane {
  unsigned width;     // channels in this block's tile, 1..32
  unsigned per_warp;  // rows a warp takes at once, 32 / width
  unsigned slots;     // row streams of the block
  unsigned slot;      // this thread's stream
  int64_t c;          // this thread's channel
  bool active;        // false for lanes past per_warp * width
};

__device__ __forceinline__ ClLane cl_lane(const NormGeom& g) {
  const unsigned lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int64_t c0 = static_cast<int64_t>(blockIdx.y) * 32;
  const unsigned width = g.c - c0 < 32 ? static_cast<unsigned>(g.c - c0) : 32u;
  const unsigned per_warp = 32 / width;
  return {width, per_warp, per_warp * (blockDim.x / 32), warp * per_warp + lane / width, c0 + lane % width,
          lane < per_warp * width};
}

// The thread of slot s for the tile's channel lane ch (< width): the inverse of cl_lane.
__device__ __forceinline__ unsigned cl_thread_of(const ClLane& l, unsigned s, unsigned ch) {
  return s / l.per_warp * 32 + s % l.per_warp * l.width + ch;
}

// The group of this thread's channel in block z, and the offset of row 0 of its column.
__device__ __forceinline__ int64_t cl_group(const NormGeom& g, const ClLane& l) {
  return g.per_instance ? static_cast<int64_t>(blockIdx.z) * g.c + l.c : l.c;
}
__device__ __forceinline__ int64_t cl_column(const NormGeom& g, const ClLane& l) {
  return (g.per_instance ? static_cast<int64_t>(blockIdx.z) * g.s * g.c : 0) + l.c;
}

// This block's rows of the group: [first, end).
__device__ __forceinline__ void cl_rows(const NormGeom& g, int64_t chunk, int64_t& first, int64_t& end) {
  const int64_t size = math::norm_group_size(g);
  first = static_cast<int64_t>(blockIdx.x) * chunk;
  end = first + chunk < size ? first + chunk : size;
}

// Statistics, stage 1 (as stats_split_kernel): each slot's shifted moments, merged per channel in
// slot order; with one split the group's mean and variance, else its moments to the partials.
template <class T, class P = NormParam<T>>
__global__ void stats_cl_split_kernel(const T* x, NormGeom g, int64_t chunk, P* mean, P* var, double* partials) {
  PN_SHARED(Moments[kThreads], slot_moments);
  const ClLane l = cl_lane(g);
  int64_t first, end;
  cl_rows(g, chunk, first, end);
  math::MomentAcc acc;
  if (l.active) {
    const T* col = x + cl_column(g, l);
    for (int64_t r = first + l.slot; r < end; r += l.slots) acc.add(wide(col[r * g.c]));
  }
  slot_moments[threadIdx.x] = Moments{static_cast<double>(acc.count), acc.mean(), math::moments_m2(acc)};
  __syncthreads();
  if (threadIdx.x >= l.width) return;  // threads 0..width-1 (slot 0 of the tile's channels) merge
  Moments m{0, 0, 0};
  for (unsigned s = 0; s < l.slots; ++s) {
    const Moments& o = slot_moments[cl_thread_of(l, s, threadIdx.x)];
    math::merge_moments(m.count, m.mean, m.m2, o.count, o.mean, o.m2);
  }
  const int64_t grp = cl_group(g, l), groups = math::norm_groups(g);
  if (gridDim.x == 1) {
    mean[grp] = static_cast<P>(m.mean);
    var[grp] = static_cast<P>(math::moments_var(m.count, m.m2));
  } else {
    const int64_t at = static_cast<int64_t>(blockIdx.x) * groups + grp, plane = gridDim.x * groups;
    partials[at] = m.count;
    partials[plane + at] = m.mean;
    partials[2 * plane + at] = m.m2;
  }
}

// The backward's group sums, stage 1 (as backward_sums_split_kernel): sum(gy) and sum(gy xhat)
// per slot, added per channel in slot order.
template <class T, class P = NormParam<T>>
__global__ void backward_sums_cl_split_kernel(const T* x, const T* gy, const T* y, P slope, NormGeom g, const P* mean,
                                              const P* var, double eps, int64_t chunk, double* sums,
                                              double* partials) {
  PN_SHARED(double[kThreads], slot_gy);  // two arrays: no bank conflicts between the two sums
  PN_SHARED(double[kThreads], slot_gy_xhat);
  const ClLane l = cl_lane(g);
  int64_t first, end;
  cl_rows(g, chunk, first, end);
  const int64_t grp = cl_group(g, l), groups = math::norm_groups(g);
  double s_gy = 0, s_gy_xhat = 0;
  if (l.active) {
    const double group_mean = mean[grp], inv_std = math::norm_inv_std(var[grp], eps);
    const int64_t col = cl_column(g, l);
    for (int64_t r = first + l.slot; r < end; r += l.slots) {
      const int64_t e = col + r * g.c;
      const double gy_e = output_grad(gy, y, slope, e);
      s_gy += gy_e;
      s_gy_xhat += gy_e * (wide(x[e]) - group_mean) * inv_std;
    }
  }
  slot_gy[threadIdx.x] = s_gy;
  slot_gy_xhat[threadIdx.x] = s_gy_xhat;
  __syncthreads();
  if (threadIdx.x >= l.width) return;
  s_gy = s_gy_xhat = 0;
  for (unsigned s = 0; s < l.slots; ++s) {
    const unsigned t = cl_thread_of(l, s, threadIdx.x);
    s_gy += slot_gy[t];
    s_gy_xhat += slot_gy_xhat[t];
  }
  if (gridDim.x == 1) {
    sums[2 * grp] = s_gy;
    sums[2 * grp + 1] = s_gy_xhat;
  } else {
    const int64_t at = static_cast<int64_t>(blockIdx.x) * groups + grp;
    partials[at] = s_gy;
    partials[gridDim.x * groups + at] = s_gy_xhat;
  }
}

// Forward (norm_apply in double): statistics and affine parameters once per thread.
template <class T, class P = NormParam<T>>
__global__ void forward_cl_kernel(const T* x, NormGeom g, int64_t chunk, const P* mean, const P* var, double eps,
                                  const P* gamma, const P* beta, T* y) {
  const ClLane l = cl_lane(g);
  if (!l.active) return;
  int64_t first, end;
  cl_rows(g, chunk, first, end);
  const int64_t grp = cl_group(g, l), col = cl_column(g, l);
  const double group_mean = mean[grp], inv_std = math::norm_inv_std(var[grp], eps);
  const double scale = gamma ? static_cast<double>(gamma[l.c]) : 1.0, shift = beta ? static_cast<double>(beta[l.c]) : 0.0;
  for (int64_t r = first + l.slot; r < end; r += l.slots) {
    const int64_t e = col + r * g.c;
    y[e] = narrow<T>(math::norm_apply(wide(x[e]), group_mean, inv_std, scale, shift));
  }
}

// The fused norm + activation's apply (norm_act_apply in P) from per-group scale and shift.
template <class T, class P = NormParam<T>>
__global__ void act_cl_kernel(const T* x, NormGeom g, int64_t chunk, const P* scale, const P* shift, P slope, T* y) {
  const ClLane l = cl_lane(g);
  if (!l.active) return;
  int64_t first, end;
  cl_rows(g, chunk, first, end);
  const int64_t grp = cl_group(g, l), col = cl_column(g, l);
  const P sc = scale[grp], sh = shift[grp];
  for (int64_t r = first + l.slot; r < end; r += l.slots) {
    const int64_t e = col + r * g.c;
    y[e] = StorageType<T>::from_compute(math::norm_act_apply(StorageType<T>::to_compute(x[e]), sc, sh, slope));
  }
}

// dx from the group sums (norm_backward_dx in double).
template <class T, class P = NormParam<T>>
__global__ void backward_dx_cl_kernel(const T* x, const T* gy, const T* y, P slope, NormGeom g, int64_t chunk,
                                      const P* mean, const P* var, double eps, const P* gamma, bool batch_stats,
                                      const double* sums, T* dx) {
  const ClLane l = cl_lane(g);
  if (!l.active) return;
  int64_t first, end;
  cl_rows(g, chunk, first, end);
  const int64_t grp = cl_group(g, l), col = cl_column(g, l);
  const double inv_m = 1.0 / static_cast<double>(math::norm_group_size(g));
  const double group_mean = mean[grp], inv_std = math::norm_inv_std(var[grp], eps);
  const double scale = gamma ? static_cast<double>(gamma[l.c]) : 1.0;
  const double mean_gy = sums[2 * grp] * inv_m, mean_gy_xhat = sums[2 * grp + 1] * inv_m;
  for (int64_t r = first + l.slot; r < end; r += l.slots) {
    const int64_t e = col + r * g.c;
    const double xhat = (wide(x[e]) - group_mean) * inv_std;
    dx[e] = narrow<T>(math::norm_backward_dx(output_grad(gy, y, slope, e), xhat, inv_std, scale, mean_gy,
                                             mean_gy_xhat, batch_stats));
  }
}

// The grid of the kernels above: splits x channel tiles x samples (instance norm), with rows
// per block so that a block reads about kStatsChunk elements (at most kMaxSplits blocks per
// group, as the channels-first split).
struct ClGrid {
  dim3 grid;
  int64_t chunk;  // rows per block
};

inline ClGrid cl_grid(const NormGeom& g) {
  if (g.per_instance && g.n > kMaxGridY)
    throw CudaError("instance norm, channels-last: a batch of " + std::to_string(g.n) + " samples is over the " +
                        std::to_string(kMaxGridY) + " a launch takes; split the batch or use channels-first",
                    cudaErrorInvalidValue);
  const int64_t rows = math::norm_group_size(g), per_block = kStatsChunk / 32;
  int64_t splits = (rows + per_block - 1) / per_block;
  splits = splits < 1 ? 1 : splits > kMaxSplits ? kMaxSplits : splits;
  return {dim3(static_cast<unsigned>(splits), static_cast<unsigned>((g.c + 31) / 32),
               static_cast<unsigned>(g.per_instance ? g.n : 1)),
          (rows + splits - 1) / splits};
}
