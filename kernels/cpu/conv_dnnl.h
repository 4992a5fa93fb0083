// The fast float32 CPU convolution: oneDNN's JIT kernels (Debian's libdnnl, 2.6) behind
// the same signatures as the reference (conv_reference.h), which stays the checked
// definition. Tensors stay in our plain layouts (NCDHW activations, [C_out, C_in, k...]
// weights); each call reorders into the blocked layouts oneDNN picks for the shape
// (nCdhw16c and the like), runs the primitive, and reorders the result back. The reorders
// cost a few percent at the paper's sizes and buy 5-10x over vol2col + OpenBLAS sgemm,
// which is weak at the short, wide matrices of convolutions (bench_conv shows both).
//
// Primitives are built once per geometry and pass and kept (a bounded cache); blocked
// copies and oneDNN's scratchpad live in per-role work buffers reused across calls, so a
// training step allocates nothing here after its first. Calls are serialised (one
// convolution at a time uses every OpenMP thread anyway).
//
// requires: dnnl_conv_supported(g) (else the caller takes the reference).
#pragma once
#include "kernels/op_geometry.h"

namespace pn::cpu {

// Whether this build has oneDNN (PENUMBRA_HAVE_DNNL).
bool dnnl_available();

// Whether oneDNN takes geometry g: built in, sizes positive and within oneDNN's dims.
bool dnnl_conv_supported(const kernels::ConvGeom& g);

// The three passes (contracts of conv_reference.h: dx and dw are overwritten).
void dnnl_conv_forward(const kernels::ConvGeom& g, const float* x, const float* w, float* y);
void dnnl_conv_backward_input(const kernels::ConvGeom& g, const float* dy, const float* w, float* dx);
void dnnl_conv_backward_weight(const kernels::ConvGeom& g, const float* x, const float* dy, float* dw);

// Frees the cached primitives and work buffers (they are rebuilt on the next call).
void dnnl_conv_release();

}  // namespace pn::cpu
