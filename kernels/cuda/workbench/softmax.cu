// Workbench family "softmax": softmax and log-softmax over the channel axis of a float32
// tensor viewed as [outer, axis, inner], in numbered versions.
//   1  production (kernels/cuda/softmax.cu, called through its entry point): an axis of at most
//      16 values read once into registers (one read, one write per element), a longer one
//      walked three times; float math (expf, float sums), the CPU reference's
//   2  the production kernel before issue 17: three passes over the axis (max, sum, outputs),
//      exp and sums in double
//   3  three passes in float (expf, float sums): version 2 without double arithmetic
//   4  registers as version 1, double math: production until the float math was promoted (kept
//      for comparison; it flipped nothing once the CPU reference also summed in float)
//   5  for inner = 1 (the contiguous last axis): a warp per row, lanes striding along the row,
//      max and sum merged by warp shuffles in double; other shapes as version 1
// The check runs every version on channel shapes (inner > 1, around warp and block sizes), a
// last-axis softmax (inner = 1) and a long axis (> 16, the three-pass path) against the CPU
// reference (float math, kernels/math/softmax_math.h): versions 1 and 3 (the same float
// operations in the same order) bit for bit, the double-math ones within 1e-6 + 4e-6 |y|
// (version 5 also sums in another order).
#include <math.h>

#include "kernels/cuda/device.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/softmax.h"
#include "kernels/cpu/softmax.h"
#include "kernels/cuda/workbench/buffers.h"
#include "kernels/cuda/workbench/family.h"
#include "kernels/math/softmax_math.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {
namespace workbench {

namespace {

constexpr unsigned kBlock = 256;

constexpr int kHeld = 16;  // the longest axis held in registers (version 4)

// Each column's axis: held in registers when kHold and axis <= kHeld, else three passes; the
// math in A.
template <class A, bool kHold>
__global__ void softmax_columns_kernel(const float* x, float* y, int64_t outer, int64_t axis, int64_t inner,
                                       bool log) {
  for (int64_t c = global_index(); c < outer * inner; c += grid_stride()) {
    const int64_t o = c / inner, i = c % inner;
    const float* xc = x + o * axis * inner + i;
    float* yc = y + o * axis * inner + i;
    A mx = -INFINITY, s = 0;
    if (kHold && axis <= kHeld) {
      A v[kHeld] = {};
      for (int a = 0; a < kHeld; ++a)
        if (a < axis) {
          v[a] = static_cast<A>(xc[a * inner]);
          mx = math::softmax_max(mx, v[a]);
        }
      for (int a = 0; a < kHeld; ++a)
        if (a < axis) s = math::softmax_sum(s, v[a], mx);
      if (log) s = math::log_softmax_norm(s);
      for (int a = 0; a < kHeld; ++a)
        if (a < axis) yc[a * inner] = math::softmax_value(static_cast<float>(v[a]), mx, s, log);
    } else {
      for (int64_t a = 0; a < axis; ++a) mx = math::softmax_max(mx, static_cast<A>(xc[a * inner]));
      for (int64_t a = 0; a < axis; ++a) s = math::softmax_sum(s, static_cast<A>(xc[a * inner]), mx);
      if (log) s = math::log_softmax_norm(s);
      for (int64_t a = 0; a < axis; ++a) yc[a * inner] = math::softmax_value(xc[a * inner], mx, s, log);
    }
  }
}

// inner = 1 (softmax over the contiguous last axis): a warp per row, lanes striding along the
// axis, max and sum merged by warp shuffles, double math.
__global__ void softmax_rows_kernel(const float* x, float* y, int64_t rows, int64_t axis, bool log) {
  const int64_t warps = grid_stride() / 32, lane = threadIdx.x % 32;
  for (int64_t r = global_index() / 32; r < rows; r += warps) {
    const float* xr = x + r * axis;
    float* yr = y + r * axis;
    double mx = -INFINITY, s = 0;
    for (int64_t a = lane; a < axis; a += 32) mx = fmax(mx, static_cast<double>(xr[a]));
    for (int delta = 16; delta > 0; delta >>= 1) mx = fmax(mx, __shfl_xor_sync(0xffffffffu, mx, delta));
    for (int64_t a = lane; a < axis; a += 32) s += exp(static_cast<double>(xr[a]) - mx);
    for (int delta = 16; delta > 0; delta >>= 1) s += __shfl_xor_sync(0xffffffffu, s, delta);
    if (log) s = math::log_softmax_norm(s);
    for (int64_t a = lane; a < axis; a += 32) yr[a] = math::softmax_value(xr[a], mx, s, log);
  }
}

using SoftmaxLauncher = void (*)(const float* x, float* y, int64_t outer, int64_t axis, int64_t inner, bool log,
                                 cudaStream_t stream);

void launch_v1(const float* x, float* y, int64_t outer, int64_t axis, int64_t inner, bool log, cudaStream_t stream) {
  softmax_forward(x, y, outer, axis, inner, log, stream);
}

template <class A, bool kHold>
void launch_columns(const float* x, float* y, int64_t outer, int64_t axis, int64_t inner, bool log,
                    cudaStream_t stream) {
  if (outer * inner <= 0 || axis <= 0) return;
  ErrorScope scope(kHold ? "workbench softmax (held)" : "workbench softmax (three passes)", outer * axis * inner);
  launch(softmax_columns_kernel<A, kHold>, grid_for(outer * inner, kBlock), kBlock, 0, stream, x, y, outer, axis, inner,
         log);
}

void launch_v5(const float* x, float* y, int64_t outer, int64_t axis, int64_t inner, bool log, cudaStream_t stream) {
  if (inner != 1) return launch_v1(x, y, outer, axis, inner, log, stream);
  if (outer <= 0 || axis <= 0) return;
  ErrorScope scope("workbench softmax (rows)", outer * axis);
  launch(softmax_rows_kernel, grid_for(32 * outer, kBlock), kBlock, 0, stream, x, y, outer, axis, log);
}

constexpr SoftmaxLauncher kLaunchers[] = {launch_v1, launch_columns<double, false>, launch_columns<float, false>,
                                          launch_columns<double, true>, launch_v5};

std::string check_version(int version) {
  struct Shape { int64_t outer, axis, inner; };
  const Shape shapes[] = {{3, 5, 1001}, {2, 16, 33}, {1, 2, 257}, {4, 1, 31}, {257, 10, 1}, {2, 37, 3}};
  const bool exact = version == 1 || version == 3;  // the CPU reference's float math: bit for bit
  unsigned seed = 53;
  for (const Shape& s : shapes) {
    const int64_t n = s.outer * s.axis * s.inner;
    const std::vector<float> x = random_values<float>(n, seed++, -8.0, 8.0);
    DeviceBuffer<float> dx(x);
    for (bool log : {false, true}) {
      std::vector<float> want(static_cast<size_t>(n));
      cpu::softmax_forward(x.data(), want.data(), s.outer, s.axis, s.inner, log);
      DeviceBuffer<float> dy(n);
      kLaunchers[version - 1](dx.get(), dy.get(), s.outer, s.axis, s.inner, log, nullptr);
      const std::string what = std::string(log ? "log_softmax" : "softmax") + " [" + std::to_string(s.outer) + ", " +
                               std::to_string(s.axis) + ", " + std::to_string(s.inner) + "]";
      const std::string failure = compare(dy.download(), want, exact ? 0 : 4e-6, exact ? 0 : 1e-6, what);
      if (!failure.empty()) return failure;
    }
  }
  return "";
}

// Channel softmax of [2, 8, n / 16].
class SoftmaxCase : public BenchCase {
 public:
  SoftmaxCase(SoftmaxLauncher f, int64_t n) : f_(f), inner_(n / 16), x_(random_values<float>(16 * inner_, 7, -4, 4)),
                                              y_(16 * inner_) {}
  void launch(cudaStream_t stream) override { f_(x_.get(), y_.get(), 2, 8, inner_, false, stream); }
  double compulsory_bytes() const override { return 2.0 * 16 * static_cast<double>(inner_) * sizeof(float); }
  std::string problem() const override {
    return "softmax over 8 channels of [2, 8, " + std::to_string(inner_) + "] float32";
  }

 private:
  SoftmaxLauncher f_;
  int64_t inner_;
  DeviceBuffer<float> x_, y_;
};

std::unique_ptr<BenchCase> bench_version(int version, int64_t n) {
  return std::make_unique<SoftmaxCase>(kLaunchers[version - 1], n);
}

}  // namespace

const Family& softmax_family() {
  static const Family f{"softmax",
                        "softmax over the channels of [outer, axis, inner], float32 (kernels/cuda/softmax.cu)",
                        {{1, "production: an axis of <= 16 held in registers (1 read + 1 write), float math"},
                         {2, "before issue 17: three passes over the axis, exp and sums in double"},
                         {3, "three passes in float (expf, float sums)"},
                         {4, "registers as version 1, double math (production before the float promotion)"},
                         {5, "inner = 1: a warp per row, shuffle max and sum (double); else version 1"}},
                        check_version,
                        bench_version,
                        int64_t{1} << 26,
                        int64_t{1} << 16};
  return f;
}

}  // namespace workbench
}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda
