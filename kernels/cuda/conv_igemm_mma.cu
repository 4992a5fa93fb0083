// The forward convolution as an implicit GEMM on tensor cores (nvcuda::wmma,
// kernels/cuda/wmma_api.h) for 16-bit data: production for bf16 / fp16 channels-first forward
// convolutions under run.conv = "implicit_gemm" (dnn.cpp), and version 3 of the workbench's
// conv3d family (with a float32 y, to see the accumulation unrounded).
//
// The GEMM (as conv_igemm.cu's forward, here on tensor cores):
//   y viewed as [C_out] x [N * out volume] = W [C_out, C_in k^3] times the column matrix of x
//   [C_in k^3, N * out volume], never materialised. A block of 4 warps computes a 32 x 32 tile
//   of y, each warp one 16 x 16 quarter in a float accumulator fragment. Each step of 16 along
//   the reduction stages a 32 x 16 slice of W and a 16 x 32 slice of the gathered columns
//   (zeros in the padding and past the edges) in shared memory, from which every warp loads
//   its matrix_a and matrix_b fragments and calls mma_sync (16 x 16 x 16 products, exact in
//   float for bf16 / fp16 inputs, accumulated in float). The accumulators go through shared
//   memory to y, rounded once to y's type (rows of the tile are output channels, columns
//   output positions, so consecutive threads store consecutive positions).
#include "kernels/cuda/conv_igemm.h"
#include "kernels/cuda/device.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/storage_types.h"
#include "kernels/cuda/wmma_api.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {

namespace {

using kernels::ConvGeom;
constexpr int kTileM = 32, kTileN = 32, kTileK = 16, kFrag = 16;
constexpr int kLdW = kTileK + 8;    // 48-byte rows: 32-byte aligned fragments at rows 0 and 16
constexpr int kLdCol = kTileN + 8;  // 80-byte rows: fragments at columns 0 and 16 (32 bytes)
constexpr int kLdY = kTileN + 4;    // float rows of 144 bytes: fragments at rows 0, 16 and columns 0, 16
constexpr unsigned kThreads = 128;  // 4 warps: warp i computes quarter (i / 2, i % 2) of the tile

// The staged operands (T) and the tile of y (float), 32-byte aligned as wmma requires.
template <class T>
struct alignas(32) OperandTiles {
  T w[kTileM][kLdW];      // w[m][k] = W[m0 + m, k0 + k]
  T col[kTileK][kLdCol];  // col[k][n] = column (k0 + k, q0 + n)
};
struct alignas(32) OutputTile {
  float y[kTileM][kLdY];
};

// The column matrix's element (row r = (ci, a, b, c), column q = (n, od, oh, ow)): x at the
// window position, 0 in the padding.
template <class T>
__device__ __forceinline__ T column_value(const ConvGeom& g, const T* x, int64_t r, int64_t q) {
  const int64_t kv = g.k[0] * g.k[1] * g.k[2], ov = g.out[0] * g.out[1] * g.out[2];
  const int64_t ci = r / kv, kr = r % kv, a = kr / (g.k[1] * g.k[2]), b = kr / g.k[2] % g.k[1], c = kr % g.k[2];
  const int64_t n = q / ov, p = q % ov, od = p / (g.out[1] * g.out[2]), oh = p / g.out[2] % g.out[1], ow = p % g.out[2];
  const int64_t id = od * g.stride[0] - g.pad[0] + a, ih = oh * g.stride[1] - g.pad[1] + b,
                iw = ow * g.stride[2] - g.pad[2] + c;
  if (id < 0 || id >= g.in[0] || ih < 0 || ih >= g.in[1] || iw < 0 || iw >= g.in[2])
    return StorageType<T>::from_compute(0.f);
  return x[(((n * g.C_in + ci) * g.in[0] + id) * g.in[1] + ih) * g.in[2] + iw];
}

// Stages slice k0 of W (lanes along the reduction) and of the columns (lanes along positions).
template <class T>
__device__ __forceinline__ void stage_operands(const ConvGeom& g, const T* x, const T* w, int64_t m0, int64_t q0,
                                               int64_t k0, int64_t rows, int64_t cols, OperandTiles<T>& s) {
  const T zero = StorageType<T>::from_compute(0.f);
  for (unsigned i = threadIdx.x; i < kTileM * kTileK; i += blockDim.x) {
    const unsigned kk = i % kTileK, mm = i / kTileK;
    s.w[mm][kk] = m0 + mm < g.C_out && k0 + kk < rows ? w[(m0 + mm) * rows + k0 + kk] : zero;
  }
  for (unsigned i = threadIdx.x; i < kTileK * kTileN; i += blockDim.x) {
    const unsigned nn = i % kTileN, kk = i / kTileN;
    s.col[kk][nn] = q0 + nn < cols && k0 + kk < rows ? column_value(g, x, k0 + kk, q0 + nn) : zero;
  }
}

template <class T, class Out>
__global__ void forward_wmma_kernel(ConvGeom g, const T* x, const T* w, Out* y) {
#if PN_WMMA_BF16
  namespace wmma = nvcuda::wmma;
  PN_SHARED(OperandTiles<T>, s);
  PN_SHARED(OutputTile, out);
  const int64_t rows = g.C_in * g.k[0] * g.k[1] * g.k[2], ov = g.out[0] * g.out[1] * g.out[2], cols = g.N * ov;
  const int64_t m0 = static_cast<int64_t>(blockIdx.y) * kTileM, q0 = static_cast<int64_t>(blockIdx.x) * kTileN;
  const unsigned warp = threadIdx.x / 32, wm = warp / 2 * kFrag, wn = warp % 2 * kFrag;
  wmma::fragment<wmma::accumulator, kFrag, kFrag, kFrag, float> acc;
  wmma::fill_fragment(acc, 0.0f);
  for (int64_t k0 = 0; k0 < rows; k0 += kTileK) {
    stage_operands(g, x, w, m0, q0, k0, rows, cols, s);
    __syncthreads();
    // acc += W[wm .. wm + 15, k0 .. k0 + 15] columns[k0 .. k0 + 15, wn .. wn + 15]
    wmma::fragment<wmma::matrix_a, kFrag, kFrag, kFrag, T, wmma::row_major> fa;
    wmma::fragment<wmma::matrix_b, kFrag, kFrag, kFrag, T, wmma::row_major> fb;
    wmma::load_matrix_sync(fa, &s.w[wm][0], kLdW);
    wmma::load_matrix_sync(fb, &s.col[0][wn], kLdCol);
    wmma::mma_sync(acc, fa, fb, acc);
    __syncthreads();  // the next slice overwrites the staged operands
  }
  wmma::store_matrix_sync(&out.y[wm][wn], acc, kLdY, wmma::mem_row_major);
  __syncthreads();
  for (unsigned i = threadIdx.x; i < kTileM * kTileN; i += blockDim.x) {  // y[n, m, p] = tile (m, q)
    const unsigned nn = i % kTileN, mm = i / kTileN;
    const int64_t q = q0 + nn, m = m0 + mm;
    if (q < cols && m < g.C_out) y[(q / ov * g.C_out + m) * ov + q % ov] = StorageType<Out>::from_compute(out.y[mm][nn]);
  }
#else
  __trap();  // 16-bit fragments here need sm_80 or newer (PENUMBRA_CUDA_ARCHITECTURES)
#endif
}

}  // namespace

template <class T, class Out>
void conv_igemm_forward_mma(const ConvGeom& g, const T* x, const T* w, Out* y, cudaStream_t stream) {
  PN_PROFILE_DISPATCH("conv_igemm_forward_mma", (conv_igemm_forward_mma<T, Out>), g, x, w, y, stream);
  const int64_t cols = g.N * g.out_volume();
  if (cols <= 0 || g.C_out <= 0) return;
  const int64_t shape[5] = {g.N, g.C_in, g.in[0], g.in[1], g.in[2]};
  ErrorScope scope("conv_forward (implicit GEMM, tensor cores)", shape, 5);
  const dim3 grid(static_cast<unsigned>((cols + kTileN - 1) / kTileN),
                  static_cast<unsigned>((g.C_out + kTileM - 1) / kTileM));
  launch(forward_wmma_kernel<T, Out>, grid, dim3(kThreads), 0, stream, g, x, w, y);
}

template void conv_igemm_forward_mma<__nv_bfloat16, __nv_bfloat16>(const ConvGeom&, const __nv_bfloat16*,
                                                                   const __nv_bfloat16*, __nv_bfloat16*, cudaStream_t);
template void conv_igemm_forward_mma<__nv_bfloat16, float>(const ConvGeom&, const __nv_bfloat16*, const __nv_bfloat16*,
                                                           float*, cudaStream_t);
template void conv_igemm_forward_mma<__half, __half>(const ConvGeom&, const __half*, const __half*, __half*,
                                                     cudaStream_t);
PN_PROFILE_TWIN("conv_igemm_forward_mma", (conv_igemm_forward_mma<__nv_bfloat16, __nv_bfloat16>))
PN_PROFILE_TWIN("conv_igemm_forward_mma", (conv_igemm_forward_mma<__nv_bfloat16, float>))
PN_PROFILE_TWIN("conv_igemm_forward_mma", (conv_igemm_forward_mma<__half, __half>))

}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda

PN_PROFILE_TWIN_UNIT(conv_igemm_mma)
