// Optimiser steps on the GPU: one thread per parameter element in a grid-stride loop, each
// running kernels/math/optim_math.h's step with the hyper-parameters cast to T once on the
// host, exactly as the CPU reference casts them. adam_update_multi steps a list of tensors in
// one launch (promoted from the workbench's adam v2, kernels/cuda/workbench/adam.cu): their
// pointers and sizes travel in a device-side table, each block takes a tile of kTile elements
// of one tensor, found by a binary search of the tile offsets (by one thread, shared with the
// block through shared memory).
#include <cstring>
#include <vector>

#include "kernels/cuda/device.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/optim.h"
#include "kernels/math/optim_math.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {

namespace {

constexpr unsigned kBlock = 256;

template <class T>
struct AdamParams {
  T lr, beta1, beta2, eps, weight_decay, bc1, bc2;
  bool decoupled;
};

template <class T>
__global__ void adam_kernel(T* p, const T* g, T* m, T* v, int64_t n, AdamParams<T> h) {
  for (int64_t i = global_index(); i < n; i += grid_stride())
    math::adam_step(p[i], g[i], m[i], v[i], h.lr, h.beta1, h.beta2, h.eps, h.weight_decay, h.bc1, h.bc2,
                    h.decoupled);
}

constexpr int64_t kTile = 2048;             // elements per block of adam_update_multi
constexpr int64_t kMaxMultiBlocks = 1 << 20;  // blocks loop over the tiles beyond

// The table's tile offsets: chunk k owns tiles [first_tile[k], first_tile[k + 1]).
__device__ __forceinline__ int chunk_of_tile(const int64_t* first_tile, int count, int64_t tile) {
  int lo = 0, hi = count - 1;  // the last k with first_tile[k] <= tile
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (first_tile[mid] <= tile) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

// One block's current tile: the chunk's pointers and the tile's element range.
struct TileWork {
  void* p;
  const void* g;
  void* m;
  void* v;
  int64_t first, end;
};

// Thread 0 finds each tile's chunk and shares it: the table is read once per tile, not once
// per warp.
template <class T>
__global__ void adam_multi_kernel(const kernels::AdamChunk* chunks, const int64_t* first_tile, int count,
                                  int64_t tiles, AdamParams<T> h) {
  PN_SHARED(TileWork[1], work);
  for (int64_t tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
    if (threadIdx.x == 0) {
      const int k = chunk_of_tile(first_tile, count, tile);
      const kernels::AdamChunk c = chunks[k];
      const int64_t first = (tile - first_tile[k]) * kTile;
      work[0] = TileWork{c.p, c.g, c.m, c.v, first, first + kTile < c.n ? first + kTile : c.n};
    }
    __syncthreads();
    const TileWork w = work[0];
    __syncthreads();  // the next tile overwrites work
    T* p = static_cast<T*>(w.p);
    const T* g = static_cast<const T*>(w.g);
    T* m = static_cast<T*>(w.m);
    T* v = static_cast<T*>(w.v);
    for (int64_t i = w.first + threadIdx.x; i < w.end; i += blockDim.x)
      math::adam_step(p[i], g[i], m[i], v[i], h.lr, h.beta1, h.beta2, h.eps, h.weight_decay, h.bc1, h.bc2,
                      h.decoupled);
  }
}

template <class T>
constexpr const char* multi_twin_name() {
  return sizeof(T) == sizeof(float) ? "adam_update_multi<float>" : "adam_update_multi<double>";
}

template <class T>
struct SgdParams {
  T lr, momentum, dampening, weight_decay;
  bool nesterov, first;
};

template <class T>
__global__ void sgd_kernel(T* p, const T* g, T* buf, int64_t n, SgdParams<T> h) {
  for (int64_t i = global_index(); i < n; i += grid_stride()) {
    T unused = T(0);
    math::sgd_momentum_step(p[i], g[i], buf ? buf[i] : unused, h.lr, h.momentum, h.dampening, h.weight_decay,
                            h.nesterov, h.first);
  }
}

}  // namespace

template <class T>
void adam_update(T* p, const T* g, T* m, T* v, int64_t n, double lr, double beta1, double beta2, double eps,
                 double weight_decay, double bias_correction1, double bias_correction2, bool decoupled,
                 cudaStream_t stream) {
  PN_PROFILE_DISPATCH("adam_update", adam_update<T>,
                      p, g, m, v, n, lr, beta1, beta2, eps, weight_decay, bias_correction1, bias_correction2, decoupled, stream);
  if (n <= 0) return;
  ErrorScope scope("adam_update", n);
  const AdamParams<T> h{static_cast<T>(lr),  static_cast<T>(beta1),           static_cast<T>(beta2),
                        static_cast<T>(eps), static_cast<T>(weight_decay),    static_cast<T>(bias_correction1),
                        static_cast<T>(bias_correction2), decoupled};
  launch(adam_kernel<T>, grid_for(n, kBlock), kBlock, 0, stream, p, g, m, v, n, h);
}

template <class T>
void adam_update_multi(const kernels::AdamChunk* chunks, int64_t count, double lr, double beta1, double beta2,
                       double eps, double weight_decay, double bias_correction1, double bias_correction2,
                       bool decoupled, cudaStream_t stream) {
  // T is not in the signature: the twins are told apart by name (profile twins are keyed by
  // name and function type).
  PN_PROFILE_DISPATCH(multi_twin_name<T>(), adam_update_multi<T>, chunks, count, lr, beta1, beta2, eps, weight_decay,
                      bias_correction1, bias_correction2, decoupled, stream);
  // The table on the host: the non-empty chunks, then their tile offsets, in one upload.
  std::vector<kernels::AdamChunk> live;
  for (int64_t k = 0; k < count; ++k)
    if (chunks[k].n > 0) live.push_back(chunks[k]);
  if (live.empty()) return;
  ErrorScope scope("adam_update_multi", static_cast<int64_t>(live.size()));
  const size_t table_bytes = live.size() * sizeof(kernels::AdamChunk);
  std::vector<unsigned char> host(table_bytes + (live.size() + 1) * sizeof(int64_t));
  std::memcpy(host.data(), live.data(), table_bytes);
  int64_t* first_tile = reinterpret_cast<int64_t*>(host.data() + table_bytes);
  first_tile[0] = 0;
  for (size_t k = 0; k < live.size(); ++k) first_tile[k + 1] = first_tile[k] + (live[k].n + kTile - 1) / kTile;
  const int64_t tiles = first_tile[live.size()];
  unsigned char* table = nullptr;
  PN_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&table), host.size(), stream));
  PN_CUDA_CHECK(cudaMemcpyAsync(table, host.data(), host.size(), cudaMemcpyHostToDevice, stream));
  const AdamParams<T> h{static_cast<T>(lr),  static_cast<T>(beta1),           static_cast<T>(beta2),
                        static_cast<T>(eps), static_cast<T>(weight_decay),    static_cast<T>(bias_correction1),
                        static_cast<T>(bias_correction2), decoupled};
  launch(adam_multi_kernel<T>, static_cast<unsigned>(tiles < kMaxMultiBlocks ? tiles : kMaxMultiBlocks), kBlock, 0,
         stream, reinterpret_cast<const kernels::AdamChunk*>(table),
         reinterpret_cast<const int64_t*>(table + table_bytes), static_cast<int>(live.size()), tiles, h);
  PN_CUDA_CHECK(cudaFreeAsync(table, stream));
}

template <class T>
void sgd_update(T* p, const T* g, T* buf, int64_t n, double lr, double momentum, double dampening,
                double weight_decay, bool nesterov, bool first, cudaStream_t stream) {
  PN_PROFILE_DISPATCH("sgd_update", sgd_update<T>,
                      p, g, buf, n, lr, momentum, dampening, weight_decay, nesterov, first, stream);
  if (n <= 0) return;
  ErrorScope scope("sgd_update", n);
  const SgdParams<T> h{static_cast<T>(lr), static_cast<T>(momentum), static_cast<T>(dampening),
                       static_cast<T>(weight_decay), nesterov, first};
  launch(sgd_kernel<T>, grid_for(n, kBlock), kBlock, 0, stream, p, g, buf, n, h);
}

#define PN_INSTANTIATE(T)                                                                                   \
  template void adam_update<T>(T*, const T*, T*, T*, int64_t, double, double, double, double, double, double, \
                               double, bool, cudaStream_t);                                                 \
  template void adam_update_multi<T>(const kernels::AdamChunk*, int64_t, double, double, double, double, double, \
                                     double, double, bool, cudaStream_t);                                     \
  template void sgd_update<T>(T*, const T*, T*, int64_t, double, double, double, double, bool, bool, cudaStream_t);
PN_INSTANTIATE(float)
PN_INSTANTIATE(double)
#undef PN_INSTANTIATE

// The profile twins of the entry points (launch.h).
PN_PROFILE_TWIN("adam_update", adam_update<float>)
PN_PROFILE_TWIN("adam_update", adam_update<double>)
PN_PROFILE_TWIN(multi_twin_name<float>(), adam_update_multi<float>)
PN_PROFILE_TWIN(multi_twin_name<double>(), adam_update_multi<double>)
PN_PROFILE_TWIN("sgd_update", sgd_update<float>)
PN_PROFILE_TWIN("sgd_update", sgd_update<double>)

}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda

PN_PROFILE_TWIN_UNIT(optim)
