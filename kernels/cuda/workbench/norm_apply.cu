// Workbench family "norm_apply": batch norm's forward from given statistics followed by the
// activation, y = leaky_relu((x - mean) inv_std gamma + beta, 0.2), float32 [N, C, S], in
// numbered versions.
//   1  production: two passes, norm_forward (kernels/cuda/norm.cu: by rows of S, the row's
//      statistics once, the affine map in double per element) then the unary leaky_relu
//      (kernels/cuda/elementwise.cu): x read, an intermediate written and read, y written
//   2  fused, in float (promoted: norm_act_forward in kernels/cuda/norm.cu, which this version
//      calls): a small kernel turns each group's statistics into fp32 scale and shift
//      (math::norm_affine), then one pass per row of S elements (the row's scale and shift loaded
//      once, no division per element, 16-byte accesses when S % 4 == 0 and aligned) computes
//      y = leaky_relu(x * scale + shift) (math::norm_act_apply). The autograd op batch_norm_act /
//      instance_norm_act runs it; nn::Sequential fuses a norm layer with a following activation.
//   3  cuDNN fused graph (kernels/cuda/dnn_graph.h scale_shift_act): version 2's scale/shift stage
//      (norm_scale_shift, kernels/cuda/norm.h), then one cuDNN execution plan MUL scale -> ADD
//      shift -> RELU_FWD with lower-clip slope 0.2 (a runtime-fusion engine on a GPU; the emulated
//      backend API in CI); per-group operands [1, C, 1, 1] for batch norm, [N, C, 1, 1] for
//      instance norm
// The check compares with the CPU's norm_forward and leaky_relu on
// geometries with and without the 16-byte path, with an offset mean (x in [3, 7]): version 1 bit
// for bit, version 2 within 4e-6 absolute (a few float ulp of |x scale| < 10: the affine form
// cancels x scale against shift in float).
#include "kernels/cpu/norm.h"
#include "kernels/cuda/device.h"
#include "kernels/cuda/dnn_graph.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/norm.h"
#include "kernels/cuda/workbench/buffers.h"
#include "kernels/cuda/workbench/family.h"
#include "kernels/math/elementwise_math.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {
namespace workbench {

namespace {

using math::NormGeom;
constexpr double kEps = 1e-5;
constexpr float kSlope = 0.2f;

using ApplyLauncher = void (*)(const float* x, const NormGeom& g, const float* mean, const float* var,
                               const float* gamma, const float* beta, float* y, cudaStream_t stream);

void launch_v1(const float* x, const NormGeom& g, const float* mean, const float* var, const float* gamma,
               const float* beta, float* y, cudaStream_t stream) {
  const int64_t n = g.n * g.c * g.s;
  float* tmp = nullptr;
  PN_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&tmp), sizeof(float) * static_cast<size_t>(n), stream));
  norm_forward(x, g, mean, var, kEps, gamma, beta, tmp, stream);
  unary(math::Unary::LeakyRelu, static_cast<const float*>(tmp), y, n, kSlope, 0.f, stream);
  PN_CUDA_CHECK(cudaFreeAsync(tmp, stream));
}

void launch_v2(const float* x, const NormGeom& g, const float* mean, const float* var, const float* gamma,
               const float* beta, float* y, cudaStream_t stream) {
  norm_act_forward(x, g, mean, var, kEps, gamma, beta, static_cast<double>(kSlope), y, stream);
}

void launch_v3(const float* x, const NormGeom& g, const float* mean, const float* var, const float* gamma,
               const float* beta, float* y, cudaStream_t stream) {
  const int64_t groups = math::norm_groups(g);
  if (groups <= 0 || g.s <= 0) return;
  float* affine = nullptr;  // scale, then shift
  PN_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&affine), 2 * sizeof(float) * static_cast<size_t>(groups),
                                stream));
  norm_scale_shift(g, mean, var, static_cast<double>(kEps), gamma, beta, affine, affine + groups, stream);
  ChannelGeom cg;
  cg.N = g.n, cg.C = g.c, cg.spatial[2] = g.s, cg.per_sample = g.per_instance;
  scale_shift_act(cg, x, affine, affine + groups, y, FusedActivation{FusedActivation::leaky_relu, kSlope}, stream);
  PN_CUDA_CHECK(cudaFreeAsync(affine, stream));
}

constexpr ApplyLauncher kLaunchers[] = {launch_v1, launch_v2, launch_v3};

std::string check_version(int version) {
  const NormGeom geoms[] = {{3, 5, 1001, false}, {2, 3, 64, false}, {2, 3, 37, true}, {1, 4, 260, true}};
  unsigned seed = 91;
  for (const NormGeom& g : geoms) {
    const int64_t n = g.n * g.c * g.s, groups = math::norm_groups(g);
    const std::vector<float> x = random_values<float>(n, seed++, 3.0, 7.0);
    const std::vector<float> gamma = random_values<float>(g.c, seed++, 0.5, 1.5), beta = random_values<float>(g.c, seed++);
    std::vector<float> mean(static_cast<size_t>(groups)), var(static_cast<size_t>(groups)), want(static_cast<size_t>(n));
    cpu::norm_stats(x.data(), g, mean.data(), var.data());
    cpu::norm_forward(x.data(), g, mean.data(), var.data(), kEps, gamma.data(), beta.data(), want.data());
    for (float& v : want) v = math::apply_unary(math::Unary::LeakyRelu, v, kSlope, 0.f);
    DeviceBuffer<float> dx(x), dgamma(gamma), dbeta(beta), dmean(mean), dvar(var), dy(n);
    kLaunchers[version - 1](dx.get(), g, dmean.get(), dvar.get(), dgamma.get(), dbeta.get(), dy.get(), nullptr);
    const std::string what = std::string(g.per_instance ? "instance" : "batch") + " norm + leaky_relu [" +
                             std::to_string(g.n) + ", " + std::to_string(g.c) + ", " + std::to_string(g.s) + "]";
    const std::string failure = compare(dy.download(), want, 0, version == 1 ? 0 : 4e-6, what);
    if (!failure.empty()) return failure;
  }
  return "";
}

// Batch norm + leaky_relu of [4, 8, n / 32].
class ApplyCase : public BenchCase {
 public:
  ApplyCase(ApplyLauncher f, int64_t n)
      : f_(f), g_{4, 8, n / 32, false}, x_(random_values<float>(32 * (n / 32), 3)),
        mean_(random_values<float>(8, 4)), var_(random_values<float>(8, 5, 0.5, 2)),
        gamma_(random_values<float>(8, 6)), beta_(random_values<float>(8, 7)), y_(32 * (n / 32)) {}
  void launch(cudaStream_t stream) override {
    f_(x_.get(), g_, mean_.get(), var_.get(), gamma_.get(), beta_.get(), y_.get(), stream);
  }
  double compulsory_bytes() const override { return 2.0 * 32 * static_cast<double>(g_.s) * sizeof(float); }
  std::string problem() const override {
    return "batch norm + leaky_relu of [4, 8, " + std::to_string(g_.s) + "] float32";
  }

 private:
  ApplyLauncher f_;
  NormGeom g_;
  DeviceBuffer<float> x_, mean_, var_, gamma_, beta_, y_;
};

std::unique_ptr<BenchCase> bench_version(int version, int64_t n) {
  return std::make_unique<ApplyCase>(kLaunchers[version - 1], n);
}

}  // namespace

const Family& norm_apply_family() {
  static const Family f{"norm_apply",
                        "batch/instance norm from given statistics, then leaky_relu, float32 (norm.cu, elementwise.cu)",
                        {{1, "unfused: norm_forward (rows, double math), then the unary leaky_relu: two passes"},
                         {2, "production since the fused op: norm_act_forward (norm.cu), per-group fp32 scale/shift, one pass "
                             "per row, 16-byte accesses"},
                         {3, "cuDNN fused graph: per-group fp32 scale/shift, then one execution plan mul, add, relu_fwd"}},
                        check_version,
                        bench_version,
                        int64_t{1} << 26,
                        int64_t{1} << 16};
  return f;
}

}  // namespace workbench
}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda
