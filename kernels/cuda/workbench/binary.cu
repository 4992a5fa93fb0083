// Workbench family "binary": the broadcasting binary map out = a + b over float32, in numbered
// versions (the benchmark's case is a per-channel bias add: a [2, 16, S], b [1, 16, 1]).
//   1  production (kernels/cuda/elementwise.cu binary; promoted from this workbench in issue 17):
//      by rows: the output is [rows, inner] (inner = the last merged dim); a 2-D grid puts
//      threadIdx.x along the row and threadIdx.y over rows, so a row's operand offsets are
//      computed once per row (32-bit divisions over the outer dims), never per element; along
//      the row every operand advances by its inner stride (0 = broadcast, held in a register).
//      When both inner strides are 0 or 1, inner % 4 == 0 and the rows are 16-byte aligned,
//      4 elements per lane through 16-byte accesses. Offsets past 2^31: version 2's kernel
//   2  before issue 17: one element per thread per step of a grid-stride loop with a 64-bit
//      index; each element's multi-index rebuilt by 64-bit divisions and remainders over every
//      dim, and dotted with both operands' strides
// The check runs every version on per-channel, row, column, outer-product, scalar and
// same-shape broadcasts with ragged rows and misaligned pointers, against the CPU's binary
// (the same kernels/math function: bit-equal).
#include <algorithm>

#include "kernels/cpu/elementwise.h"
#include "kernels/cuda/device.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/workbench/buffers.h"
#include "kernels/cuda/workbench/family.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {
namespace workbench {

namespace {

using kernels::BroadcastGeom;
constexpr math::Binary kOp = math::Binary::Add;
constexpr unsigned kThreads = 256;

// Before issue 17's promotion (elementwise.cu's binary_kernel): output element i is the
// row-major multi-index over g.shape, rebuilt by a 64-bit division and remainder per dim;
// each operand's offset is that index dotted with its strides (0 along broadcast dims).
__global__ void binary_per_element_kernel(math::Binary op, const float* a, const float* b, float* out,
                                          BroadcastGeom g, int64_t n) {
  for (int64_t i = global_index(); i < n; i += grid_stride()) {
    int64_t rem = i, oa = 0, ob = 0;
    for (int d = g.ndim - 1; d >= 0; --d) {
      const int64_t idx = rem % g.shape[d];
      rem /= g.shape[d];
      oa += idx * g.stride_a[d];
      ob += idx * g.stride_b[d];
    }
    out[i] = math::apply_binary(op, a[oa], b[ob]);
  }
}

// The extent an operand's strides reach (its last offset + 1).
int64_t operand_extent(const BroadcastGeom& g, const int64_t* stride) {
  int64_t e = 1;
  for (int d = 0; d < g.ndim; ++d) e += (g.shape[d] - 1) * stride[d];
  return e;
}

using BinaryLauncher = void (*)(const float* a, const float* b, float* out, const BroadcastGeom& g,
                                cudaStream_t stream);

void launch_v1(const float* a, const float* b, float* out, const BroadcastGeom& g, cudaStream_t stream) {
  binary(kOp, a, b, out, g, stream);
}

void launch_v2(const float* a, const float* b, float* out, const BroadcastGeom& g, cudaStream_t stream) {
  const int64_t n = g.numel();
  if (n <= 0) return;
  ErrorScope scope("workbench binary v2", g.shape, g.ndim);
  launch(binary_per_element_kernel, grid_for(n, kThreads), kThreads, 0, stream, kOp, a, b, out, g, n);
}

constexpr BinaryLauncher kLaunchers[] = {launch_v1, launch_v2};

BroadcastGeom geom(std::initializer_list<int64_t> shape, std::initializer_list<int64_t> sa,
                   std::initializer_list<int64_t> sb) {
  BroadcastGeom g;
  g.ndim = static_cast<int>(shape.size());
  std::copy(shape.begin(), shape.end(), g.shape);
  std::copy(sa.begin(), sa.end(), g.stride_a);
  std::copy(sb.begin(), sb.end(), g.stride_b);
  return g;
}

// One geometry at a pointer offset (floats) against the CPU, bit for bit.
std::string check_geom(BinaryLauncher f, const BroadcastGeom& g, int offset, unsigned seed) {
  const int64_t na = operand_extent(g, g.stride_a), nb = operand_extent(g, g.stride_b), n = g.numel();
  const std::vector<float> a = random_values<float>(na + offset, seed, -3, 3);
  const std::vector<float> b = random_values<float>(nb + offset, seed + 1, -3, 3);
  std::vector<float> want(static_cast<size_t>(n));
  cpu::binary(kOp, a.data() + offset, b.data() + offset, want.data(), g);
  DeviceBuffer<float> da(a), db(b), dout(n + offset);
  f(da.get() + offset, db.get() + offset, dout.get() + offset, g, nullptr);
  std::vector<float> got = dout.download();
  got.erase(got.begin(), got.begin() + offset);
  std::string shape;
  for (int d = 0; d < g.ndim; ++d) shape += (d ? ", " : "") + std::to_string(g.shape[d]);
  return compare(got, want, 0, 0, "[" + shape + "] at pointers offset by " + std::to_string(offset) + " floats");
}

std::string check_version(int version) {
  const BroadcastGeom geoms[] = {
      geom({2, 5, 63}, {315, 63, 1}, {0, 1, 0}),   // per-channel [2, 5, 3, 3, 7] + [1, 5, 1, 1, 1]
      geom({3, 8, 64}, {512, 64, 1}, {0, 1, 0}),   // per-channel, rows of a multiple of 4
      geom({17, 29, 13}, {13, 0, 1}, {0, 13, 1}),  // [17, 1, 13] + [1, 29, 13]
      geom({37, 41}, {41, 1}, {0, 1}),             // row broadcast [37, 41] + [41]
      geom({41, 37}, {1, 0}, {37, 1}),             // column broadcast [41, 1] + [41, 37]
      geom({9, 300}, {1, 0}, {0, 1}),              // outer product [9, 1] + [1, 300]
      geom({1031}, {1}, {0}),                      // + a scalar
      geom({3 * 7 * 11 * 5}, {1}, {1}),            // same shape
      geom({4100}, {1}, {1})};                     // same shape, a multiple of 4
  unsigned seed = 70;
  for (const BroadcastGeom& g : geoms)
    for (int offset : {0, 1}) {
      const std::string failure = check_geom(kLaunchers[version - 1], g, offset, seed += 2);
      if (!failure.empty()) return failure;
    }
  return "";
}

// Per-channel bias add: a [2, 16, S] + b [1, 16, 1], S = n / 32.
class BiasCase : public BenchCase {
 public:
  BiasCase(BinaryLauncher f, int64_t n)
      : f_(f), s_(n / 32), g_(geom({2, 16, s_}, {16 * s_, s_, 1}, {0, 1, 0})), a_(random_values<float>(32 * s_, 5)),
        b_(random_values<float>(16, 6)), out_(32 * s_) {}
  void launch(cudaStream_t stream) override { f_(a_.get(), b_.get(), out_.get(), g_, stream); }
  double compulsory_bytes() const override { return 4.0 * static_cast<double>(a_.size() + b_.size() + out_.size()); }
  std::string problem() const override {
    return "a [2, 16, " + std::to_string(s_) + "] + b [1, 16, 1] (per-channel bias), float32";
  }

 private:
  BinaryLauncher f_;
  int64_t s_;
  BroadcastGeom g_;
  DeviceBuffer<float> a_, b_, out_;
};

std::unique_ptr<BenchCase> bench_version(int version, int64_t n) {
  return std::make_unique<BiasCase>(kLaunchers[version - 1], n);
}

}  // namespace

const Family& binary_family() {
  static const Family f{"binary",
                        "out = a + b with broadcasting, float32 (the binary map of kernels/cuda/elementwise.cu)",
                        {{1, "production: by rows, offsets once per row (32-bit), broadcast values in registers, 16-byte accesses"},
                         {2, "before issue 17: 1 element per thread per step, 64-bit index, 64-bit divisions per dim"}},
                        check_version,
                        bench_version,
                        int64_t{1} << 26,
                        int64_t{1} << 16};
  return f;
}

}  // namespace workbench
}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda
