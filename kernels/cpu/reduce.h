// CPU reference reductions: sums over chosen axes of a contiguous array. Accumulates in
// double and splits work only over output elements (or fixed chunks), so results do not
// depend on the number of threads.
#pragma once
#include <cstdint>
#include "kernels/op_geometry.h"

namespace pn::cpu {

// out has one element per combination of the kept dims (in order).
template <class T>
void sum_reduce(const T* x, T* out, const kernels::ReduceGeom& g);

}  // namespace pn::cpu
