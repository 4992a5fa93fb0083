#include "kernels/cpu/copy.h"

#include <algorithm>

namespace pn::cpu {

template <class T>
void copy_box(const T* src, T* dst, const kernels::BoxCopy& b) {
  const int64_t runs = b.extent[0] * b.extent[1] * b.extent[2], len = b.extent[3];
  // One contiguous run of len elements per (i0, i1, i2).
#pragma omp parallel for schedule(static) if (runs * len > 65536)
  for (int64_t r = 0; r < runs; ++r) {
    const int64_t i2 = r % b.extent[2], i1 = (r / b.extent[2]) % b.extent[1], i0 = r / (b.extent[1] * b.extent[2]);
    const T* s = src + i0 * b.src_stride[0] + i1 * b.src_stride[1] + i2 * b.src_stride[2];
    T* d = dst + i0 * b.dst_stride[0] + i1 * b.dst_stride[1] + i2 * b.dst_stride[2];
    std::copy(s, s + len, d);
  }
}

template <class T>
void transpose_last_two(const T* src, T* dst, int64_t outer, int64_t rows, int64_t cols) {
  constexpr int64_t kTile = 32;  // a 32 x 32 tile of either side stays in L1
#pragma omp parallel for collapse(2) schedule(static) if (outer * rows * cols > 65536)
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t r0 = 0; r0 < rows; r0 += kTile) {
      const T* s = src + o * rows * cols;
      T* d = dst + o * rows * cols;
      const int64_t r1 = std::min(rows, r0 + kTile);
      for (int64_t c0 = 0; c0 < cols; c0 += kTile) {
        const int64_t c1 = std::min(cols, c0 + kTile);
        for (int64_t r = r0; r < r1; ++r)
          for (int64_t c = c0; c < c1; ++c) d[c * rows + r] = s[r * cols + c];
      }
    }
}

template void transpose_last_two<float>(const float*, float*, int64_t, int64_t, int64_t);
template void transpose_last_two<double>(const double*, double*, int64_t, int64_t, int64_t);
template void transpose_last_two<math::bfloat16>(const math::bfloat16*, math::bfloat16*, int64_t, int64_t, int64_t);
template void transpose_last_two<math::float16>(const math::float16*, math::float16*, int64_t, int64_t, int64_t);
template void copy_box<float>(const float*, float*, const kernels::BoxCopy&);
template void copy_box<double>(const double*, double*, const kernels::BoxCopy&);
template void copy_box<math::bfloat16>(const math::bfloat16*, math::bfloat16*, const kernels::BoxCopy&);
template void copy_box<math::float16>(const math::float16*, math::float16*, const kernels::BoxCopy&);

}  // namespace pn::cpu
