// Our implicit-GEMM 3-D convolution (conv_igemm.h): one tiled GEMM kernel, three problems.
//
// Every pass is C[M, N] = A[M, K] x B[K, N], with A and B read element by element from the
// tensors (nothing materialised). With kv = kd kh kw taps, iv / ov the input / output volumes:
//
//   forward          y[n, co, o]   = sum_{ci, tap} w[co, ci, tap] x[n, ci, o stride - pad + tap]
//                    M = C_out, N = batch x ov (n, o), K = C_in kv (ci, tap)
//                    A = w viewed [C_out, C_in kv] (rows contiguous), B = the column matrix of x
//   backward data    dx[n, ci, i]  = sum_{co, tap} w[co, ci, tap] dy[n, co, (i + pad - tap) / stride]
//                    M = C_in, N = batch x iv (n, i), K = C_out kv (co, tap)
//                    A = w transposed (A[ci, (co, tap)]), B = dy gathered at the output position
//                    each (i, tap) comes from: 0 where i + pad - tap is not a multiple of the
//                    stride or falls outside the output (every dx element written once, no atomics)
//   backward weight  dw[co, ci, tap] = sum_{n, o} dy[n, co, o] x[n, ci, o stride - pad + tap]
//                    M = C_out, N = C_in kv (ci, tap), K = batch x ov (n, o)
//                    A = dy viewed [C_out, batch x ov] per sample, B = the column matrix transposed
//                    K is long (millions) and M x N small, so K is split over blockIdx.z into
//                    chunks whose partial products go to a workspace [split, M, N], summed in
//                    split order by a second kernel (fixed order: the same bits every run)
//
// The kernel: a block of 256 threads computes a 32 x 32 tile of C (thread t: rows (t / 32) 4
// .. + 3 at column t % 32, so consecutive lanes store consecutive columns), stepping over K in
// slices of 16: a 16 x 32 slice of A and of B staged in shared memory (one padding column, so
// that neither the loads nor the reads of a tile conflict on banks), zeros outside the matrix
// and in the convolution's padding. Each problem says which index runs along the tensor's
// memory, and the tile's loads put consecutive lanes there (kALanesAlongK / kBLanesAlongK).
//
// 16-bit data (bf16, fp16) runs the same three problems on tensor cores (nvcuda::wmma,
// kernels/cuda/wmma_api.h): a block of 4 warps, each computing one 16 x 16 quarter of the tile in
// a float accumulator fragment; per slice of 16 the A and B tiles are staged in shared memory in
// the 16-bit type (values from the tensors, so exact), A as [k][m] read as a col_major
// matrix_a, B as [k][n] read as a row_major matrix_b, then mma_sync (products exact in float,
// float sums); the accumulators go through shared memory to the output (rounded once) or to the
// float split workspace.
#include <type_traits>

#include "kernels/cuda/check.h"
#include "kernels/cuda/conv_igemm.h"
#include "kernels/cuda/device.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/storage_types.h"
#include "kernels/cuda/wmma_api.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {

namespace {

using kernels::ConvGeom;
constexpr int kTileM = 32;
constexpr int kTileN = 32;
constexpr int kTileK = 16;
constexpr unsigned kThreads = 256;
constexpr unsigned kWmmaThreads = 128;  // 4 warps: warp i computes quarter (i / 2, i % 2) of the tile
constexpr int kFrag = 16;
constexpr int kLd16 = kTileN + 8;       // 16-bit tile rows of 80 bytes: fragments at columns 0 and 16 32-byte aligned
constexpr int kLdAcc = kTileN + 4;      // float rows of 144 bytes

template <class T>
__device__ __forceinline__ float to_float(T v) {
  return StorageType<T>::to_compute(v);
}

// The sizes the gathers need, precomputed on the host (ConvGeom's methods are host code).
struct ConvDims {
  int64_t batch, c_in, c_out;
  int64_t in[3], k[3], stride[3], pad[3], out[3];
  int64_t iv, ov, kv;  // input, output and kernel volumes
};

ConvDims conv_dims(const ConvGeom& g) {
  ConvDims d{};
  d.batch = g.N, d.c_in = g.C_in, d.c_out = g.C_out;
  for (int i = 0; i < 3; ++i) d.in[i] = g.in[i], d.k[i] = g.k[i], d.stride[i] = g.stride[i], d.pad[i] = g.pad[i];
  for (int i = 0; i < 3; ++i) d.out[i] = g.out[i];
  d.iv = g.in_volume(), d.ov = g.out_volume(), d.kv = g.k_volume();
  return d;
}

// The column matrix's element (row r = (ci, tap), column q = (n, o)): x at the window
// position of tap for output o, 0 in the padding.
template <class T>
__device__ __forceinline__ float column_value(const ConvDims& d, const T* x, int64_t r, int64_t q) {
  const int64_t ci = r / d.kv, tap = r % d.kv, a = tap / (d.k[1] * d.k[2]), b = tap / d.k[2] % d.k[1], c = tap % d.k[2];
  const int64_t n = q / d.ov, o = q % d.ov, od = o / (d.out[1] * d.out[2]), oh = o / d.out[2] % d.out[1], ow = o % d.out[2];
  const int64_t id = od * d.stride[0] - d.pad[0] + a, ih = oh * d.stride[1] - d.pad[1] + b,
                iw = ow * d.stride[2] - d.pad[2] + c;
  if (id < 0 || id >= d.in[0] || ih < 0 || ih >= d.in[1] || iw < 0 || iw >= d.in[2]) return 0.f;
  return to_float(x[(((n * d.c_in + ci) * d.in[0] + id) * d.in[1] + ih) * d.in[2] + iw]);
}

// The output position along one axis that input position i sees through tap t, or -1.
__device__ __forceinline__ int64_t source_position(int64_t i, int64_t t, int64_t stride, int64_t pad, int64_t out) {
  const int64_t s = i + pad - t;
  if (s < 0 || s % stride != 0 || s / stride >= out) return -1;
  return s / stride;
}

// Forward: M = C_out, N = batch x ov, K = C_in kv. (Out: y's type; float for the workbench's
// unrounded bf16 version.)
template <class T, class Out = T>
struct ForwardGemm {
  using Storage = T;
  static constexpr bool kALanesAlongK = true;   // w's rows run along (ci, tap)
  static constexpr bool kBLanesAlongK = false;  // the columns run along the output positions
  ConvDims d;
  const T *x, *w;
  Out* y;
  int64_t M, N, K;
  __device__ float a(int64_t m, int64_t k) const { return to_float(w[m * K + k]); }
  __device__ float b(int64_t k, int64_t n) const { return column_value(d, x, k, n); }
  __device__ void store(int64_t m, int64_t n, float v) const {
    y[(n / d.ov * d.c_out + m) * d.ov + n % d.ov] = StorageType<Out>::from_compute(v);
  }
};

// Backward data: M = C_in, N = batch x iv, K = C_out kv.
template <class T>
struct BackwardDataGemm {
  using Storage = T;
  static constexpr bool kALanesAlongK = true;   // w[co, ci, tap] runs along tap
  static constexpr bool kBLanesAlongK = false;  // dy and dx run along the positions
  ConvDims d;
  const T *dy, *w;
  T* dx;
  int64_t M, N, K;
  __device__ float a(int64_t m, int64_t k) const { return to_float(w[(k / d.kv * d.c_in + m) * d.kv + k % d.kv]); }
  __device__ float b(int64_t k, int64_t n) const {
    const int64_t co = k / d.kv, tap = k % d.kv, ta = tap / (d.k[1] * d.k[2]), tb = tap / d.k[2] % d.k[1],
                  tc = tap % d.k[2];
    const int64_t s = n / d.iv, i = n % d.iv, id = i / (d.in[1] * d.in[2]), ih = i / d.in[2] % d.in[1],
                  iw = i % d.in[2];
    const int64_t od = source_position(id, ta, d.stride[0], d.pad[0], d.out[0]);
    const int64_t oh = source_position(ih, tb, d.stride[1], d.pad[1], d.out[1]);
    const int64_t ow = source_position(iw, tc, d.stride[2], d.pad[2], d.out[2]);
    if (od < 0 || oh < 0 || ow < 0) return 0.f;
    return to_float(dy[(s * d.c_out + co) * d.ov + (od * d.out[1] + oh) * d.out[2] + ow]);
  }
  __device__ void store(int64_t m, int64_t n, float v) const {
    dx[(n / d.iv * d.c_in + m) * d.iv + n % d.iv] = StorageType<T>::from_compute(v);
  }
};

// Backward weight: M = C_out, N = C_in kv, K = batch x ov (split over blockIdx.z).
template <class T>
struct BackwardWeightGemm {
  using Storage = T;
  static constexpr bool kALanesAlongK = true;  // dy runs along the output positions
  static constexpr bool kBLanesAlongK = true;  // so does the column matrix's row
  ConvDims d;
  const T *x, *dy;
  T* dw;
  int64_t M, N, K;
  __device__ float a(int64_t m, int64_t k) const { return to_float(dy[(k / d.ov * d.c_out + m) * d.ov + k % d.ov]); }
  __device__ float b(int64_t k, int64_t n) const { return column_value(d, x, n, k); }
  __device__ void store(int64_t m, int64_t n, float v) const { dw[m * N + n] = StorageType<T>::from_compute(v); }
};

// The A or B operand of problem P as a function of (k, j): what load_tile reads.
template <class P, bool kIsA>
struct Operand {
  const P& p;
  __device__ float operator()(int64_t k, int64_t j) const { return kIsA ? p.a(j, k) : p.b(k, j); }
};

// tile[kk][jj] = value(k0 + kk, j0 + jj) for the 16 x 32 slice (0 past k_end or j_end), in the
// tile's element type E (float, or the tensors' 16-bit type: exact, the values came from it),
// with consecutive threads along k (kAlongK) or along j: along the operand's memory.
template <bool kAlongK, class E, int kLd, class F>
__device__ __forceinline__ void load_tile(E (*tile)[kLd], F value, int64_t k0, int64_t k_end, int64_t j0,
                                          int64_t j_end) {
  for (unsigned i = threadIdx.x; i < kTileK * kTileN; i += blockDim.x) {
    const unsigned kk = kAlongK ? i % kTileK : i / kTileN, jj = kAlongK ? i / kTileK : i % kTileN;
    tile[kk][jj] = StorageType<E>::from_compute(k0 + kk < k_end && j0 + jj < j_end ? value(k0 + kk, j0 + jj) : 0.f);
  }
}

// C's 32 x 32 tile (blockIdx.y, blockIdx.x) over K's chunk blockIdx.z (k_chunk long): stored
// through p.store when the chunk is all of K, else into partial[blockIdx.z][M][N].
template <class P>
__global__ void igemm_kernel(P p, int64_t k_chunk, float* partial) {
  static_assert(kTileM == kTileN, "load_tile stages both operands in 32-wide tiles");
  PN_SHARED(float[kTileK][kTileM + 1], a_tile);  // a_tile[kk][m] = A[m0 + m, k0 + kk]
  PN_SHARED(float[kTileK][kTileN + 1], b_tile);  // b_tile[kk][n] = B[k0 + kk, n0 + n]
  const int64_t m0 = static_cast<int64_t>(blockIdx.y) * kTileM, n0 = static_cast<int64_t>(blockIdx.x) * kTileN;
  const int64_t k_begin = static_cast<int64_t>(blockIdx.z) * k_chunk;
  const int64_t k_end = k_begin + k_chunk < p.K ? k_begin + k_chunk : p.K;
  const unsigned t = threadIdx.x, tn = t % kTileN, tm = t / kTileN * 4;
  float acc[4] = {0.f, 0.f, 0.f, 0.f};
  for (int64_t k0 = k_begin; k0 < k_end; k0 += kTileK) {
    load_tile<P::kALanesAlongK>(a_tile, Operand<P, true>{p}, k0, k_end, m0, p.M);
    load_tile<P::kBLanesAlongK>(b_tile, Operand<P, false>{p}, k0, k_end, n0, p.N);
    __syncthreads();
    for (int kk = 0; kk < kTileK; ++kk) {
      const float v = b_tile[kk][tn];
      for (int j = 0; j < 4; ++j) acc[j] += a_tile[kk][tm + j] * v;
    }
    __syncthreads();
  }
  const int64_t n = n0 + tn;
  if (n >= p.N) return;
  for (int j = 0; j < 4; ++j) {
    const int64_t m = m0 + tm + j;
    if (m >= p.M) continue;
    if (gridDim.z == 1) p.store(m, n, acc[j]);
    else partial[(static_cast<int64_t>(blockIdx.z) * p.M + m) * p.N + n] = acc[j];
  }
}

// The 16-bit operand tiles ([k][m] and [k][n]) and the float accumulator tile, 32-byte aligned
// as wmma requires.
template <class T>
struct alignas(32) Tiles16 {
  T a[kTileK][kLd16];
  T b[kTileK][kLd16];
};
struct alignas(32) AccumulatorTile {
  float c[kTileM][kLdAcc];
};

// As igemm_kernel, on tensor cores (16-bit P::Storage): 4 warps, each a 16 x 16 quarter.
template <class P>
__global__ void igemm_wmma_kernel(P p, int64_t k_chunk, float* partial) {
#if PN_WMMA_BF16
  namespace wmma = nvcuda::wmma;
  using T = typename P::Storage;
  PN_SHARED(Tiles16<T>, s);
  PN_SHARED(AccumulatorTile, acc_tile);
  const int64_t m0 = static_cast<int64_t>(blockIdx.y) * kTileM, n0 = static_cast<int64_t>(blockIdx.x) * kTileN;
  const int64_t k_begin = static_cast<int64_t>(blockIdx.z) * k_chunk;
  const int64_t k_end = k_begin + k_chunk < p.K ? k_begin + k_chunk : p.K;
  const unsigned warp = threadIdx.x / 32, wm = warp / 2 * kFrag, wn = warp % 2 * kFrag;
  wmma::fragment<wmma::accumulator, kFrag, kFrag, kFrag, float> acc;
  wmma::fill_fragment(acc, 0.0f);
  for (int64_t k0 = k_begin; k0 < k_end; k0 += kTileK) {
    load_tile<P::kALanesAlongK>(s.a, Operand<P, true>{p}, k0, k_end, m0, p.M);
    load_tile<P::kBLanesAlongK>(s.b, Operand<P, false>{p}, k0, k_end, n0, p.N);
    __syncthreads();
    // acc += A[wm .. wm + 15, k0 .. k0 + 15] B[k0 .. k0 + 15, wn .. wn + 15]
    wmma::fragment<wmma::matrix_a, kFrag, kFrag, kFrag, T, wmma::col_major> fa;  // s.a[k][m]
    wmma::fragment<wmma::matrix_b, kFrag, kFrag, kFrag, T, wmma::row_major> fb;  // s.b[k][n]
    wmma::load_matrix_sync(fa, &s.a[0][wm], kLd16);
    wmma::load_matrix_sync(fb, &s.b[0][wn], kLd16);
    wmma::mma_sync(acc, fa, fb, acc);
    __syncthreads();  // the next slice overwrites the staged operands
  }
  wmma::store_matrix_sync(&acc_tile.c[wm][wn], acc, kLdAcc, wmma::mem_row_major);
  __syncthreads();
  for (unsigned i = threadIdx.x; i < kTileM * kTileN; i += blockDim.x) {
    const unsigned nn = i % kTileN, mm = i / kTileN;
    const int64_t m = m0 + mm, n = n0 + nn;
    if (m >= p.M || n >= p.N) continue;
    if (gridDim.z == 1) p.store(m, n, acc_tile.c[mm][nn]);
    else partial[(static_cast<int64_t>(blockIdx.z) * p.M + m) * p.N + n] = acc_tile.c[mm][nn];
  }
#else
  __trap();  // 16-bit fragments here need sm_80 or newer (PENUMBRA_CUDA_ARCHITECTURES)
#endif
}

// out[i] = sum over s < splits of partial[s][i], in split order, rounded once to T.
template <class T>
__global__ void sum_splits_kernel(const float* partial, T* out, int64_t n, int64_t splits) {
  for (int64_t i = global_index(); i < n; i += grid_stride()) {
    float s = 0.f;
    for (int64_t z = 0; z < splits; ++z) s += partial[z * n + i];
    out[i] = StorageType<T>::from_compute(s);
  }
}

// Problem p's tiles over `splits` chunks of K: the float kernel, or tensor cores for 16-bit data.
template <class P>
void launch_gemm(const P& p, int64_t splits, int64_t k_chunk, float* partial, cudaStream_t stream);

dim3 tile_grid(int64_t m, int64_t n, int64_t splits) {
  return dim3(static_cast<unsigned>((n + kTileN - 1) / kTileN), static_cast<unsigned>((m + kTileM - 1) / kTileM),
              static_cast<unsigned>(splits));
}

// The length of K each split covers: a whole number of 16-long slices.
int64_t split_chunk(int64_t k, int64_t splits) {
  const int64_t slices = (k + kTileK - 1) / kTileK;
  return (slices + splits - 1) / splits * kTileK;
}

template <class P>
void launch_gemm(const P& p, int64_t splits, int64_t k_chunk, float* partial, cudaStream_t stream) {
  if constexpr (std::is_same_v<typename P::Storage, float>)
    launch(igemm_kernel<P>, tile_grid(p.M, p.N, splits), dim3(kThreads), 0, stream, p, k_chunk, partial);
  else
    launch(igemm_wmma_kernel<P>, tile_grid(p.M, p.N, splits), dim3(kWmmaThreads), 0, stream, p, k_chunk, partial);
}

template <class P>
void launch_unsplit(const P& p, cudaStream_t stream) {
  if (p.M <= 0 || p.N <= 0) return;
  if (p.K <= 0) throw CudaError("conv_igemm: a convolution with an empty reduction (C k^3 = 0)", cudaErrorInvalidValue);
  launch_gemm(p, 1, p.K, static_cast<float*>(nullptr), stream);
}

// The split partial products: stream-ordered, freed on the same stream at scope end.
class SplitWorkspace {
 public:
  SplitWorkspace(size_t floats, cudaStream_t s) : s_(s) {
    PN_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&p_), floats * sizeof(float), s_));
  }
  ~SplitWorkspace() { (void)cudaFreeAsync(p_, s_); }
  SplitWorkspace(const SplitWorkspace&) = delete;
  SplitWorkspace& operator=(const SplitWorkspace&) = delete;
  float* get() const { return p_; }

 private:
  float* p_ = nullptr;
  cudaStream_t s_;
};

}  // namespace

int64_t conv_igemm_weight_splits(const ConvGeom& g) {
  constexpr int64_t kTargetBlocks = 512;
  const int64_t tiles = ((g.C_out + kTileM - 1) / kTileM) * ((g.col_rows() + kTileN - 1) / kTileN);
  const int64_t k = g.N * g.out_volume(), slices = (k + kTileK - 1) / kTileK;
  if (tiles <= 0 || k <= 0) return 1;
  int64_t splits = (kTargetBlocks + tiles - 1) / tiles;
  splits = splits < slices ? splits : slices;
  splits = splits < 65535 ? splits : 65535;
  splits = splits > 1 ? splits : 1;
  return (k + split_chunk(k, splits) - 1) / split_chunk(k, splits);  // no empty split
}

namespace {

template <class T, class Out>
void forward(const ConvGeom& g, const T* x, const T* w, Out* y, cudaStream_t stream) {
  const int64_t shape[5] = {g.N, g.C_in, g.in[0], g.in[1], g.in[2]};
  ErrorScope scope("conv_igemm_forward", shape, 5);
  launch_unsplit(ForwardGemm<T, Out>{conv_dims(g), x, w, y, g.C_out, g.N * g.out_volume(), g.col_rows()}, stream);
}

template <class T>
void backward_input(const ConvGeom& g, const T* dy, const T* w, T* dx, cudaStream_t stream) {
  const int64_t shape[5] = {g.N, g.C_in, g.in[0], g.in[1], g.in[2]};
  ErrorScope scope("conv_igemm_backward_input", shape, 5);
  launch_unsplit(BackwardDataGemm<T>{conv_dims(g), dy, w, dx, g.C_in, g.N * g.in_volume(), g.C_out * g.k_volume()},
                 stream);
}

template <class T>
void backward_weight(const ConvGeom& g, const T* x, const T* dy, T* dw, cudaStream_t stream) {
  const int64_t shape[5] = {g.C_out, g.C_in, g.k[0], g.k[1], g.k[2]};
  ErrorScope scope("conv_igemm_backward_weight", shape, 5);
  const BackwardWeightGemm<T> p{conv_dims(g), x, dy, dw, g.C_out, g.col_rows(), g.N * g.out_volume()};
  const int64_t splits = conv_igemm_weight_splits(g);
  if (splits == 1) return launch_unsplit(p, stream);
  const int64_t mn = p.M * p.N;
  const SplitWorkspace partial(static_cast<size_t>(splits * mn), stream);
  launch_gemm(p, splits, split_chunk(p.K, splits), partial.get(), stream);
  launch(sum_splits_kernel<T>, dim3(grid_for(mn, kThreads)), dim3(kThreads), 0, stream,
         static_cast<const float*>(partial.get()), dw, mn, splits);
}

}  // namespace

void conv_igemm_forward(const ConvGeom& g, const float* x, const float* w, float* y, cudaStream_t stream) {
  PN_PROFILE_DISPATCH("conv_igemm_forward", conv_igemm_forward, g, x, w, y, stream);
  forward(g, x, w, y, stream);
}

void conv_igemm_backward_input(const ConvGeom& g, const float* dy, const float* w, float* dx, cudaStream_t stream) {
  PN_PROFILE_DISPATCH("conv_igemm_backward_input", conv_igemm_backward_input, g, dy, w, dx, stream);
  backward_input(g, dy, w, dx, stream);
}

void conv_igemm_backward_weight(const ConvGeom& g, const float* x, const float* dy, float* dw, cudaStream_t stream) {
  PN_PROFILE_DISPATCH("conv_igemm_backward_weight", conv_igemm_backward_weight, g, x, dy, dw, stream);
  backward_weight(g, x, dy, dw, stream);
}

template <class T, class Out>
void conv_igemm_forward_mma(const ConvGeom& g, const T* x, const T* w, Out* y, cudaStream_t stream) {
  PN_PROFILE_DISPATCH("conv_igemm_forward_mma", (conv_igemm_forward_mma<T, Out>), g, x, w, y, stream);
  forward(g, x, w, y, stream);
}

template <class T>
void conv_igemm_backward_input_mma(const ConvGeom& g, const T* dy, const T* w, T* dx, cudaStream_t stream) {
  PN_PROFILE_DISPATCH("conv_igemm_backward_input_mma", conv_igemm_backward_input_mma<T>, g, dy, w, dx, stream);
  backward_input(g, dy, w, dx, stream);
}

template <class T>
void conv_igemm_backward_weight_mma(const ConvGeom& g, const T* x, const T* dy, T* dw, cudaStream_t stream) {
  PN_PROFILE_DISPATCH("conv_igemm_backward_weight_mma", conv_igemm_backward_weight_mma<T>, g, x, dy, dw, stream);
  backward_weight(g, x, dy, dw, stream);
}

#define PN_INSTANTIATE_16BIT(T)                                                                                     \
  template void conv_igemm_forward_mma<T, T>(const ConvGeom&, const T*, const T*, T*, cudaStream_t);                 \
  template void conv_igemm_backward_input_mma<T>(const ConvGeom&, const T*, const T*, T*, cudaStream_t);             \
  template void conv_igemm_backward_weight_mma<T>(const ConvGeom&, const T*, const T*, T*, cudaStream_t);            \
  PN_PROFILE_TWIN("conv_igemm_forward_mma", (conv_igemm_forward_mma<T, T>))                                          \
  PN_PROFILE_TWIN("conv_igemm_backward_input_mma", conv_igemm_backward_input_mma<T>)                                 \
  PN_PROFILE_TWIN("conv_igemm_backward_weight_mma", conv_igemm_backward_weight_mma<T>)
PN_INSTANTIATE_16BIT(__nv_bfloat16)
PN_INSTANTIATE_16BIT(__half)
#undef PN_INSTANTIATE_16BIT
template void conv_igemm_forward_mma<__nv_bfloat16, float>(const ConvGeom&, const __nv_bfloat16*, const __nv_bfloat16*,
                                                           float*, cudaStream_t);
PN_PROFILE_TWIN("conv_igemm_forward_mma", (conv_igemm_forward_mma<__nv_bfloat16, float>))

// The profile twins of the entry points (launch.h).
PN_PROFILE_TWIN("conv_igemm_forward", conv_igemm_forward)
PN_PROFILE_TWIN("conv_igemm_backward_input", conv_igemm_backward_input)
PN_PROFILE_TWIN("conv_igemm_backward_weight", conv_igemm_backward_weight)

}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda

PN_PROFILE_TWIN_UNIT(conv_igemm)
