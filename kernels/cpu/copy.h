// CPU strided block copy: the one kernel behind concatenation, narrowing, cropping and
// zero padding (each copies a box between a tensor and a region of a larger one); and batched
// transposes, behind the channels-first <-> channels-last conversions.
#pragma once
#include "kernels/op_geometry.h"
#include "kernels/math/low_precision.h"

namespace pn::cpu {

// dst[i0*ds0 + i1*ds1 + i2*ds2 + i3] = src[i0*ss0 + i1*ss1 + i2*ss2 + i3] over the box;
// elements of dst outside the box are left as they are.
template <class T>
void copy_box(const T* src, T* dst, const kernels::BoxCopy& b);

// dst[o][c][r] = src[o][r][c] for o < outer, r < rows, c < cols (NC[D]HW <-> N[D]HWC with
// outer = N). requires: src and dst hold outer * rows * cols elements and do not overlap.
template <class T>
void transpose_last_two(const T* src, T* dst, int64_t outer, int64_t rows, int64_t cols);

}  // namespace pn::cpu
