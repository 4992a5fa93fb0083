// Workbench family "norm_backward": batch/instance norm's backward (dx, dgamma, dbeta with batch
// statistics) of a float32 tensor [N, C, S], accumulated in double, in numbered versions.
//   1  production (kernels/cuda/norm.cu norm_backward): the two group sums split across blocks
//      (chunks of 4096 elements, warp-shuffle merges, a merge stage when a group spans several
//      chunks); dx by rows of S (statistics, gamma and sums read once per row); dgamma/dbeta
//   2  the production kernels before issue 17: the sums on one block per group (shared-memory
//      tree, a barrier per level); dx one thread per element, its group by 64-bit division and
//      the statistics, gamma and sums read per element
// The check runs every version on batch and instance geometries whose groups span one and several
// chunks, against the CPU's norm_backward with the tolerances of the parity suite
// (tests/cuda_emu/test_norm.cpp): dx 2e-5, dgamma/dbeta 1e-6 relative and 1e-6 M absolute.
#include "kernels/cpu/norm.h"
#include "kernels/cuda/device.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/norm.h"
#include "kernels/cuda/workbench/buffers.h"
#include "kernels/cuda/workbench/family.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {
namespace workbench {

namespace {

using math::NormGeom;
constexpr unsigned kThreads = 256;
constexpr double kEps = 1e-5;

__global__ void sums_one_block_kernel(const float* x, const float* gy, NormGeom g, const float* mean,
                                      const float* var, double* sums) {
  PN_SHARED(double[kThreads], part_gy);
  PN_SHARED(double[kThreads], part_gy_xhat);
  const unsigned t = threadIdx.x;
  const int64_t groups = math::norm_groups(g), size = math::norm_group_size(g);
  for (int64_t grp = blockIdx.x; grp < groups; grp += gridDim.x) {
    const double group_mean = mean[grp], inv_std = math::norm_inv_std(var[grp], kEps);
    double s_gy = 0, s_gy_xhat = 0;
    for (int64_t j = t; j < size; j += blockDim.x) {
      const int64_t e = math::norm_row_offset(g, grp, j / g.s) + j % g.s;
      const double gy_e = gy[e];
      s_gy += gy_e;
      s_gy_xhat += gy_e * (static_cast<double>(x[e]) - group_mean) * inv_std;
    }
    part_gy[t] = s_gy;
    part_gy_xhat[t] = s_gy_xhat;
    __syncthreads();
    for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
      if (t < s) {
        part_gy[t] += part_gy[t + s];
        part_gy_xhat[t] += part_gy_xhat[t + s];
      }
      __syncthreads();
    }
    if (t == 0) {
      sums[2 * grp] = part_gy[0];
      sums[2 * grp + 1] = part_gy_xhat[0];
    }
    __syncthreads();
  }
}

__global__ void dx_per_element_kernel(const float* x, const float* gy, NormGeom g, const float* mean,
                                      const float* var, const float* gamma, const double* sums, float* dx, int64_t n) {
  const double inv_m = 1.0 / static_cast<double>(math::norm_group_size(g));
  for (int64_t e = global_index(); e < n; e += grid_stride()) {
    const int64_t c = e / g.s % g.c, grp = g.per_instance ? e / (g.s * g.c) * g.c + c : c;
    const double group_mean = mean[grp], inv_std = math::norm_inv_std(var[grp], kEps);
    const double xhat = (static_cast<double>(x[e]) - group_mean) * inv_std;
    dx[e] = math::norm_backward_dx(gy[e], xhat, inv_std, static_cast<double>(gamma[c]), sums[2 * grp] * inv_m,
                                   sums[2 * grp + 1] * inv_m, true);
  }
}

__global__ void affine_kernel(NormGeom g, const double* sums, float* dgamma, float* dbeta) {
  const int64_t per_channel = math::norm_groups(g) / g.c;
  for (int64_t c = global_index(); c < g.c; c += grid_stride()) {
    double s_gy = 0, s_gy_xhat = 0;
    for (int64_t k = 0; k < per_channel; ++k) {
      const int64_t grp = g.per_instance ? k * g.c + c : c;
      s_gy += sums[2 * grp];
      s_gy_xhat += sums[2 * grp + 1];
    }
    dbeta[c] = static_cast<float>(s_gy);
    dgamma[c] = static_cast<float>(s_gy_xhat);
  }
}

struct Grads {
  float *dx, *dgamma, *dbeta;
};
using BackwardLauncher = void (*)(const float* x, const float* gy, const NormGeom& g, const float* mean,
                                  const float* var, const float* gamma, Grads out, cudaStream_t stream);

void launch_v1(const float* x, const float* gy, const NormGeom& g, const float* mean, const float* var,
               const float* gamma, Grads out, cudaStream_t stream) {
  norm_backward(x, gy, g, mean, var, kEps, gamma, true, out.dx, out.dgamma, out.dbeta, stream);
}

void launch_v2(const float* x, const float* gy, const NormGeom& g, const float* mean, const float* var,
               const float* gamma, Grads out, cudaStream_t stream) {
  const int64_t groups = math::norm_groups(g), n = g.n * g.c * g.s;
  if (groups <= 0) return;
  ErrorScope scope("workbench norm_backward v2", n);
  double* sums = nullptr;
  PN_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&sums), 2 * sizeof(double) * static_cast<size_t>(groups),
                                stream));
  launch(sums_one_block_kernel, grid_for(groups, 1), kThreads, 0, stream, x, gy, g, mean, var, sums);
  if (n > 0)
    launch(dx_per_element_kernel, grid_for(n, kThreads), kThreads, 0, stream, x, gy, g, mean, var, gamma,
           static_cast<const double*>(sums), out.dx, n);
  launch(affine_kernel, grid_for(g.c, kThreads), kThreads, 0, stream, g, static_cast<const double*>(sums), out.dgamma,
         out.dbeta);
  PN_CUDA_CHECK(cudaFreeAsync(sums, stream));
}

constexpr BackwardLauncher kLaunchers[] = {launch_v1, launch_v2};

std::string check_version(int version) {
  const NormGeom geoms[] = {{3, 5, 1001, false}, {2, 3, 2500, false}, {4, 3, 37, true}, {1, 2, 4100, true}};
  unsigned seed = 111;
  for (const NormGeom& g : geoms) {
    const int64_t n = g.n * g.c * g.s, groups = math::norm_groups(g);
    const std::vector<float> x = random_values<float>(n, seed++, 3.0, 7.0), gy = random_values<float>(n, seed++);
    const std::vector<float> gamma = random_values<float>(g.c, seed++, 0.5, 1.5);
    std::vector<float> mean(static_cast<size_t>(groups)), var(static_cast<size_t>(groups));
    cpu::norm_stats(x.data(), g, mean.data(), var.data());
    std::vector<float> dx(static_cast<size_t>(n)), dgamma(static_cast<size_t>(g.c)), dbeta(static_cast<size_t>(g.c));
    cpu::norm_backward(x.data(), gy.data(), g, mean.data(), var.data(), kEps, gamma.data(), true, dx.data(),
                       dgamma.data(), dbeta.data());
    DeviceBuffer<float> dx_(x), dgy(gy), dgamma_in(gamma), dmean(mean), dvar(var), ddx(n), ddgamma(g.c), ddbeta(g.c);
    kLaunchers[version - 1](dx_.get(), dgy.get(), g, dmean.get(), dvar.get(), dgamma_in.get(),
                            {ddx.get(), ddgamma.get(), ddbeta.get()}, nullptr);
    const std::string what = std::string(g.per_instance ? "instance" : "batch") + " norm backward [" +
                             std::to_string(g.n) + ", " + std::to_string(g.c) + ", " + std::to_string(g.s) + "]";
    const double atol_sum = 1e-6 * static_cast<double>(math::norm_group_size(g));
    std::string failure = compare(ddx.download(), dx, 2e-5, 2e-5, what + " dx");
    if (failure.empty()) failure = compare(ddgamma.download(), dgamma, 1e-6, atol_sum, what + " dgamma");
    if (failure.empty()) failure = compare(ddbeta.download(), dbeta, 1e-6, atol_sum, what + " dbeta");
    if (!failure.empty()) return failure;
  }
  return "";
}

// Batch-norm backward of [4, 8, n / 32].
class BackwardCase : public BenchCase {
 public:
  BackwardCase(BackwardLauncher f, int64_t n)
      : f_(f), g_{4, 8, n / 32, false}, x_(random_values<float>(32 * (n / 32), 3)),
        gy_(random_values<float>(32 * (n / 32), 4)), mean_(random_values<float>(8, 5)),
        var_(random_values<float>(8, 6, 0.5, 2)), gamma_(random_values<float>(8, 7)), dx_(32 * (n / 32)), dgamma_(8),
        dbeta_(8) {}
  void launch(cudaStream_t stream) override {
    f_(x_.get(), gy_.get(), g_, mean_.get(), var_.get(), gamma_.get(), {dx_.get(), dgamma_.get(), dbeta_.get()},
       stream);
  }
  double compulsory_bytes() const override { return 3.0 * 32 * static_cast<double>(g_.s) * sizeof(float); }
  std::string problem() const override {
    return "batch-norm backward (dx, dgamma, dbeta) of [4, 8, " + std::to_string(g_.s) + "] float32";
  }

 private:
  BackwardLauncher f_;
  NormGeom g_;
  DeviceBuffer<float> x_, gy_, mean_, var_, gamma_, dx_, dgamma_, dbeta_;
};

std::unique_ptr<BenchCase> bench_version(int version, int64_t n) {
  return std::make_unique<BackwardCase>(kLaunchers[version - 1], n);
}

}  // namespace

const Family& norm_backward_family() {
  static const Family f{"norm_backward",
                        "batch/instance-norm backward: dx, dgamma, dbeta, float32 in double (kernels/cuda/norm.cu)",
                        {{1, "production: group sums split across blocks (shuffles, merge stage), dx by rows"},
                         {2, "before issue 17: sums on one block per group (shared tree), dx per element"}},
                        check_version,
                        bench_version,
                        int64_t{1} << 26,
                        int64_t{1} << 16};
  return f;
}

}  // namespace workbench
}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda
