// bench_emulator: speed of the CUDA emulator (kernels/cuda/emu), the yardstick of how fast
// `penumbra-emu` can train. Two parts, both measured in one run (median of --reps after a
// warm-up, in process CPU time, so that other programs on the cores do not count; the stream
// policy is eager, so each call's work runs inside it):
//  1. Emulated cuDNN convolutions: ms per call of every emulated algorithm of each direction
//     (forward IMPLICIT_GEMM / IMPLICIT_PRECOMP_GEMM, backward data and filter ALGO_0 /
//     ALGO_1; float32, FMA math, packed NCDHW) on the 3x3x3 convs, the 2x2x2 stride-2
//     up-convolution and the 1x1x1 head of the segmentation U-Net (base 8, depth 2, batch 2)
//     at 8x16x16 and 16x32x32, next to the CPU reference kernels/cpu/conv (forward,
//     backward-input, backward-weight) on the same shape, with one OpenMP thread (the
//     emulator runs on one thread too).
//  2. Kernel launches: ns per emulated thread of kernels/cuda/elementwise.cu's unary map
//     (a grid-stride loop that never blocks; grids capped by grid_for at 32 blocks of 256
//     threads) at a few sizes, also with 500 other device allocations alive (as in training),
//     and ms per launch of a block reduction (reduce.cu: barriers and shuffles).
//
//   bench_emulator [--reps N] [--small-only] [--conv-only] [--launch-only]
#include <omp.h>

#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "kernels/op_geometry.h"
#include "kernels/cpu/conv.h"
#include "kernels/cuda/cudnn_api.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/reduce.h"

namespace {

// CPU time, not wall time: the cores are shared (the emulator and the 1-thread reference
// each use one).
double median_seconds(const std::function<void()>& fn, int reps) { return pn::bench::median_cpu_seconds(fn, reps); }
using pn::kernels::ConvGeom;
using pn::cuda::emu::ConvDirection;

void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "bench_emulator: %s failed: %s\n", what, pn::cuda::emu::last_error_detail());
    std::exit(1);
  }
}
#define BENCH_CUDNN(call) require((call) == CUDNN_STATUS_SUCCESS, #call)
#define BENCH_CUDA(call) require((call) == cudaSuccess, #call)

std::vector<float> random_floats(size_t n, unsigned seed) {
  std::vector<float> v(n);
  for (auto& x : v) {
    seed = seed * 1664525u + 1013904223u;
    x = static_cast<float>(seed >> 8) / 16777216.0f - 0.5f;
  }
  return v;
}

// A device copy of host data, freed at scope end.
struct DeviceBuffer {
  void* p = nullptr;
  DeviceBuffer(size_t bytes, const void* host = nullptr) {
    BENCH_CUDA(cudaMalloc(&p, bytes < 1 ? 1 : bytes));
    if (host) BENCH_CUDA(cudaMemcpy(p, host, bytes, cudaMemcpyHostToDevice));
  }
  ~DeviceBuffer() { (void)cudaFree(p); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
};

ConvGeom conv(int64_t n, int64_t c, int64_t k_out, const int64_t* in, int64_t k, int64_t stride, int64_t pad) {
  ConvGeom g;
  g.N = n, g.C_in = c, g.C_out = k_out;
  for (int a = 0; a < 3; ++a) {
    g.in[a] = in[a], g.k[a] = k, g.stride[a] = stride, g.pad[a] = pad;
    g.out[a] = ConvGeom::out_size(in[a], k, stride, pad);
  }
  return g;
}

// cuDNN descriptors of a ConvGeom: packed NCDHW x and y, KCRS filter, FMA math.
struct Descs {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t c = nullptr;
  explicit Descs(const ConvGeom& g) {
    auto packed = [](const int* d, int* s) {
      s[4] = 1;
      for (int i = 3; i >= 0; --i) s[i] = s[i + 1] * d[i + 1];
    };
    const int xd[5] = {int(g.N), int(g.C_in), int(g.in[0]), int(g.in[1]), int(g.in[2])};
    const int yd[5] = {int(g.N), int(g.C_out), int(g.out[0]), int(g.out[1]), int(g.out[2])};
    const int wd[5] = {int(g.C_out), int(g.C_in), int(g.k[0]), int(g.k[1]), int(g.k[2])};
    int xs[5], ys[5];
    packed(xd, xs);
    packed(yd, ys);
    const int pad[3] = {int(g.pad[0]), int(g.pad[1]), int(g.pad[2])};
    const int str[3] = {int(g.stride[0]), int(g.stride[1]), int(g.stride[2])}, dil[3] = {1, 1, 1};
    BENCH_CUDNN(cudnnCreateTensorDescriptor(&x));
    BENCH_CUDNN(cudnnCreateTensorDescriptor(&y));
    BENCH_CUDNN(cudnnCreateFilterDescriptor(&w));
    BENCH_CUDNN(cudnnCreateConvolutionDescriptor(&c));
    BENCH_CUDNN(cudnnSetTensorNdDescriptor(x, CUDNN_DATA_FLOAT, 5, xd, xs));
    BENCH_CUDNN(cudnnSetTensorNdDescriptor(y, CUDNN_DATA_FLOAT, 5, yd, ys));
    BENCH_CUDNN(cudnnSetFilterNdDescriptor(w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, 5, wd));
    BENCH_CUDNN(cudnnSetConvolutionNdDescriptor(c, 3, pad, str, dil, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    BENCH_CUDNN(cudnnSetConvolutionMathType(c, CUDNN_FMA_MATH));
  }
  ~Descs() {
    (void)cudnnDestroyConvolutionDescriptor(c);
    (void)cudnnDestroyFilterDescriptor(w);
    (void)cudnnDestroyTensorDescriptor(y);
    (void)cudnnDestroyTensorDescriptor(x);
  }
  Descs(const Descs&) = delete;
  Descs& operator=(const Descs&) = delete;
};

// One emulated cuDNN call of (direction, algo) on g, with a big enough workspace.
struct ConvCall {
  cudnnHandle_t h;
  const Descs& d;
  void *x, *w, *y, *ws;
  size_t ws_bytes;
  void operator()(ConvDirection dir, int algo) const {
    const float one = 1, zero = 0;
    if (dir == ConvDirection::Forward)
      BENCH_CUDNN(cudnnConvolutionForward(h, &one, d.x, x, d.w, w, d.c, cudnnConvolutionFwdAlgo_t(algo), ws, ws_bytes,
                                          &zero, d.y, y));
    else if (dir == ConvDirection::BackwardData)
      BENCH_CUDNN(cudnnConvolutionBackwardData(h, &one, d.w, w, d.y, y, d.c, cudnnConvolutionBwdDataAlgo_t(algo), ws,
                                               ws_bytes, &zero, d.x, x));
    else
      BENCH_CUDNN(cudnnConvolutionBackwardFilter(h, &one, d.x, x, d.y, y, d.c, cudnnConvolutionBwdFilterAlgo_t(algo),
                                                 ws, ws_bytes, &zero, d.w, w));
    BENCH_CUDA(cudaDeviceSynchronize());
  }
};

void bench_conv_shape(cudnnHandle_t h, const char* name, const ConvGeom& g, int reps) {
  const size_t nx = g.N * g.C_in * g.in_volume(), ny = g.N * g.C_out * g.out_volume(), nw = g.C_out * g.col_rows();
  const auto hx = random_floats(nx, 1), hw = random_floats(nw, 2), hy = random_floats(ny, 3);
  std::vector<float> cx(nx), cw(nw), cy(ny);
  const size_t ws_bytes = g.col_rows() * g.out_volume() * sizeof(float) + 4096;
  DeviceBuffer x(nx * 4, hx.data()), w(nw * 4, hw.data()), y(ny * 4, hy.data()), ws(ws_bytes);
  Descs d(g);
  const ConvCall call{h, d, x.p, w.p, y.p, ws.p, ws_bytes};
  struct Row {
    const char* dir;
    ConvDirection direction;
    int algos[2];
    const char* names[2];
  };
  const Row rows[3] = {{"fwd", ConvDirection::Forward, {0, 1}, {"IMPLICIT", "PRECOMP"}},
                       {"bwd-data", ConvDirection::BackwardData, {0, 1}, {"ALGO_0", "ALGO_1"}},
                       {"bwd-filter", ConvDirection::BackwardFilter, {0, 1}, {"ALGO_0", "ALGO_1"}}};
  const double cpu[3] = {
      median_seconds([&] { pn::cpu::conv_forward(g, hx.data(), hw.data(), cy.data()); }, reps),
      median_seconds([&] { pn::cpu::conv_backward_input(g, hy.data(), hw.data(), cx.data()); }, reps),
      median_seconds([&] { pn::cpu::conv_backward_weight(g, hx.data(), hy.data(), cw.data()); }, reps)};
  for (int r = 0; r < 3; ++r) {
    const Row& row = rows[r];
    double t[2];
    for (int a = 0; a < 2; ++a) t[a] = median_seconds([&] { call(row.direction, row.algos[a]); }, reps);
    std::printf("%-24s %-11s %9.3f | %-9s %9.3f %7.1fx | %-9s %9.3f %7.1fx\n", name, row.dir, cpu[r] * 1e3,
                row.names[0], t[0] * 1e3, t[0] / cpu[r], row.names[1], t[1] * 1e3, t[1] / cpu[r]);
  }
}

void bench_convs(bool small_only, int reps) {
  // The yardstick is the handwritten reference (vol2col + sgemm), not oneDNN's fast path.
  pn::cpu::set_conv_impl(pn::cpu::ConvImpl::Reference);
  cudnnHandle_t h = nullptr;
  BENCH_CUDNN(cudnnCreate(&h));
  std::printf("Emulated cuDNN vs the CPU reference (1 OpenMP thread), ms per call, median of %d, batch 2, float32\n",
              reps);
  std::printf("%-24s %-11s %9s | %-9s %9s %8s | %-9s %9s %8s\n", "conv (C->K @ input)", "direction", "cpu ms", "algo",
              "emu ms", "emu/cpu", "algo", "emu ms", "emu/cpu");
  const int64_t sizes[2][3] = {{8, 16, 16}, {16, 32, 32}};
  for (int s = 0; s < (small_only ? 1 : 2); ++s) {
    const int64_t* full = sizes[s];
    const int64_t half[3] = {full[0] / 2, full[1] / 2, full[2] / 2}, quarter[3] = {full[0] / 4, full[1] / 4, full[2] / 4};
    auto at = [](const int64_t* d) {
      return " @" + std::to_string(d[0]) + "x" + std::to_string(d[1]) + "x" + std::to_string(d[2]);
    };
    struct Layer {
      std::string name;
      ConvGeom g;
    };
    const std::vector<Layer> layers = {
        {"3x3x3 1->8" + at(full), conv(2, 1, 8, full, 3, 1, 1)},
        {"3x3x3 8->8" + at(full), conv(2, 8, 8, full, 3, 1, 1)},
        {"3x3x3 16->8" + at(full), conv(2, 16, 8, full, 3, 1, 1)},
        {"3x3x3 16->16" + at(half), conv(2, 16, 16, half, 3, 1, 1)},
        {"3x3x3 32->32" + at(quarter), conv(2, 32, 32, quarter, 3, 1, 1)},
        {"2x2x2/2 8->16" + at(full), conv(2, 8, 16, full, 2, 2, 0)},
        {"1x1x1 8->2" + at(full), conv(2, 8, 2, full, 1, 1, 0)},
    };
    for (const Layer& l : layers) bench_conv_shape(h, l.name.c_str(), l.g, reps);
  }
  BENCH_CUDNN(cudnnDestroy(h));
}

// One unary launch over n elements with `live` other device allocations alive (a training
// process holds hundreds: every launch is followed by a check of all guard bytes).
void bench_unary(int64_t n, int live, int reps) {
  std::vector<std::unique_ptr<DeviceBuffer>> others;
  for (int i = 0; i < live; ++i) others.push_back(std::make_unique<DeviceBuffer>(4096));
  const auto host = random_floats(static_cast<size_t>(n), 4);
  DeviceBuffer x(n * 4, host.data()), y(n * 4);
  const int64_t threads = int64_t{pn::cuda::grid_for(n, 256)} * 256;
  const double t = median_seconds(
      [&] {
        pn::cuda::unary<float>(pn::math::Unary::Relu, static_cast<const float*>(x.p), static_cast<float*>(y.p), n, 0.f,
                               0.f, nullptr);
        BENCH_CUDA(cudaDeviceSynchronize());
      },
      reps);
  const std::string what = "unary relu, " + std::to_string(live) + " other allocations";
  std::printf("%-34s %10lld %8lld %10.3f %12.1f\n", what.c_str(), (long long)n, (long long)threads, t * 1e3,
              t * 1e9 / static_cast<double>(threads));
}

void bench_launches(int reps) {
  std::printf("\nKernel launches: ns per emulated thread (grid x 256 threads), median of %d\n", reps);
  std::printf("%-34s %10s %8s %10s %12s\n", "kernel (grid-stride, no barrier)", "elements", "threads", "ms/launch",
              "ns/thread");
  for (int64_t n : {int64_t{256}, int64_t{8192}, int64_t{16384}, int64_t{1} << 20}) bench_unary(n, 0, reps);
  bench_unary(16384, 500, reps);
  for (int64_t n : {int64_t{16384}, int64_t{1} << 20}) {  // sum of everything: block reductions with barriers
    const auto host = random_floats(static_cast<size_t>(n), 5);
    DeviceBuffer x(n * 4, host.data()), out(4);
    pn::kernels::ReduceGeom g;
    g.ndim = 1, g.shape[0] = n, g.reduce[0] = true;
    const double t = median_seconds(
        [&] {
          pn::cuda::sum_reduce<float>(static_cast<const float*>(x.p), static_cast<float*>(out.p), g, nullptr);
          BENCH_CUDA(cudaDeviceSynchronize());
        },
        reps);
    std::printf("%-34s %10lld %8s %10.3f %12s\n", "sum_reduce (barriers, shuffles)", (long long)n, "-", t * 1e3, "-");
  }
}

}  // namespace

int main(int argc, char** argv) {
  bool small_only = false, conv_only = false, launch_only = false;
  int reps = 3;
  pn::bench::Args("bench_emulator")
      .flag("--small-only", &small_only)
      .flag("--conv-only", &conv_only)
      .flag("--launch-only", &launch_only)
      .option("--reps", &reps)
      .parse(argc, argv);
  omp_set_num_threads(1);
  pn::cuda::emu::ScopedStreamPolicy eager(pn::cuda::emu::StreamPolicy::Eager);
  if (!launch_only) bench_convs(small_only, reps);
  if (!conv_only) bench_launches(reps);
  return 0;
}
