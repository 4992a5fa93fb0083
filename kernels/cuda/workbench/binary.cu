// Workbench family "binary": the broadcasting binary map out = a + b over float32, in numbered
// versions (the benchmark's case is a per-channel bias add: a [2, 16, S], b [1, 16, 1]).
//   1  production (kernels/cuda/elementwise.cu binary): one element per thread per step of a
//      grid-stride loop with a 64-bit index; each element's multi-index is rebuilt by 64-bit
//      divisions and remainders over every dim, and dotted with both operands' strides
//   2  by rows: the output is [rows, inner] (inner = the last merged dim); a 2-D grid puts
//      threadIdx.x along the row and threadIdx.y over rows, so a row's operand offsets are
//      computed once per row (32-bit divisions over the outer dims), never per element; along
//      the row every operand advances by its inner stride (0 = broadcast, held in a register).
//      When both inner strides are 0 or 1, inner % 4 == 0 and the pointers are 16-byte aligned,
//      4 elements per lane through 16-byte accesses. Needs every offset < 2^31, else version 1
// The check runs every version on per-channel, row, column, outer-product, scalar and
// same-shape broadcasts with ragged rows and misaligned pointers, against the CPU's binary
// (the same kernels/math function: bit-equal).
#include <algorithm>
#include <climits>

#include "kernels/cpu/elementwise.h"
#include "kernels/cuda/device.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/vector_types.h"
#include "kernels/cuda/workbench/buffers.h"
#include "kernels/cuda/workbench/family.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {
namespace workbench {

namespace {

using kernels::BroadcastGeom;
constexpr math::Binary kOp = math::Binary::Add;
constexpr unsigned kThreads = 256;
constexpr unsigned kMaxGridY = 65535;

// The output as [rows, inner]: the outer dims (all but the last merged one) in 32 bits.
struct RowPlan {
  int nouter = 0;
  int shape[kernels::kMaxDims] = {}, stride_a[kernels::kMaxDims] = {}, stride_b[kernels::kMaxDims] = {};
  int rows = 1, inner = 1, inner_a = 0, inner_b = 0;  // inner strides: 0 (broadcast) or any
  bool vec4 = false;                                  // the 16-byte path (float only)
};

// The operands' offsets of row `row`: its outer multi-index dotted with their strides.
__device__ __forceinline__ void row_offsets(const RowPlan& p, int row, int& oa, int& ob) {
  oa = 0;
  ob = 0;
  for (int d = p.nouter - 1; d >= 0; --d) {
    const int idx = row % p.shape[d];
    row /= p.shape[d];
    oa += idx * p.stride_a[d];
    ob += idx * p.stride_b[d];
  }
}

// Scalar path: out[row, j] = op(a[oa + j inner_a], b[ob + j inner_b]).
template <class T>
__global__ void binary_rows_kernel(math::Binary op, const T* a, const T* b, T* out, RowPlan p) {
  for (int row = blockIdx.y * blockDim.y + threadIdx.y; row < p.rows; row += gridDim.y * blockDim.y) {
    int oa, ob;
    row_offsets(p, row, oa, ob);
    T* out_row = out + row * p.inner;
    for (int j = blockIdx.x * blockDim.x + threadIdx.x; j < p.inner; j += gridDim.x * blockDim.x)
      out_row[j] = math::apply_binary(op, a[oa + j * p.inner_a], b[ob + j * p.inner_b]);
  }
}

// 16-byte path (inner % 4 == 0, inner strides 0 or 1, 16-byte aligned rows): lane j takes
// elements 4j..4j+3 of the row; a broadcast operand's value is loaded once per row.
__global__ void binary_rows_vec4_kernel(math::Binary op, const float* a, const float* b, float* out, RowPlan p) {
  const int nvec = p.inner / 4;
  for (int row = blockIdx.y * blockDim.y + threadIdx.y; row < p.rows; row += gridDim.y * blockDim.y) {
    int oa, ob;
    row_offsets(p, row, oa, ob);
    const int first = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
    if (first >= nvec) continue;
    const float sa = p.inner_a ? 0.f : a[oa], sb = p.inner_b ? 0.f : b[ob];
    const float4* a4 = reinterpret_cast<const float4*>(a + oa);
    const float4* b4 = reinterpret_cast<const float4*>(b + ob);
    float4* o4 = reinterpret_cast<float4*>(out + row * p.inner);
    for (int j = first; j < nvec; j += gridDim.x * blockDim.x) {
      const float4 va = p.inner_a ? ld128(a4 + j) : float4{sa, sa, sa, sa};
      const float4 vb = p.inner_b ? ld128(b4 + j) : float4{sb, sb, sb, sb};
      st128(o4 + j, float4{math::apply_binary(op, va.x, vb.x), math::apply_binary(op, va.y, vb.y),
                           math::apply_binary(op, va.z, vb.z), math::apply_binary(op, va.w, vb.w)});
    }
  }
}

// The extent an operand's strides reach (its last offset + 1).
int64_t operand_extent(const BroadcastGeom& g, const int64_t* stride) {
  int64_t e = 1;
  for (int d = 0; d < g.ndim; ++d) e += (g.shape[d] - 1) * stride[d];
  return e;
}

// false when an offset would not fit 32 bits (the caller runs version 1).
bool make_row_plan(const BroadcastGeom& g, const void* a, const void* b, const void* out, RowPlan& p) {
  if (g.numel() >= INT_MAX || operand_extent(g, g.stride_a) >= INT_MAX || operand_extent(g, g.stride_b) >= INT_MAX)
    return false;
  p.nouter = g.ndim - 1;
  for (int d = 0; d < p.nouter; ++d) {
    p.shape[d] = static_cast<int>(g.shape[d]);
    p.stride_a[d] = static_cast<int>(g.stride_a[d]);
    p.stride_b[d] = static_cast<int>(g.stride_b[d]);
    p.rows *= p.shape[d];
  }
  p.inner = static_cast<int>(g.shape[g.ndim - 1]);
  p.inner_a = static_cast<int>(g.stride_a[g.ndim - 1]);
  p.inner_b = static_cast<int>(g.stride_b[g.ndim - 1]);
  // The rows read in 16-byte accesses (the output's, and an operand's with inner stride 1)
  // start 16-byte aligned when their base pointer is and every outer stride is a multiple of 4
  // (the output's row stride is inner). A broadcast operand (inner stride 0) is read one value
  // per row, at any address.
  bool aligned = p.inner % 4 == 0 && p.inner_a <= 1 && p.inner_b <= 1 && reinterpret_cast<uintptr_t>(out) % 16 == 0;
  auto rows_aligned = [&](const void* ptr, int inner, const int* stride) {
    if (inner == 0) return true;
    bool ok = reinterpret_cast<uintptr_t>(ptr) % 16 == 0;
    for (int d = 0; d < p.nouter; ++d) ok = ok && stride[d] % 4 == 0;
    return ok;
  };
  p.vec4 = aligned && rows_aligned(a, p.inner_a, p.stride_a) && rows_aligned(b, p.inner_b, p.stride_b);
  return true;
}

// Block: threadIdx.x along the row (a power of two from 32 to 256 covering it), the rest of
// the 256 threads over rows; grid x over the row's remaining length, grid y over rows.
void launch_rows(const float* a, const float* b, float* out, const RowPlan& p, cudaStream_t stream) {
  const int lanes_needed = p.vec4 ? p.inner / 4 : p.inner;
  unsigned bx = 32;
  while (bx < kThreads && static_cast<int>(bx) < lanes_needed) bx *= 2;
  const dim3 block(bx, kThreads / bx);
  const unsigned gx = static_cast<unsigned>((lanes_needed + bx - 1) / bx);
  const unsigned gy = static_cast<unsigned>(std::min<int64_t>((p.rows + block.y - 1) / block.y, kMaxGridY));
  if (p.vec4) launch(binary_rows_vec4_kernel, dim3(gx, gy), block, 0, stream, kOp, a, b, out, p);
  else launch(binary_rows_kernel<float>, dim3(gx, gy), block, 0, stream, kOp, a, b, out, p);
}

using BinaryLauncher = void (*)(const float* a, const float* b, float* out, const BroadcastGeom& g,
                                cudaStream_t stream);

void launch_v1(const float* a, const float* b, float* out, const BroadcastGeom& g, cudaStream_t stream) {
  binary(kOp, a, b, out, g, stream);
}

void launch_v2(const float* a, const float* b, float* out, const BroadcastGeom& g, cudaStream_t stream) {
  if (g.numel() <= 0) return;
  RowPlan p;
  if (!make_row_plan(g, a, b, out, p)) return launch_v1(a, b, out, g, stream);
  ErrorScope scope("workbench binary v2", g.shape, g.ndim);
  launch_rows(a, b, out, p, stream);
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
                        {{1, "production: 1 element per thread per step, 64-bit index, 64-bit divisions per dim"},
                         {2, "by rows: offsets once per row (32-bit), broadcast values in registers, 16-byte accesses"}},
                        check_version,
                        bench_version,
                        int64_t{1} << 26,
                        int64_t{1} << 16};
  return f;
}

}  // namespace workbench
}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda
