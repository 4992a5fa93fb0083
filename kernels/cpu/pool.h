// CPU reference window ops over independent planes (N * C volumes of D x H x W; 2-D is
// D = 1): max-pooling with its argmax, the index gather / scatter-add pair that is its
// derivative, nearest upsampling with its adjoint, the sum over each block, and the
// pixel shuffle pair (depth to space and back). Instantiated
// for float, double, bfloat16 and float16 (mixed precision: 16-bit values are compared and
// summed as floats; block_sum rounds each sum once, index_scatter_add after each add).
#pragma once
#include <cstdint>

#include "kernels/op_geometry.h"

namespace pn::cpu {

// y = max over each k window (step stride, no padding); idx = the in-plane offset of the
// maximum (the first one on ties), one per output element, or null when no gradient will
// need it (inference, label maps): then only y is written.
template <class T>
void max_pool_forward(const kernels::PoolGeom& g, const T* x, T* y, int64_t* idx);

// y[p, o] = x[p, idx[p, o]]: planes of in_vol elements in, out_vol out.
template <class T>
void index_gather(const T* x, const int64_t* idx, T* y, int64_t planes, int64_t in_vol, int64_t out_vol);

// x[p, :] = 0, then x[p, idx[p, o]] += y[p, o]: the adjoint of index_gather.
template <class T>
void index_scatter_add(const T* y, const int64_t* idx, T* x, int64_t planes, int64_t in_vol, int64_t out_vol);

// y[p, z, h, w] = x[p, z / k0, h / k1, w / k2] with g.out = g.in * g.k.
template <class T>
void upsample_nearest(const kernels::PoolGeom& g, const T* x, T* y);

// x[p, z, h, w] = sum of y over the k0 x k1 x k2 block it was copied to (the adjoint).
template <class T>
void block_sum(const kernels::PoolGeom& g, const T* y, T* x);

// Depth to space, PyTorch's pixel_shuffle in 2-D and 3-D. g.planes = the planes of y (N * C),
// g.in = x's grid, g.out = g.in * g.k; x holds F = k0 * k1 * k2 planes per plane of y:
//   y[p, z, h, w] = x[p * F + phase, z / k0, h / k1, w / k2],
//   phase = ((z % k0) * k1 + h % k1) * k2 + w % k2.
// A permutation: every element of y is written once, bit for bit.
template <class T>
void pixel_shuffle(const kernels::PoolGeom& g, const T* x, T* y);

// The inverse (and adjoint) of pixel_shuffle, same geometry: x[p * F + phase, zs, hs, ws] =
// y[p, zs * k0 + a0, hs * k1 + a1, ws * k2 + a2] with phase = (a0 * k1 + a1) * k2 + a2.
template <class T>
void pixel_unshuffle(const kernels::PoolGeom& g, const T* y, T* x);

}  // namespace pn::cpu
