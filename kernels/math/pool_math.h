// The max-pool window scan, shared by the CPU reference (kernels/cpu/pool.cpp) and the CUDA
// kernel (kernels/cuda/pool.cu): for the output voxel (od, oh, ow) of one plane, the offset
// within the plane's input of the window's largest value. Ties keep the first in scan order
// (depth, then height, then width), so both backends route gradients to the same input.
// 16-bit values (bfloat16 / float16 storage) are compared as the floats they widen to.
#pragma once
#include <cstdint>

#include "kernels/op_geometry.h"
#include "kernels/math/hd.h"
#include "kernels/math/low_precision.h"

namespace pn::math {

// With g.interleaved = I > 1 (channels-last) `plane` points at one channel of a sample and voxel
// v's value is plane[v * I]; the result is still a voxel offset.
// requires: the window of (od, oh, ow) lies inside the input (g.out from valid pooling).
template <class T>
PN_HD int64_t max_window_argmax(const kernels::PoolGeom& g, const T* plane, int64_t od, int64_t oh, int64_t ow) {
  const int64_t step = g.interleaved;
  // The running maximum is kept in a register (not reloaded through `best`), so the scan is
  // compare-and-select without a chain of dependent loads (it compiles without branches).
  // 16-bit values are compared as floats (compute_t).
  using C = compute_t<T>;
  const int64_t first = ((od * g.stride[0]) * g.in[1] + oh * g.stride[1]) * g.in[2] + ow * g.stride[2];
  int64_t best = first;
  C best_v = static_cast<C>(plane[first * step]);
  for (int64_t a = 0; a < g.k[0]; ++a)
    for (int64_t b = 0; b < g.k[1]; ++b) {
      const int64_t row = ((od * g.stride[0] + a) * g.in[1] + oh * g.stride[1] + b) * g.in[2] + ow * g.stride[2];
      for (int64_t c = 0; c < g.k[2]; ++c) {
        const C v = static_cast<C>(plane[(row + c) * step]);
        const bool larger = v > best_v;
        best = larger ? row + c : best;
        best_v = larger ? v : best_v;
      }
    }
  return best;
}

}  // namespace pn::math
