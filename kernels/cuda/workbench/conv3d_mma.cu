// Workbench family "conv3d", version 3 (conv3d.cu lists it): the forward convolution as an
// implicit GEMM on tensor cores (nvcuda::wmma, kernels/cuda/wmma_api.h), bf16 x and w, float
// accumulation and a float y. As version 2, y is viewed as [C_out] x [N * out volume] =
// W [C_out, C_in k^3] times the column matrix of x, never materialised; here a block of 4
// warps computes a 32 x 32 tile of y, each warp one 16 x 16 quarter with a float accumulator
// fragment, and each step of 16 along the reduction stages a 32 x 16 slice of W and a 16 x 32
// slice of the gathered columns (zeros in the padding and past the edges) in shared memory as
// bf16, from which every warp loads its matrix_a and matrix_b fragments and calls mma_sync.
// The accumulators go through shared memory to y (rows of the tile are output channels,
// columns output positions, so consecutive threads store consecutive positions).
// Its check and case are its own (bf16 data): the CPU reference convolution on the same
// bf16-rounded inputs, in float.
#include <cmath>

#include "kernels/cpu/conv_reference.h"
#include "kernels/cuda/device.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/storage_types.h"
#include "kernels/cuda/wmma_api.h"
#include "kernels/cuda/workbench/buffers.h"
#include "kernels/cuda/workbench/conv3d_mma.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {
namespace workbench {

namespace {

using kernels::ConvGeom;
using bf16 = __nv_bfloat16;
constexpr int kTileM = 32, kTileN = 32, kTileK = 16, kFrag = 16;
constexpr int kLdW = kTileK + 8;   // 48-byte rows: 32-byte aligned fragments at rows 0 and 16
constexpr int kLdCol = kTileN + 8;  // 80-byte rows: fragments at columns 0 and 16 (32 bytes)
constexpr int kLdY = kTileN + 4;    // float rows of 144 bytes: fragments at rows 0, 16 and columns 0, 16
constexpr unsigned kThreads = 128;  // 4 warps: warp i computes quarter (i / 2, i % 2) of the tile

// The staged operands (bf16) and the tile of y (float), 32-byte aligned as wmma requires.
struct alignas(32) OperandTiles {
  bf16 w[kTileM][kLdW];      // w[m][k] = W[m0 + m, k0 + k]
  bf16 col[kTileK][kLdCol];  // col[k][n] = column (k0 + k, q0 + n)
};
struct alignas(32) OutputTile {
  float y[kTileM][kLdY];
};

// The column matrix's element (row r = (ci, a, b, c), column q = (n, od, oh, ow)): x at the
// window position, 0 in the padding (as version 2's column_value, on bf16).
__device__ __forceinline__ bf16 column_value(const ConvGeom& g, const bf16* x, int64_t r, int64_t q) {
  const int64_t kv = g.k[0] * g.k[1] * g.k[2], ov = g.out[0] * g.out[1] * g.out[2];
  const int64_t ci = r / kv, kr = r % kv, a = kr / (g.k[1] * g.k[2]), b = kr / g.k[2] % g.k[1], c = kr % g.k[2];
  const int64_t n = q / ov, p = q % ov, od = p / (g.out[1] * g.out[2]), oh = p / g.out[2] % g.out[1], ow = p % g.out[2];
  const int64_t id = od * g.stride[0] - g.pad[0] + a, ih = oh * g.stride[1] - g.pad[1] + b,
                iw = ow * g.stride[2] - g.pad[2] + c;
  if (id < 0 || id >= g.in[0] || ih < 0 || ih >= g.in[1] || iw < 0 || iw >= g.in[2]) return __float2bfloat16(0.f);
  return x[(((n * g.C_in + ci) * g.in[0] + id) * g.in[1] + ih) * g.in[2] + iw];
}

// Stages slice k0 of W (lanes along the reduction) and of the columns (lanes along positions).
__device__ __forceinline__ void stage_operands(const ConvGeom& g, const bf16* x, const bf16* w, int64_t m0,
                                               int64_t q0, int64_t k0, int64_t rows, int64_t cols, OperandTiles& s) {
  const bf16 zero = __float2bfloat16(0.f);
  for (unsigned i = threadIdx.x; i < kTileM * kTileK; i += blockDim.x) {
    const unsigned kk = i % kTileK, mm = i / kTileK;
    s.w[mm][kk] = m0 + mm < g.C_out && k0 + kk < rows ? w[(m0 + mm) * rows + k0 + kk] : zero;
  }
  for (unsigned i = threadIdx.x; i < kTileK * kTileN; i += blockDim.x) {
    const unsigned nn = i % kTileN, kk = i / kTileN;
    s.col[kk][nn] = q0 + nn < cols && k0 + kk < rows ? column_value(g, x, k0 + kk, q0 + nn) : zero;
  }
}

__global__ void implicit_gemm_wmma_kernel(ConvGeom g, const bf16* x, const bf16* w, float* y) {
#if PN_WMMA_BF16
  namespace wmma = nvcuda::wmma;
  PN_SHARED(OperandTiles, s);
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
    wmma::fragment<wmma::matrix_a, kFrag, kFrag, kFrag, bf16, wmma::row_major> fa;
    wmma::fragment<wmma::matrix_b, kFrag, kFrag, kFrag, bf16, wmma::row_major> fb;
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
    if (q < cols && m < g.C_out) y[(q / ov * g.C_out + m) * ov + q % ov] = out.y[mm][nn];
  }
#else
  __trap();  // bf16 fragments need sm_80 or newer
#endif
}

void launch_mma(const ConvGeom& g, const bf16* x, const bf16* w, float* y, cudaStream_t stream) {
  const int64_t cols = g.N * g.out_volume();
  if (cols <= 0 || g.C_out <= 0) return;
  ErrorScope scope("workbench conv3d v3 (wmma)", cols * g.C_out);
  const dim3 grid(static_cast<unsigned>((cols + kTileN - 1) / kTileN),
                  static_cast<unsigned>((g.C_out + kTileM - 1) / kTileM));
  launch(implicit_gemm_wmma_kernel, grid, dim3(kThreads), 0, stream, g, x, w, y);
}

// Random values in [-1, 1] rounded to bf16: the device gets the bf16, the CPU their exact floats.
void bf16_values(int64_t n, unsigned seed, std::vector<bf16>& dev, std::vector<float>& host) {
  host = random_values<float>(n, seed);
  dev.resize(host.size());
  for (size_t i = 0; i < host.size(); ++i) {
    dev[i] = __float2bfloat16(host[i]);
    host[i] = __bfloat162float(dev[i]);
  }
}

}  // namespace

// Every product of bf16 values is exact in float, so the GPU and the CPU sum the same col_rows()
// = R terms of |w x| <= 1 in float in different orders: each within (R - 1) 2^-24 R of the exact
// sum, so the two within 2 R^2 2^-24 (a tile slice skipped, or the float inputs unrounded,
// errs by 2^-8 relative: far more).
std::string conv3d_mma_check() {
  const ConvGeom geoms[] = {ConvGeom::make(2, 3, 5, {5, 7, 9}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}),
                            ConvGeom::make(1, 4, 33, {6, 5, 11}, {3, 3, 3}, {2, 2, 2}, {0, 1, 1}),
                            ConvGeom::make(2, 3, 7, {1, 9, 13}, {1, 3, 3}, {1, 1, 2}, {0, 1, 1}),
                            ConvGeom::make(1, 17, 35, {2, 3, 7}, {1, 1, 1}, {1, 1, 1}, {0, 0, 0})};
  unsigned seed = 321;
  for (const ConvGeom& g : geoms) {
    std::vector<bf16> x, w;
    std::vector<float> xf, wf;
    bf16_values(g.N * g.C_in * g.in_volume(), seed++, x, xf);
    bf16_values(g.C_out * g.col_rows(), seed++, w, wf);
    std::vector<float> want(static_cast<size_t>(g.N * g.C_out * g.out_volume()));
    cpu::reference::conv_forward(g, xf.data(), wf.data(), want.data());
    DeviceBuffer<bf16> dx(x), dw(w);
    DeviceBuffer<float> dy(static_cast<int64_t>(want.size()));
    launch_mma(g, dx.get(), dw.get(), dy.get(), nullptr);
    const double r = static_cast<double>(g.col_rows());
    const std::string what = "conv (wmma, bf16) [" + std::to_string(g.N) + ", " + std::to_string(g.C_in) + " -> " +
                             std::to_string(g.C_out) + ", " + std::to_string(g.in[0]) + ", " + std::to_string(g.in[1]) +
                             ", " + std::to_string(g.in[2]) + "], k " + std::to_string(g.k[1]) + ", stride " +
                             std::to_string(g.stride[2]);
    const std::string failure = compare(dy.download(), want, 0, 2 * r * r * std::ldexp(1.0, -24), what);
    if (!failure.empty()) return failure;
  }
  return "";
}

namespace {

// 3x3x3, stride 1, pad 1, 16 -> 16 channels over [1, 16, n / 4096, 16, 16], bf16 in, float out.
class MmaConvCase : public BenchCase {
 public:
  explicit MmaConvCase(int64_t n)
      : g_(ConvGeom::make(1, 16, 16, {n / (16 * 16 * 16), 16, 16}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1})),
        x_(g_.C_in * g_.in_volume()), w_(g_.C_out * g_.col_rows()), y_(g_.C_out * g_.out_volume()) {
    std::vector<bf16> v;
    std::vector<float> f;
    bf16_values(x_.size(), 3, v, f);
    x_.upload(v);
    bf16_values(w_.size(), 4, v, f);
    w_.upload(v);
  }
  void launch(cudaStream_t stream) override { launch_mma(g_, x_.get(), w_.get(), y_.get(), stream); }
  double compulsory_bytes() const override { return 2.0 * static_cast<double>(x_.size() + w_.size()) + 4.0 * y_.size(); }
  double flops() const override { return 2.0 * g_.macs(); }
  std::string problem() const override {
    return "conv 3x3x3, 16 -> 16 channels, [1, 16, " + std::to_string(g_.in[0]) + ", 16, 16] bf16 in, float32 out";
  }

 private:
  ConvGeom g_;
  DeviceBuffer<bf16> x_, w_;
  DeviceBuffer<float> y_;
};

}  // namespace

std::unique_ptr<BenchCase> conv3d_mma_bench(int64_t n) { return std::make_unique<MmaConvCase>(n); }

}  // namespace workbench
}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda
