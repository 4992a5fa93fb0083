// Workbench families "conv3d", "conv3d_bwd_data" and "conv3d_bwd_weight": the three passes of
// the 3-D convolution (no bias) of float32 x [N, C_in, D, H, W] with w [C_out, C_in, kd, kh, kw],
// stride and zero padding per axis (kernels/op_geometry.h has no dilation), one family per pass
// so that `penumbra bench kernels --family conv3d_bwd_weight` reads as what it measures:
//   conv3d             y  = conv(x, w)
//   conv3d_bwd_data    dx = the gradient w.r.t. x of <dy, conv(x, w)>
//   conv3d_bwd_weight  dw = the gradient w.r.t. w
// Each family's versions:
//   1  production's default (kernels/cuda/dnn.cpp, run.conv = "cudnn"): cuDNN (under the
//      emulator its emulation, a library call, so the profile shows no kernel of ours)
//   2  our implicit GEMM (kernels/cuda/conv_igemm.cu, run.conv = "implicit_gemm"): the pass as
//      a GEMM whose operands are gathered on the fly, 32 x 32 tiles of the result per block of
//      256 threads (4 each), 16-long slices of both operands in shared memory; backward weight
//      splits its long reduction (N x out volume) over blocks and sums the splits in order.
//      The GEMM mapping (M, N, K) of each pass is narrated in conv_igemm.cu.
// conv3d has a third version: implicit GEMM on tensor cores (nvcuda::wmma), bf16 x and w, float
// accumulation, in workbench/conv3d_mma.cu with its own check (bf16-rounded inputs) and case.
// The check runs every version on padded,
// strided (stride > kernel too), 2-D-like (D = 1) and pointwise geometries with ragged tiles
// against the CPU reference (kernels/cpu/conv_reference.h), within 2e-6 per summed term (each
// |term| <= 1: float sums in other orders).
#include <string>

#include "kernels/cpu/conv_reference.h"
#include "kernels/cuda/conv_igemm.h"
#include "kernels/cuda/dnn.h"
#include "kernels/cuda/library_options.h"
#include "kernels/cuda/workbench/buffers.h"
#include "kernels/cuda/workbench/conv3d_mma.h"
#include "kernels/cuda/workbench/family.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {
namespace workbench {

namespace {

using kernels::ConvGeom;

enum class Pass { forward = 0, backward_data = 1, backward_weight = 2 };

// One pass: out = f(a, b) with (a, b, out) = (x, w, y), (dy, w, dx) or (x, dy, dw).
using ConvLauncher = void (*)(const ConvGeom& g, const float* a, const float* b, float* out, cudaStream_t stream);

// Version 1: cuDNN, whatever run.conv the process was given.
template <Pass P>
void launch_cudnn(const ConvGeom& g, const float* a, const float* b, float* out, cudaStream_t stream) {
  LibraryOptions o = library_options();
  o.conv = ConvImpl::cudnn;
  const ScopedLibraryOptions scope(o);
  if constexpr (P == Pass::forward) conv_forward<float>(g, a, b, out, stream);
  else if constexpr (P == Pass::backward_data) conv_backward_input<float>(g, a, b, out, stream);
  else conv_backward_weight<float>(g, a, b, out, stream);
}

constexpr ConvLauncher kLaunchers[3][2] = {
    {launch_cudnn<Pass::forward>, conv_igemm_forward},
    {launch_cudnn<Pass::backward_data>, conv_igemm_backward_input},
    {launch_cudnn<Pass::backward_weight>, conv_igemm_backward_weight}};

// The element counts of a pass's operands and result, and the terms summed per result.
struct PassSizes {
  int64_t a, b, out, terms;
};

PassSizes pass_sizes(Pass p, const ConvGeom& g) {
  const int64_t x = g.N * g.C_in * g.in_volume(), w = g.C_out * g.col_rows(), y = g.N * g.C_out * g.out_volume();
  if (p == Pass::forward) return {x, w, y, g.col_rows()};
  if (p == Pass::backward_data) return {y, w, x, g.C_out * g.k_volume()};
  return {x, y, w, g.N * g.out_volume()};
}

void reference(Pass p, const ConvGeom& g, const float* a, const float* b, float* out) {
  if (p == Pass::forward) cpu::reference::conv_forward(g, a, b, out);
  else if (p == Pass::backward_data) cpu::reference::conv_backward_input(g, a, b, out);
  else cpu::reference::conv_backward_weight(g, a, b, out);
}

std::string describe(const ConvGeom& g) {
  auto triple = [](const int64_t* v) {
    return std::to_string(v[0]) + "x" + std::to_string(v[1]) + "x" + std::to_string(v[2]);
  };
  return "conv [" + std::to_string(g.N) + ", " + std::to_string(g.C_in) + " -> " + std::to_string(g.C_out) + ", " +
         triple(g.in) + "], k " + triple(g.k) + ", stride " + triple(g.stride) + ", pad " + triple(g.pad);
}

std::string check_pass(Pass p, int version) {
  const ConvGeom geoms[] = {ConvGeom::make(2, 3, 5, {5, 7, 9}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}),
                            ConvGeom::make(1, 4, 33, {6, 5, 11}, {3, 3, 3}, {2, 2, 2}, {0, 1, 1}),
                            ConvGeom::make(2, 3, 7, {1, 9, 13}, {1, 3, 3}, {1, 1, 2}, {0, 1, 1}),
                            ConvGeom::make(1, 17, 35, {2, 3, 7}, {1, 1, 1}, {1, 1, 1}, {0, 0, 0}),
                            ConvGeom::make(1, 3, 4, {7, 8, 9}, {2, 2, 3}, {3, 2, 2}, {1, 0, 1})};
  unsigned seed = 121;
  for (const ConvGeom& g : geoms) {
    const PassSizes n = pass_sizes(p, g);
    const std::vector<float> a = random_values<float>(n.a, seed++), b = random_values<float>(n.b, seed++);
    std::vector<float> want(static_cast<size_t>(n.out));
    reference(p, g, a.data(), b.data(), want.data());
    DeviceBuffer<float> da(a), db(b), dout(n.out);
    kLaunchers[static_cast<int>(p)][version - 1](g, da.get(), db.get(), dout.get(), nullptr);
    const std::string failure = compare(dout.download(), want, 0, 2e-6 * static_cast<double>(n.terms), describe(g));
    if (!failure.empty()) return failure;
  }
  return "";
}

// 3x3x3, stride 1, pad 1, 16 -> 16 channels over [1, 16, n / 4096, 16, 16]: n input elements.
class ConvCase : public BenchCase {
 public:
  ConvCase(Pass p, ConvLauncher f, int64_t n)
      : p_(p), f_(f), g_(ConvGeom::make(1, 16, 16, {n / (16 * 16 * 16), 16, 16}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1})),
        a_(random_values<float>(pass_sizes(p, g_).a, 3)), b_(random_values<float>(pass_sizes(p, g_).b, 4)),
        out_(pass_sizes(p, g_).out) {}
  void launch(cudaStream_t stream) override { f_(g_, a_.get(), b_.get(), out_.get(), stream); }
  double compulsory_bytes() const override {
    return 4.0 * static_cast<double>(a_.size() + b_.size() + out_.size());
  }
  double flops() const override { return 2.0 * g_.macs(); }
  std::string problem() const override {
    static const char* kWhat[] = {"forward", "backward data", "backward weight"};
    return std::string("conv ") + kWhat[static_cast<int>(p_)] + " 3x3x3, 16 -> 16 channels, [1, 16, " +
           std::to_string(g_.in[0]) + ", 16, 16] float32";
  }

 private:
  Pass p_;
  ConvLauncher f_;
  ConvGeom g_;
  DeviceBuffer<float> a_, b_, out_;
};

template <Pass P>
std::string check_version(int version) {
  if (P == Pass::forward && version == 3) return conv3d_mma_check();
  return check_pass(P, version);
}

template <Pass P>
std::unique_ptr<BenchCase> bench_version(int version, int64_t n) {
  if (P == Pass::forward && version == 3) return conv3d_mma_bench(n);
  return std::make_unique<ConvCase>(P, kLaunchers[static_cast<int>(P)][version - 1], n);
}

template <Pass P>
Family conv_family(const char* name, const char* what, const char* v2) {
  return Family{name,
                what,
                {{1, "production's default (run.conv = \"cudnn\"): cuDNN"},
                 {2, std::string("implicit GEMM of our own (run.conv = \"implicit_gemm\"): ") + v2}},
                check_version<P>,
                bench_version<P>,
                int64_t{1} << 24,
                int64_t{1} << 14};
}

}  // namespace

const Family& conv3d_family() {
  static const Family f = [] {
    Family forward = conv_family<Pass::forward>(
        "conv3d", "3-d convolution forward, float32, no bias (kernels/cuda/dnn.cpp conv_forward)",
        "M = C_out, N = batch x out volume, K = C_in k^3; 32 x 32 tiles, W and gathered columns in shared memory");
    forward.versions.push_back({3, "implicit GEMM on tensor cores (wmma 16x16x16), bf16 in, float accumulation and out"});
    return forward;
  }();
  return f;
}

const Family& conv3d_bwd_data_family() {
  static const Family f = conv_family<Pass::backward_data>(
      "conv3d_bwd_data", "3-d convolution backward data (dx), float32 (kernels/cuda/dnn.cpp conv_backward_input)",
      "M = C_in, N = batch x in volume, K = C_out k^3; dy gathered at the output each tap reads (0 off the stride)");
  return f;
}

const Family& conv3d_bwd_weight_family() {
  static const Family f = conv_family<Pass::backward_weight>(
      "conv3d_bwd_weight", "3-d convolution backward weight (dw), float32 (kernels/cuda/dnn.cpp conv_backward_weight)",
      "M = C_out, N = C_in k^3, K = batch x out volume split over blocks, the splits summed in order");
  return f;
}

}  // namespace workbench
}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda
