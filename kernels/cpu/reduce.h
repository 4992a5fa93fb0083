// CPU reference reductions: sums over chosen axes of a contiguous array. Accumulates in
// double and splits work only over output elements (or fixed chunks), so results do not
// depend on the number of threads.
//
// sum_reduce<T> contract:
//   requires  x holds the product of g.shape[0..g.ndim) elements, contiguous, row-major;
//             out holds one element per combination of the kept dims (g.reduce[d] false);
//             T is float, double, math::bfloat16 or math::float16.
//   ensures   out[k] = the sum of the x elements that project to k, each widened exactly to
//             double and added in memory order (whole-tensor sums: 64 fixed chunks, then the
//             chunks in order), times g.scale in double (1: exact; 1 / count: a mean), rounded once to T's storage through float for the 16-bit
//             types (math::bfloat16(double): as PyTorch, which rounds its float sum; so a
//             16-bit sum equals the float32 sum of the same values, rounded to 16 bits).
#pragma once
#include <cstdint>
#include "kernels/op_geometry.h"

namespace pn::cpu {

// out has one element per combination of the kept dims (in order).
template <class T>
void sum_reduce(const T* x, T* out, const kernels::ReduceGeom& g);

}  // namespace pn::cpu
