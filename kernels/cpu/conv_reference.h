// The handwritten CPU reference convolution (2-D and 3-D through one 3-D code path),
// without bias: vol2col + one GEMM per sample and chunk of output rows. It is the checked
// definition the fast float32 path (conv_dnnl.h, chosen in conv.h) is tested against, and
// the path of float64 and of builds without oneDNN. The column buffer holds at most
// one chunk of one sample, so memory stays bounded at any volume size.
//   forward:          y[n]  = W  @ col(x[n])                 W viewed as [C_out, C_in*k^3]
//   backward_input:   dx[n] = col2vol(W^T @ dy[n])
//   backward_weight:  dW    = sum_n dy[n] @ col(x[n])^T
#pragma once
#include "kernels/op_geometry.h"

namespace pn::cpu::reference {

// x [N, C_in, in...], w [C_out, C_in, k...], y [N, C_out, out...] (all contiguous).
template <class T>
void conv_forward(const kernels::ConvGeom& g, const T* x, const T* w, T* y);

// dx [N, C_in, in...] from dy [N, C_out, out...]: overwritten, not accumulated.
template <class T>
void conv_backward_input(const kernels::ConvGeom& g, const T* dy, const T* w, T* dx);

// dw [C_out, C_in, k...] from x and dy: overwritten, not accumulated.
template <class T>
void conv_backward_weight(const kernels::ConvGeom& g, const T* x, const T* dy, T* dw);

}  // namespace pn::cpu::reference
