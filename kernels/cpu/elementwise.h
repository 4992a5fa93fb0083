// CPU reference for elementwise ops: unary maps and broadcasting binary ops, in the
// float and double instantiations the autograd layer dispatches to, and bfloat16 / float16
// (mixed precision) for unary, binary, where, fill and cast: each 16-bit element is widened to
// float, computed with the same kernels/math function as float, and the result rounded once
// (nearest even); unary's parameters are in the compute type (math::compute_t: float).
#pragma once
#include "kernels/math/low_precision.h"
#include <cstdint>
#include "kernels/op_geometry.h"
#include "kernels/math/elementwise_math.h"

namespace pn::cpu {

template <class T>
void unary(math::Unary op, const T* x, T* y, int64_t n, math::compute_t<T> p0, math::compute_t<T> p1);

template <class T>
void binary(math::Binary op, const T* a, const T* b, T* out, const kernels::BroadcastGeom& g);

// y = where(cond != 0, a, b) for same-shape contiguous arrays.
template <class T>
void where(const T* cond, const T* a, const T* b, T* y, int64_t n);

template <class T>
void fill(T* x, int64_t n, T value);

template <class Src, class Dst>
void cast(const Src* x, Dst* y, int64_t n);

}  // namespace pn::cpu
