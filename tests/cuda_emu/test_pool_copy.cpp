// Parity of the CUDA window ops (max-pool, gather/scatter-add, nearest upsampling, block
// sum, pixel shuffles) and the box copy (also in bfloat16 / float16) with the CPU reference, under the emulator. All are exact: they
// only select, copy or add in the reference's order (scatter-add with non-overlapping
// windows adds one term per element; with overlapping ones, rtol 1e-6 / 1e-14 on the sums).
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "emu_util.h"
#include "kernels/cpu/copy.h"
#include "kernels/cpu/pool.h"
#include "kernels/cuda/copy.h"
#include "kernels/cuda/pool.h"
#include "kernels/cuda/storage_types.h"
#include "kernels/math/low_precision.h"

using pn::test::DeviceArray;
using pn::kernels::PoolGeom;

namespace {

PoolGeom pool_geom(int64_t planes, std::vector<int64_t> in, std::vector<int64_t> k, std::vector<int64_t> stride) {
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

template <class T>
void check_pool() {
  // 3-D 2x2x2 pooling of odd sizes (the last row is dropped), 2-D 3x3 stride 2 (overlapping).
  // The third: rows of a multiple of 4 floats, the float kernel's 16-byte path.
  const PoolGeom geoms[] = {pool_geom(6, {7, 9, 11}, {2, 2, 2}, {2, 2, 2}), pool_geom(5, {1, 17, 13}, {1, 3, 3}, {1, 2, 2}),
                            pool_geom(3, {4, 6, 16}, {2, 2, 2}, {2, 2, 2})};
  for (const PoolGeom& g : geoms) {
    const bool overlap = g.stride[1] < g.k[1];
    const int64_t iv = g.in_volume(), ov = g.out_volume();
    // Few distinct values, so that ties occur and the first-maximum rule is exercised.
    auto x = pn::test::random_vector<T>(g.planes * iv, 51, 0.0, 8.0);
    for (auto& v : x) v = static_cast<T>(static_cast<int>(v));
    std::vector<T> y(g.planes * ov);
    std::vector<int64_t> idx(g.planes * ov);
    pn::cpu::max_pool_forward(g, x.data(), y.data(), idx.data());
    DeviceArray<T> d_x(x), d_y(g.planes * ov);
    DeviceArray<int64_t> d_idx(g.planes * ov);
    pn::cuda::max_pool_forward(g, d_x.get(), d_y.get(), d_idx.get(), nullptr);
    pn::test::check_close(d_y.to_host(), y, 0, 0, "max_pool values");
    CHECK(d_idx.to_host() == idx);
    // No argmax asked for (null idx, inference): the same maxima, on both backends.
    std::vector<T> y_only(g.planes * ov);
    pn::cpu::max_pool_forward(g, x.data(), y_only.data(), static_cast<int64_t*>(nullptr));
    pn::test::check_close(y_only, y, 0, 0, "max_pool values without argmax (CPU)");
    DeviceArray<T> d_y_only(g.planes * ov);
    pn::cuda::max_pool_forward(g, d_x.get(), d_y_only.get(), static_cast<int64_t*>(nullptr), nullptr);
    pn::test::check_close(d_y_only.to_host(), y, 0, 0, "max_pool values without argmax (CUDA)");

    const auto gy = pn::test::random_vector<T>(g.planes * ov, 52);
    std::vector<T> gathered(g.planes * ov), scattered(g.planes * iv);
    pn::cpu::index_gather(x.data(), idx.data(), gathered.data(), g.planes, iv, ov);
    pn::cpu::index_scatter_add(gy.data(), idx.data(), scattered.data(), g.planes, iv, ov);
    DeviceArray<T> d_gy(gy), d_gathered(g.planes * ov), d_scattered(g.planes * iv);
    pn::cuda::index_gather(d_x.get(), d_idx.get(), d_gathered.get(), g.planes, iv, ov, nullptr);
    pn::cuda::index_scatter_add(d_gy.get(), d_idx.get(), d_scattered.get(), g.planes, iv, ov, nullptr);
    pn::test::check_close(d_gathered.to_host(), gathered, 0, 0, "index_gather");
    const double rtol = overlap ? (sizeof(T) == 4 ? 1e-6 : 1e-14) : 0.0;
    pn::test::check_close(d_scattered.to_host(), scattered, rtol, rtol, "index_scatter_add");
  }
}

template <class T>
void check_upsample() {
  PoolGeom g;
  g.planes = 4;
  const int64_t in[3] = {3, 5, 7}, k[3] = {2, 2, 3};
  for (int d = 0; d < 3; ++d) {
    g.in[d] = in[d];
    g.k[d] = k[d];
    g.out[d] = in[d] * k[d];
  }
  const auto x = pn::test::random_vector<T>(g.planes * g.in_volume(), 61);
  const auto gy = pn::test::random_vector<T>(g.planes * g.out_volume(), 62);
  std::vector<T> y(g.planes * g.out_volume()), gx(g.planes * g.in_volume());
  pn::cpu::upsample_nearest(g, x.data(), y.data());
  pn::cpu::block_sum(g, gy.data(), gx.data());
  DeviceArray<T> d_x(x), d_y(g.planes * g.out_volume()), d_gy(gy), d_gx(g.planes * g.in_volume());
  pn::cuda::upsample_nearest(g, d_x.get(), d_y.get(), nullptr);
  pn::cuda::block_sum(g, d_gy.get(), d_gx.get(), nullptr);
  pn::test::check_close(d_y.to_host(), y, 0, 0, "upsample_nearest");
  pn::test::check_close(d_gx.to_host(), gx, 0, 0, "block_sum");
}

// The device storage type's view of host elements: math::bfloat16 / math::float16 are
// __nv_bfloat16 / __half on the device (the same bits); float and double are themselves.
template <class T>
auto device_ptr(T* p) {
  if constexpr (std::is_same_v<T, pn::math::bfloat16>) return reinterpret_cast<__nv_bfloat16*>(p);
  else if constexpr (std::is_same_v<T, pn::math::float16>) return reinterpret_cast<__half*>(p);
  else return p;
}

// pixel_shuffle and pixel_unshuffle on a 3-D geometry with a different factor per dim, in
// every dtype: permutations, so bit for bit. The round trip restores x.
template <class T>
void check_pixel_shuffle() {
  PoolGeom g;
  g.planes = 3;
  const int64_t in[3] = {3, 5, 7}, k[3] = {2, 1, 3};
  for (int d = 0; d < 3; ++d) {
    g.in[d] = in[d];
    g.k[d] = k[d];
    g.out[d] = in[d] * k[d];
  }
  const int64_t n = g.planes * g.out_volume();
  const auto x = pn::test::random_vector<T>(n, 63);
  std::vector<T> y(n), back(n);
  pn::cpu::pixel_shuffle(g, x.data(), y.data());
  pn::cpu::pixel_unshuffle(g, y.data(), back.data());
  CHECK(std::memcmp(back.data(), x.data(), n * sizeof(T)) == 0);
  // One element by the definition: y[p=2, z=5, h=4, w=20] = x[2 * 6 + (1 * 1 + 0) * 3 + 2, 2, 4, 6].
  CHECK(std::memcmp(&y[((2 * 6 + 5) * 5 + 4) * 21 + 20], &x[(((2 * 6 + 5) * 3 + 2) * 5 + 4) * 7 + 6], sizeof(T)) == 0);
  DeviceArray<T> d_x(x), d_y(n), d_back(n);
  pn::cuda::pixel_shuffle(g, device_ptr(d_x.get()), device_ptr(d_y.get()), nullptr);
  pn::cuda::pixel_unshuffle(g, device_ptr(d_y.get()), device_ptr(d_back.get()), nullptr);
  CHECK(std::memcmp(d_y.to_host().data(), y.data(), n * sizeof(T)) == 0);
  CHECK(std::memcmp(d_back.to_host().data(), x.data(), n * sizeof(T)) == 0);
}

// Copies box `ext` of a contiguous array shaped S, starting at element src_off, into a zeroed
// contiguous array shaped D at element dst_off.
template <class T>
void check_copy_box(const int64_t (&S)[4], const int64_t (&D)[4], const int64_t (&ext)[4], int64_t src_coord[4],
                    int64_t dst_coord[4], const std::string& what) {
  const auto src = pn::test::random_vector<T>(S[0] * S[1] * S[2] * S[3], 71);
  pn::kernels::BoxCopy crop;
  for (int d = 0; d < 4; ++d) crop.extent[d] = ext[d];
  crop.src_stride[0] = S[1] * S[2] * S[3];
  crop.src_stride[1] = S[2] * S[3];
  crop.src_stride[2] = S[3];
  crop.dst_stride[0] = D[1] * D[2] * D[3];
  crop.dst_stride[1] = D[2] * D[3];
  crop.dst_stride[2] = D[3];
  int64_t src_off = src_coord[3], dst_off = dst_coord[3];
  for (int d = 0; d < 3; ++d) {
    src_off += src_coord[d] * crop.src_stride[d];
    dst_off += dst_coord[d] * crop.dst_stride[d];
  }
  std::vector<T> want(D[0] * D[1] * D[2] * D[3], T(0));
  pn::cpu::copy_box(src.data() + src_off, want.data() + dst_off, crop);
  DeviceArray<T> d_src(src), d_dst(std::vector<T>(want.size(), T(0)));
  pn::cuda::copy_box(device_ptr(d_src.get() + src_off), device_ptr(d_dst.get() + dst_off), crop, nullptr);
  pn::test::check_close(d_dst.to_host(), want, 0, 0, what);
}

template <class T>
void check_copy_box() {
  // Crop a [2, 5, 9, 13] box out of a [3, 7, 11, 17] array at offset (1, 2, 1, 3), then
  // paste it into a zeroed [2, 6, 10, 15] array at (0, 1, 0, 2): a concat/pad-style write.
  int64_t src_at[4] = {1, 2, 1, 3}, dst_at[4] = {0, 1, 0, 2};
  check_copy_box<T>({3, 7, 11, 17}, {2, 6, 10, 15}, {2, 5, 9, 13}, src_at, dst_at, "copy_box crop");
  // Rows, strides and offsets in whole 16 bytes: the kernel's 16-byte path.
  int64_t src_all[4] = {0, 0, 0, 0}, dst_mid[4] = {0, 2, 1, 8};
  check_copy_box<T>({2, 3, 7, 16}, {2, 6, 9, 24}, {2, 3, 7, 16}, src_all, dst_mid, "copy_box 16-byte rows");
}

}  // namespace

TEST_CASE("max_pool, index_gather and index_scatter_add match the CPU reference") {
  check_pool<float>();
  check_pool<double>();
}

TEST_CASE("upsample_nearest and block_sum match the CPU reference exactly") {
  check_upsample<float>();
  check_upsample<double>();
}

TEST_CASE("pixel_shuffle and pixel_unshuffle match the CPU reference bit for bit, in every dtype") {
  check_pixel_shuffle<float>();
  check_pixel_shuffle<double>();
  check_pixel_shuffle<pn::math::bfloat16>();
  check_pixel_shuffle<pn::math::float16>();
}

TEST_CASE("copy_box (crop, concat, pad) matches the CPU reference exactly") {
  check_copy_box<float>();
  check_copy_box<double>();
  check_copy_box<pn::math::bfloat16>();  // 8 values per 16 bytes on the wide path
  check_copy_box<pn::math::float16>();
}
