// Batch and instance normalisation of channels-last tensors ([N, S..., C], NormGeom::
// channels_last) on the CPU: the same statistics, apply, fused activation and backward as
// norm.h's channels-first kernels (which call these for such a geometry), walked voxel by voxel
// with the C channels innermost, so every loop reads memory in order and vectorises over C.
// Per-group sums are taken per chunk of kChunkVoxels voxels of one sample, in double, and the
// chunks are added in order: the results do not depend on the thread count. Against the
// channels-first kernels only the order of the double sums differs.
#pragma once
#include "kernels/cpu/norm.h"

namespace pn::cpu::channels_last {

template <class T>
void norm_stats(const T* x, const math::NormGeom& g, NormParam<T>* mean, NormParam<T>* var);
template <class T>
void norm_forward(const T* x, const math::NormGeom& g, const NormParam<T>* mean, const NormParam<T>* var, double eps,
                  const NormParam<T>* gamma, const NormParam<T>* beta, T* y);
template <class T>
void norm_act_forward(const T* x, const math::NormGeom& g, const NormParam<T>* mean, const NormParam<T>* var,
                      double eps, const NormParam<T>* gamma, const NormParam<T>* beta, double slope, T* y);
// y null: norm_backward; y defined: norm_act_backward (the activation's mask from y).
template <class T>
void norm_backward(const T* x, const T* y, const T* gy, const math::NormGeom& g, const NormParam<T>* mean,
                   const NormParam<T>* var, double eps, const NormParam<T>* gamma, double slope, bool batch_stats,
                   T* dx, NormParam<T>* dgamma, NormParam<T>* dbeta);

}  // namespace pn::cpu::channels_last
