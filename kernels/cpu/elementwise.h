// CPU reference for elementwise ops: unary maps and broadcasting binary ops, in the
// float and double instantiations the autograd layer dispatches to.
#pragma once
#include <cstdint>
#include "kernels/op_geometry.h"
#include "kernels/math/elementwise_math.h"

namespace pn::cpu {

template <class T>
void unary(math::Unary op, const T* x, T* y, int64_t n, T p0, T p1);

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
