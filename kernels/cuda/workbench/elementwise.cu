// Workbench family "elementwise": the unary map y = relu(x) over float32, in numbered versions.
//   1  production (kernels/cuda/elementwise.cu unary, promoted in issue 17): four elements per
//      thread per step through 16-byte loads and stores (float4), 32-bit index; the last n % 4
//      elements scalar. Needs n < 2^31 and 16-byte aligned pointers, else one element per thread
//   2  before issue 17: one element per thread per step of a grid-stride loop with a 64-bit
//      index, 4-byte loads and stores
// The check runs every version on sizes around warp, block and vector boundaries, at aligned and
// misaligned (offset by one float) pointers, against the CPU's relu (exact).
#include <cmath>
#include <cstdio>
#include <random>

#include "kernels/cuda/check.h"
#include "kernels/cuda/device.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/vector_types.h"
#include "kernels/cuda/workbench/family.h"
#include "kernels/math/elementwise_math.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {
namespace workbench {

namespace {

constexpr unsigned kBlock = 256;
constexpr math::Unary kOp = math::Unary::Relu;

__global__ void unary_scalar_kernel(const float* x, float* y, int64_t n) {
  for (int64_t i = global_index(); i < n; i += grid_stride()) y[i] = math::apply_unary(kOp, x[i], 0.f, 0.f);
}

void launch_v1(const float* x, float* y, int64_t n, cudaStream_t stream) { unary(kOp, x, y, n, 0.f, 0.f, stream); }

void launch_v2(const float* x, float* y, int64_t n, cudaStream_t stream) {
  if (n <= 0) return;
  ErrorScope scope("workbench elementwise v2", n);
  launch(unary_scalar_kernel, grid_for(n, kBlock), kBlock, 0, stream, x, y, n);
}

constexpr UnaryLauncher kLaunchers[] = {launch_v1, launch_v2};

// Device memory for n floats in and out (freed with the case).
class ReluCase : public BenchCase {
 public:
  ReluCase(UnaryLauncher f, int64_t n) : f_(f), n_(n) {
    PN_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&x_), bytes()));
    PN_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&y_), bytes()));
    PN_CUDA_CHECK(cudaMemset(x_, 0x3f, bytes()));
  }
  ~ReluCase() override {
    (void)cudaFree(x_);
    (void)cudaFree(y_);
  }
  void launch(cudaStream_t stream) override { f_(x_, y_, n_, stream); }
  double compulsory_bytes() const override { return 2.0 * static_cast<double>(bytes()); }
  std::string problem() const override { return "relu over " + std::to_string(n_) + " float32"; }

 private:
  size_t bytes() const { return static_cast<size_t>(n_) * sizeof(float); }
  UnaryLauncher f_;
  int64_t n_;
  float* x_ = nullptr;
  float* y_ = nullptr;
};

std::string check_version(int version) { return check_relu_launcher(kLaunchers[version - 1]); }
std::unique_ptr<BenchCase> bench_version(int version, int64_t n) {
  return std::make_unique<ReluCase>(kLaunchers[version - 1], n);
}

}  // namespace

std::string check_relu_launcher(UnaryLauncher launch_fn) {
  std::mt19937 rng(17);
  std::uniform_real_distribution<float> u(-2.f, 2.f);
  for (int64_t n : {1, 3, 4, 31, 32, 33, 255, 257, 1000, 4099, 65537}) {
    for (int offset : {0, 1}) {
      std::vector<float> x(static_cast<size_t>(n + offset));
      for (float& v : x) v = u(rng);
      float *dx = nullptr, *dy = nullptr;
      const size_t bytes = x.size() * sizeof(float);
      PN_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&dx), bytes));
      PN_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&dy), bytes));
      PN_CUDA_CHECK(cudaMemcpy(dx, x.data(), bytes, cudaMemcpyHostToDevice));
      PN_CUDA_CHECK(cudaMemset(dy, 0xff, bytes));  // NaN: an element never written shows
      launch_fn(dx + offset, dy + offset, n, nullptr);
      std::vector<float> y(x.size());
      PN_CUDA_CHECK(cudaMemcpy(y.data(), dy, bytes, cudaMemcpyDeviceToHost));
      PN_CUDA_CHECK(cudaFree(dx));
      PN_CUDA_CHECK(cudaFree(dy));
      for (int64_t i = 0; i < n; ++i) {
        const size_t k = static_cast<size_t>(i + offset);
        const float want = math::apply_unary(kOp, x[k], 0.f, 0.f);
        if (!(y[k] == want)) {
          char msg[160];
          std::snprintf(msg, sizeof msg, "n = %lld, pointers offset by %d floats: y[%lld] = %g, the CPU gives %g",
                        static_cast<long long>(n), offset, static_cast<long long>(i), static_cast<double>(y[k]),
                        static_cast<double>(want));
          return msg;
        }
      }
    }
  }
  return "";
}

const Family& elementwise_family() {
  static const Family f{"elementwise",
                        "y = relu(x), float32 (the unary map of kernels/cuda/elementwise.cu)",
                        {{1, "production: 4 elements per thread per step, 16-byte accesses, 32-bit index, scalar tail"},
                         {2, "before issue 17: 1 element per thread per step, 64-bit index, 4-byte accesses"}},
                        check_version,
                        bench_version,
                        int64_t{1} << 26,
                        int64_t{1} << 16};
  return f;
}

}  // namespace workbench
}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda
