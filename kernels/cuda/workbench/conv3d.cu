// Workbench family "conv3d": the forward 3-D convolution (no bias) of float32
// x [N, C_in, D, H, W] with w [C_out, C_in, kd, kh, kw], stride and zero padding, in numbered
// versions.
//   1  production (kernels/cuda/dnn.cpp conv_forward): cuDNN (under the emulator its emulation,
//      a library call, so the profile shows no kernel of ours)
//   2  our own implicit GEMM: y viewed as [C_out] x [N * out volume] = W [C_out, C_in k^3] times
//      the column matrix of x, never materialised: a block computes a 32 x 32 tile of y with
//      256 threads (4 outputs each), staging 32 x 16 tiles of W and of the columns in shared
//      memory (the columns gathered from x on the fly, zeros in the padding); float accumulation
//   3  implicit GEMM on tensor cores (nvcuda::wmma), bf16 x and w, float accumulation
//      (workbench/conv3d_mma.cu, with its own check on bf16-rounded inputs and its own case)
// Backward passes are not written yet. The check runs every version on
// padded, strided, 2-D-like (D = 1) and pointwise geometries with ragged tiles against the CPU
// reference convolution (kernels/cpu/conv_reference.h), within 1e-5 of the sum of |w x| terms.
#include <cmath>

#include "kernels/cpu/conv_reference.h"
#include "kernels/cuda/device.h"
#include "kernels/cuda/dnn.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/workbench/buffers.h"
#include "kernels/cuda/workbench/conv3d_mma.h"
#include "kernels/cuda/workbench/family.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {
namespace workbench {

namespace {

using kernels::ConvGeom;
constexpr int kTileM = 32;  // output channels per block
constexpr int kTileN = 32;  // output positions (over N and the output volume) per block
constexpr int kTileK = 16;  // reduction slice (C_in k^3) staged per step
constexpr unsigned kThreads = 256;

// The column matrix's element (row r = (ci, a, b, c), column q = (n, od, oh, ow)): x at the
// window position, 0 in the padding.
__device__ __forceinline__ float column_value(const ConvGeom& g, const float* x, int64_t r, int64_t q) {
  const int64_t kv = g.k[0] * g.k[1] * g.k[2], ov = g.out[0] * g.out[1] * g.out[2];
  const int64_t ci = r / kv, kr = r % kv, a = kr / (g.k[1] * g.k[2]), b = kr / g.k[2] % g.k[1], c = kr % g.k[2];
  const int64_t n = q / ov, p = q % ov, od = p / (g.out[1] * g.out[2]), oh = p / g.out[2] % g.out[1], ow = p % g.out[2];
  const int64_t id = od * g.stride[0] - g.pad[0] + a, ih = oh * g.stride[1] - g.pad[1] + b,
                iw = ow * g.stride[2] - g.pad[2] + c;
  if (id < 0 || id >= g.in[0] || ih < 0 || ih >= g.in[1] || iw < 0 || iw >= g.in[2]) return 0.f;
  return x[(((n * g.C_in + ci) * g.in[0] + id) * g.in[1] + ih) * g.in[2] + iw];
}

// Thread t computes rows (t / 32) * 4 .. + 3 of the tile at column t % 32: consecutive lanes
// take consecutive output positions, so the column gathers and the stores run along W.
__global__ void implicit_gemm_kernel(ConvGeom g, const float* x, const float* w, float* y) {
  PN_SHARED(float[kTileK][kTileM + 1], w_tile);  // w_tile[k][m] = W[m0 + m, k0 + k]
  PN_SHARED(float[kTileK][kTileN], col_tile);    // col_tile[k][n] = column (k0 + k, q0 + n)
  const int64_t rows = g.C_in * g.k[0] * g.k[1] * g.k[2], cols = g.N * g.out[0] * g.out[1] * g.out[2];
  const int64_t m0 = static_cast<int64_t>(blockIdx.y) * kTileM, q0 = static_cast<int64_t>(blockIdx.x) * kTileN;
  const unsigned t = threadIdx.x, tn = t % kTileN, tm = t / kTileN * 4;
  float acc[4] = {0.f, 0.f, 0.f, 0.f};
  for (int64_t k0 = 0; k0 < rows; k0 += kTileK) {
    for (unsigned i = t; i < kTileK * kTileM; i += blockDim.x) {  // W: lanes along the reduction
      const unsigned kk = i % kTileK, mm = i / kTileK;
      const bool in = m0 + mm < g.C_out && k0 + kk < rows;
      w_tile[kk][mm] = in ? w[(m0 + mm) * rows + k0 + kk] : 0.f;
    }
    for (unsigned i = t; i < kTileK * kTileN; i += blockDim.x) {  // columns: lanes along positions
      const unsigned nn = i % kTileN, kk = i / kTileN;
      const bool in = q0 + nn < cols && k0 + kk < rows;
      col_tile[kk][nn] = in ? column_value(g, x, k0 + kk, q0 + nn) : 0.f;
    }
    __syncthreads();
    for (int kk = 0; kk < kTileK; ++kk) {
      const float v = col_tile[kk][tn];
      for (int j = 0; j < 4; ++j) acc[j] += w_tile[kk][tm + j] * v;
    }
    __syncthreads();
  }
  const int64_t q = q0 + tn, ov = g.out[0] * g.out[1] * g.out[2];
  if (q >= cols) return;
  const int64_t n = q / ov, p = q % ov;
  for (int j = 0; j < 4; ++j) {
    const int64_t m = m0 + tm + j;
    if (m < g.C_out) y[(n * g.C_out + m) * ov + p] = acc[j];
  }
}

using ConvLauncher = void (*)(const ConvGeom& g, const float* x, const float* w, float* y, cudaStream_t stream);

void launch_v1(const ConvGeom& g, const float* x, const float* w, float* y, cudaStream_t stream) {
  conv_forward(g, x, w, y, stream);
}

void launch_v2(const ConvGeom& g, const float* x, const float* w, float* y, cudaStream_t stream) {
  const int64_t cols = g.N * g.out_volume();
  if (cols <= 0 || g.C_out <= 0) return;
  ErrorScope scope("workbench conv3d v2", cols * g.C_out);
  const dim3 grid(static_cast<unsigned>((cols + kTileN - 1) / kTileN), static_cast<unsigned>((g.C_out + kTileM - 1) / kTileM));
  launch(implicit_gemm_kernel, grid, dim3(kThreads), 0, stream, g, x, w, y);
}

constexpr ConvLauncher kLaunchers[] = {launch_v1, launch_v2};

ConvGeom conv_geom(int64_t n, int64_t c_in, int64_t c_out, const int64_t (&in)[3], const int64_t (&k)[3],
                   const int64_t (&stride)[3], const int64_t (&pad)[3]) {
  ConvGeom g;
  g.N = n;
  g.C_in = c_in;
  g.C_out = c_out;
  for (int d = 0; d < 3; ++d) {
    g.in[d] = in[d];
    g.k[d] = k[d];
    g.stride[d] = stride[d];
    g.pad[d] = pad[d];
    g.out[d] = ConvGeom::out_size(in[d], k[d], stride[d], pad[d]);
  }
  return g;
}

std::string check_version(int version) {
  if (version == 3) return conv3d_mma_check();
  const ConvGeom geoms[] = {conv_geom(2, 3, 5, {5, 7, 9}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}),
                            conv_geom(1, 4, 33, {6, 5, 11}, {3, 3, 3}, {2, 2, 2}, {0, 1, 1}),
                            conv_geom(2, 3, 7, {1, 9, 13}, {1, 3, 3}, {1, 1, 2}, {0, 1, 1}),
                            conv_geom(1, 17, 35, {2, 3, 7}, {1, 1, 1}, {1, 1, 1}, {0, 0, 0})};
  unsigned seed = 121;
  for (const ConvGeom& g : geoms) {
    const std::vector<float> x = random_values<float>(g.N * g.C_in * g.in_volume(), seed++);
    const std::vector<float> w = random_values<float>(g.C_out * g.col_rows(), seed++);
    std::vector<float> want(static_cast<size_t>(g.N * g.C_out * g.out_volume()));
    cpu::reference::conv_forward(g, x.data(), w.data(), want.data());
    DeviceBuffer<float> dx(x), dw(w), dy(static_cast<int64_t>(want.size()));
    kLaunchers[version - 1](g, dx.get(), dw.get(), dy.get(), nullptr);
    const std::string what = "conv [" + std::to_string(g.N) + ", " + std::to_string(g.C_in) + " -> " +
                             std::to_string(g.C_out) + ", " + std::to_string(g.in[0]) + ", " + std::to_string(g.in[1]) +
                             ", " + std::to_string(g.in[2]) + "], k " + std::to_string(g.k[1]) + ", stride " +
                             std::to_string(g.stride[2]);
    // Terms |w x| <= 1 each, col_rows() of them per output: float sums in other orders.
    const std::string failure = compare(dy.download(), want, 0, 1e-5 * static_cast<double>(g.col_rows()), what);
    if (!failure.empty()) return failure;
  }
  return "";
}

// 3x3x3, stride 1, pad 1, 16 -> 16 channels over [1, 16, n / 4096, 16, 16]: n input elements.
class ConvCase : public BenchCase {
 public:
  ConvCase(ConvLauncher f, int64_t n)
      : f_(f), g_(conv_geom(1, 16, 16, {n / (16 * 16 * 16), 16, 16}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1})),
        x_(random_values<float>(g_.C_in * g_.in_volume(), 3)), w_(random_values<float>(g_.C_out * g_.col_rows(), 4)),
        y_(g_.C_out * g_.out_volume()) {}
  void launch(cudaStream_t stream) override { f_(g_, x_.get(), w_.get(), y_.get(), stream); }
  double compulsory_bytes() const override {
    return 4.0 * static_cast<double>(x_.size() + w_.size() + y_.size());
  }
  double flops() const override { return 2.0 * g_.macs(); }
  std::string problem() const override {
    return "conv 3x3x3, 16 -> 16 channels, [1, 16, " + std::to_string(g_.in[0]) + ", 16, 16] float32";
  }

 private:
  ConvLauncher f_;
  ConvGeom g_;
  DeviceBuffer<float> x_, w_, y_;
};

std::unique_ptr<BenchCase> bench_version(int version, int64_t n) {
  if (version == 3) return conv3d_mma_bench(n);
  return std::make_unique<ConvCase>(kLaunchers[version - 1], n);
}

}  // namespace

const Family& conv3d_family() {
  static const Family f{"conv3d",
                        "3-d convolution forward, float32, no bias (kernels/cuda/dnn.cpp conv_forward)",
                        {{1, "production: cuDNN's forward convolution"},
                         {2, "implicit GEMM of our own: 32 x 32 output tiles, W and gathered columns in shared memory"},
                         {3, "implicit GEMM on tensor cores (wmma 16x16x16), bf16 in, float accumulation and out"}},
                        check_version,
                        bench_version,
                        int64_t{1} << 24,
                        int64_t{1} << 14};
  return f;
}

}  // namespace workbench
}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda
