// Channels-last convolutions (ConvGeom::channels_last: activations N[D]HWC, the weight
// [C_out, C_in, k...] as always) through the channels-first kernels: the activation operand
// is transposed into an NC[D]HW work array, the channels-first pass runs, and an activation
// result is transposed back. This is how float64, float16, builds without oneDNN and
// PENUMBRA_CPU_CONV=reference run channels-last; float32 and bfloat16 with oneDNN run in the
// layout itself (conv_dnnl.h), with no transposes. The definition the fast path is tested
// against: tests/ops_conv/test_channels_last.cpp.
//
// Contract (each pass as in conv.h):
//   requires  g.channels_last; the pointers hold contiguous arrays of g's shapes in that layout.
//   ensures   the result overwrites y / dx / dw in the channels-last layout, equal to the
//             channels-first pass on the transposed operands (bit for bit: a transpose is exact).
#pragma once
#include "kernels/op_geometry.h"

namespace pn::cpu {

template <class T>
void channels_last_conv_forward(const kernels::ConvGeom& g, const T* x, const T* w, T* y);
template <class T>
void channels_last_conv_backward_input(const kernels::ConvGeom& g, const T* dy, const T* w, T* dx);
template <class T>
void channels_last_conv_backward_weight(const kernels::ConvGeom& g, const T* x, const T* dy, T* dw);

}  // namespace pn::cpu
