// Workbench family "copy_box": the strided box copy behind concatenation, narrowing, cropping
// and padding (kernels::BoxCopy: four extents, the last contiguous), float32, in numbered versions.
//   1  production (kernels/cuda/copy.cu): 32-bit index arithmetic when the offsets fit; 16-byte
//      accesses (4 floats per thread) when rows, strides and pointers are 16-byte aligned
//   2  the production kernel before issue 17: one element per thread, 64-bit index, five 64-bit
//      divisions or remainders per element
// The check runs every version on crops with odd row lengths, aligned rows (the 16-byte path),
// misaligned pointers and a long row, against the CPU's copy_box, bit for bit, including the
// elements of dst outside the box (which must stay untouched).
#include "kernels/cpu/copy.h"
#include "kernels/cuda/copy.h"
#include "kernels/cuda/device.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/workbench/buffers.h"
#include "kernels/cuda/workbench/family.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {
namespace workbench {

namespace {

using kernels::BoxCopy;
constexpr unsigned kBlock = 256;

__global__ void copy_box64_kernel(const float* src, float* dst, BoxCopy b, int64_t n) {
  for (int64_t i = global_index(); i < n; i += grid_stride()) {
    const int64_t i3 = i % b.extent[3], r = i / b.extent[3];
    const int64_t i2 = r % b.extent[2], i1 = r / b.extent[2] % b.extent[1], i0 = r / (b.extent[2] * b.extent[1]);
    dst[i0 * b.dst_stride[0] + i1 * b.dst_stride[1] + i2 * b.dst_stride[2] + i3] =
        src[i0 * b.src_stride[0] + i1 * b.src_stride[1] + i2 * b.src_stride[2] + i3];
  }
}

using BoxLauncher = void (*)(const float* src, float* dst, const BoxCopy& b, cudaStream_t stream);

void launch_v1(const float* src, float* dst, const BoxCopy& b, cudaStream_t stream) { copy_box(src, dst, b, stream); }

void launch_v2(const float* src, float* dst, const BoxCopy& b, cudaStream_t stream) {
  const int64_t n = b.numel();
  if (n <= 0) return;
  ErrorScope scope("workbench copy_box v2", b.extent, 4);
  launch(copy_box64_kernel, grid_for(n, kBlock), kBlock, 0, stream, src, dst, b, n);
}

constexpr BoxLauncher kLaunchers[] = {launch_v1, launch_v2};

// The box `ext` of a contiguous array shaped `src_shape`, at `src_at` (elements), copied into a
// contiguous array shaped `dst_shape` at `dst_at`.
struct BoxCase {
  int64_t ext[4], src_shape[4], dst_shape[4], src_at, dst_at;
};

std::string check_version(int version) {
  const BoxCase cases[] = {
      {{2, 5, 9, 13}, {3, 6, 11, 17}, {2, 5, 9, 13}, 0, 0},      // crop, odd rows
      {{2, 3, 7, 16}, {2, 3, 7, 16}, {2, 6, 9, 24}, 0, 8},       // into a concatenation: 16-byte rows
      {{2, 3, 7, 16}, {2, 3, 7, 17}, {2, 6, 9, 24}, 1, 3},       // misaligned rows
      {{1, 2, 3, 4099}, {1, 2, 3, 4099}, {1, 3, 3, 4100}, 0, 1}, // long rows
      {{1, 1, 1, 5}, {1, 1, 1, 9}, {1, 1, 1, 5}, 4, 0}};
  unsigned seed = 71;
  for (const BoxCase& c : cases) {
    BoxCopy b;
    int64_t src_n = 1, dst_n = 1;
    for (int d = 0; d < 4; ++d) {
      b.extent[d] = c.ext[d];
      src_n *= c.src_shape[d];
      dst_n *= c.dst_shape[d];
    }
    b.src_stride[2] = c.src_shape[3];
    b.src_stride[1] = b.src_stride[2] * c.src_shape[2];
    b.src_stride[0] = b.src_stride[1] * c.src_shape[1];
    b.dst_stride[2] = c.dst_shape[3];
    b.dst_stride[1] = b.dst_stride[2] * c.dst_shape[2];
    b.dst_stride[0] = b.dst_stride[1] * c.dst_shape[1];
    const std::vector<float> src = random_values<float>(src_n, seed++);
    std::vector<float> want = random_values<float>(dst_n, seed++);  // what dst held before
    DeviceBuffer<float> dsrc(src), ddst(want);
    cpu::copy_box(src.data() + c.src_at, want.data() + c.dst_at, b);
    kLaunchers[version - 1](dsrc.get() + c.src_at, ddst.get() + c.dst_at, b, nullptr);
    const std::string what = "box [" + std::to_string(b.extent[0]) + ", " + std::to_string(b.extent[1]) + ", " +
                             std::to_string(b.extent[2]) + ", " + std::to_string(b.extent[3]) + "] from offset " +
                             std::to_string(c.src_at) + " to offset " + std::to_string(c.dst_at);
    const std::string failure = compare(ddst.download(), want, 0, 0, what + ", dst");
    if (!failure.empty()) return failure;
  }
  return "";
}

// The first half of the channels of [2, 16, 32, n / 1024] from a contiguous [2, 8, 32, n / 1024]
// (one input of a channel concatenation).
class CopyCase : public BenchCase {
 public:
  CopyCase(BoxLauncher f, int64_t n) : f_(f), w_(n / 512), src_(512 * w_), dst_(1024 * w_) {
    b_.extent[0] = 2;
    b_.extent[1] = 8;
    b_.extent[2] = 32;
    b_.extent[3] = w_;
    b_.src_stride[2] = b_.dst_stride[2] = w_;
    b_.src_stride[1] = b_.dst_stride[1] = 32 * w_;
    b_.src_stride[0] = 8 * 32 * w_;
    b_.dst_stride[0] = 16 * 32 * w_;
  }
  void launch(cudaStream_t stream) override { f_(src_.get(), dst_.get(), b_, stream); }
  double compulsory_bytes() const override { return 2.0 * static_cast<double>(b_.numel()) * sizeof(float); }
  std::string problem() const override {
    return "[2, 8, 32, " + std::to_string(w_) + "] float32 into channels 0..7 of [2, 16, 32, " + std::to_string(w_) +
           "]";
  }

 private:
  BoxLauncher f_;
  int64_t w_;
  BoxCopy b_;
  DeviceBuffer<float> src_, dst_;
};

std::unique_ptr<BenchCase> bench_version(int version, int64_t n) {
  return std::make_unique<CopyCase>(kLaunchers[version - 1], n);
}

}  // namespace

const Family& copy_box_family() {
  static const Family f{"copy_box",
                        "a strided 4-d box copy (concatenation, crop, pad), float32 (kernels/cuda/copy.cu)",
                        {{1, "production: 32-bit index; 16-byte accesses when rows, strides and pointers align"},
                         {2, "before issue 17: 1 element per thread, 64-bit index, 5 64-bit divisions per element"}},
                        check_version,
                        bench_version,
                        int64_t{1} << 26,
                        int64_t{1} << 16};
  return f;
}

}  // namespace workbench
}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda
