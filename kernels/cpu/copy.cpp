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

template void copy_box<float>(const float*, float*, const kernels::BoxCopy&);
template void copy_box<double>(const double*, double*, const kernels::BoxCopy&);
template void copy_box<math::bfloat16>(const math::bfloat16*, math::bfloat16*, const kernels::BoxCopy&);
template void copy_box<math::float16>(const math::float16*, math::float16*, const kernels::BoxCopy&);

}  // namespace pn::cpu
