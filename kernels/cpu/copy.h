// CPU strided block copy: the one kernel behind concatenation, narrowing, cropping and
// zero padding (each copies a box between a tensor and a region of a larger one).
#pragma once
#include "kernels/op_geometry.h"

namespace pn::cpu {

// dst[i0*ds0 + i1*ds1 + i2*ds2 + i3] = src[i0*ss0 + i1*ss1 + i2*ss2 + i3] over the box;
// elements of dst outside the box are left as they are.
template <class T>
void copy_box(const T* src, T* dst, const kernels::BoxCopy& b);

}  // namespace pn::cpu
