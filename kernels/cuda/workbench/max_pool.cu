// Workbench family "max_pool": 3-D max-pooling with argmax (the first maximum on ties) over
// independent float32 planes, in numbered versions.
//   1  production (kernels/cuda/pool.cu max_pool_forward): 32-bit indices when the tensors
//      allow; for k = stride = 2 along rows of a multiple of 4 floats, 2 outputs per thread from
//      one 16-byte load per window row and one 16-byte store of the 2 indices
//   2  the production kernel before issue 17: one output per thread, 64-bit index, seven 64-bit
//      divisions or remainders per output, 4-byte loads 8 bytes apart across lanes (k = 2)
//   3  version 2 with 32-bit indices (three 32-bit divisions per output): production's general path
// The check runs every version on pooling geometries with and without the vector path (odd rows,
// overlapping windows, a misaligned pointer), with values drawn from 4 levels so that ties are
// common, against the CPU's max_pool_forward: outputs and indices bit for bit.
#include "kernels/cpu/pool.h"
#include "kernels/cuda/device.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/pool.h"
#include "kernels/cuda/workbench/buffers.h"
#include "kernels/cuda/workbench/family.h"
#include "kernels/math/pool_math.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {
namespace workbench {

namespace {

using kernels::PoolGeom;
constexpr unsigned kBlock = 256;

__global__ void max_pool64_kernel(PoolGeom g, const float* x, float* y, int64_t* idx, int64_t n) {
  for (int64_t i = global_index(); i < n; i += grid_stride()) {
    const int64_t ow = i % g.out[2], oh = i / g.out[2] % g.out[1], od = i / (g.out[2] * g.out[1]) % g.out[0];
    const int64_t p = i / (g.out[2] * g.out[1] * g.out[0]);
    const float* xp = x + p * g.in[0] * g.in[1] * g.in[2];
    const int64_t best = math::max_window_argmax(g, xp, od, oh, ow);
    y[i] = xp[best];
    idx[i] = best;
  }
}

__global__ void max_pool32_kernel(PoolGeom g, const float* x, float* y, int64_t* idx, unsigned n) {
  const unsigned out0 = static_cast<unsigned>(g.out[0]), out1 = static_cast<unsigned>(g.out[1]);
  const unsigned out2 = static_cast<unsigned>(g.out[2]), in_volume = static_cast<unsigned>(g.in[0] * g.in[1] * g.in[2]);
  for (unsigned i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    const unsigned q = i / out2, ow = i - q * out2, r = q / out1, oh = q - r * out1;
    const unsigned p = r / out0, od = r - p * out0;
    const float* xp = x + p * in_volume;
    const int64_t best = math::max_window_argmax(g, xp, od, oh, ow);
    y[i] = xp[best];
    idx[i] = best;
  }
}

using PoolLauncher = void (*)(const PoolGeom& g, const float* x, float* y, int64_t* idx, cudaStream_t stream);

void launch_v1(const PoolGeom& g, const float* x, float* y, int64_t* idx, cudaStream_t stream) {
  max_pool_forward(g, x, y, idx, stream);
}

void launch_v2(const PoolGeom& g, const float* x, float* y, int64_t* idx, cudaStream_t stream) {
  const int64_t n = g.planes * g.out_volume();
  if (n <= 0) return;
  ErrorScope scope("workbench max_pool v2", n);
  launch(max_pool64_kernel, grid_for(n, kBlock), kBlock, 0, stream, g, x, y, idx, n);
}

void launch_v3(const PoolGeom& g, const float* x, float* y, int64_t* idx, cudaStream_t stream) {
  const int64_t n = g.planes * g.out_volume();
  if (n <= 0) return;
  if (n >= (int64_t{1} << 31) || g.planes * g.in_volume() >= (int64_t{1} << 31)) return launch_v2(g, x, y, idx, stream);
  ErrorScope scope("workbench max_pool v3", n);
  launch(max_pool32_kernel, grid_for(n, kBlock), kBlock, 0, stream, g, x, y, idx, static_cast<unsigned>(n));
}

constexpr PoolLauncher kLaunchers[] = {launch_v1, launch_v2, launch_v3};

PoolGeom pool_geom(int64_t planes, const int64_t (&in)[3], const int64_t (&k)[3], const int64_t (&stride)[3]) {
  PoolGeom g;
  g.planes = planes;
  for (int d = 0; d < 3; ++d) {
    g.in[d] = in[d];
    g.k[d] = k[d];
    g.stride[d] = stride[d];
    g.out[d] = (in[d] - k[d]) / stride[d] + 1;
  }
  return g;
}

std::string check_version(int version) {
  struct Case {
    PoolGeom g;
    int offset;  // elements by which x, y and idx are shifted from their allocations
  };
  const Case cases[] = {{pool_geom(6, {7, 9, 11}, {2, 2, 2}, {2, 2, 2}), 0},
                        {pool_geom(3, {4, 6, 16}, {2, 2, 2}, {2, 2, 2}), 0},  // the vector path
                        {pool_geom(2, {1, 5, 36}, {1, 3, 2}, {1, 2, 2}), 0},  // vector path, overlapping rows
                        {pool_geom(2, {2, 4, 8}, {2, 2, 2}, {2, 2, 2}), 1},   // misaligned
                        {pool_geom(5, {1, 17, 13}, {1, 3, 3}, {1, 2, 2}), 0}};
  unsigned seed = 81;
  for (const Case& c : cases) {
    const PoolGeom& g = c.g;
    const int64_t in_n = g.planes * g.in_volume(), out_n = g.planes * g.out_volume();
    std::vector<float> x = random_values<float>(in_n + c.offset, seed++, 0.0, 4.0);
    for (float& v : x) v = std::floor(v);  // 4 levels: ties in most windows
    std::vector<float> y(static_cast<size_t>(out_n));
    std::vector<int64_t> idx(static_cast<size_t>(out_n));
    cpu::max_pool_forward(g, x.data() + c.offset, y.data(), idx.data());
    DeviceBuffer<float> dx(x), dy(out_n + c.offset);
    DeviceBuffer<int64_t> didx(out_n + c.offset);
    kLaunchers[version - 1](g, dx.get() + c.offset, dy.get() + c.offset, didx.get() + c.offset, nullptr);
    std::vector<float> got_y = dy.download();
    std::vector<int64_t> got_idx = didx.download();
    got_y.erase(got_y.begin(), got_y.begin() + c.offset);
    got_idx.erase(got_idx.begin(), got_idx.begin() + c.offset);
    const std::string what = "planes " + std::to_string(g.planes) + " of [" + std::to_string(g.in[0]) + ", " +
                             std::to_string(g.in[1]) + ", " + std::to_string(g.in[2]) + "], k [" +
                             std::to_string(g.k[0]) + ", " + std::to_string(g.k[1]) + ", " + std::to_string(g.k[2]) +
                             "], offset " + std::to_string(c.offset);
    std::string failure = compare(got_y, y, 0, 0, what + ", y");
    if (failure.empty()) failure = compare(got_idx, idx, 0, 0, what + ", argmax");
    if (!failure.empty()) return failure;
  }
  return "";
}

// k = stride = 2 over 16 planes of [4, 16, n / 1024].
class PoolCase : public BenchCase {
 public:
  PoolCase(PoolLauncher f, int64_t n)
      : f_(f), g_(pool_geom(16, {4, 16, n / 1024}, {2, 2, 2}, {2, 2, 2})),
        x_(random_values<float>(g_.planes * g_.in_volume(), 9)), y_(g_.planes * g_.out_volume()),
        idx_(g_.planes * g_.out_volume()) {}
  void launch(cudaStream_t stream) override { f_(g_, x_.get(), y_.get(), idx_.get(), stream); }
  double compulsory_bytes() const override {
    return static_cast<double>(g_.planes) * (g_.in_volume() * 4.0 + g_.out_volume() * 12.0);
  }
  std::string problem() const override {
    return "max-pool k = stride = 2 over 16 planes of [4, 16, " + std::to_string(g_.in[2]) + "] float32";
  }

 private:
  PoolLauncher f_;
  PoolGeom g_;
  DeviceBuffer<float> x_, y_;
  DeviceBuffer<int64_t> idx_;
};

std::unique_ptr<BenchCase> bench_version(int version, int64_t n) {
  return std::make_unique<PoolCase>(kLaunchers[version - 1], n);
}

}  // namespace

const Family& max_pool_family() {
  static const Family f{"max_pool",
                        "3-d max-pooling with argmax over float32 planes (kernels/cuda/pool.cu)",
                        {{1, "production: 32-bit index; k = 2 rows: 2 outputs per thread, 16-byte load and index store"},
                         {2, "before issue 17: 1 output per thread, 64-bit index, 7 64-bit divisions per output"},
                         {3, "version 2 with 32-bit indices (3 32-bit divisions per output)"}},
                        check_version,
                        bench_version,
                        int64_t{1} << 26,
                        int64_t{1} << 16};
  return f;
}

}  // namespace workbench
}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda
