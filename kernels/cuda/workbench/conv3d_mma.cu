// Workbench family "conv3d", version 3 (conv3d.cu lists it): the forward convolution as an
// implicit GEMM on tensor cores, bf16 x and w, float accumulation, a float y: production's
// kernel (kernels/cuda/conv_igemm.cu's tensor-core path, which run.conv = "implicit_gemm" runs
// for bf16 / fp16 convolutions, there with a 16-bit y) with the sums left unrounded.
// Its check and case are its own (bf16 data): the CPU reference convolution on the same
// bf16-rounded inputs, in float.
#include <cmath>

#include "kernels/cpu/conv_reference.h"
#include "kernels/cuda/conv_igemm.h"
#include "kernels/cuda/storage_types.h"
#include "kernels/cuda/workbench/buffers.h"
#include "kernels/cuda/workbench/conv3d_mma.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {
namespace workbench {

namespace {

using kernels::ConvGeom;
using bf16 = __nv_bfloat16;

// Production's tensor-core forward (conv_igemm.cu) with a float32 y: the sums unrounded.
void launch_mma(const ConvGeom& g, const bf16* x, const bf16* w, float* y, cudaStream_t stream) {
  conv_igemm_forward_mma<bf16, float>(g, x, w, y, stream);
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
