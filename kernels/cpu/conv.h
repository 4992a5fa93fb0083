// CPU convolutions as the CPU backend calls them (2-D and 3-D, no bias): float32 runs
// through oneDNN (conv_dnnl.h) where the build has it and the geometry suits it (except
// few-channel stride-1 convs, which direct kernels run faster: backward-weight
// conv_few_channel.h, forward and backward-input conv_few_channel_fwd.h; and channels-first
// backward-weight on CPUs without AVX-512: reference_bwdw_preferred below), and
// everything else (float64, builds without oneDNN, PENUMBRA_CPU_CONV=reference) through the
// handwritten reference (conv_reference.h), which is the definition the fast path is
// tested against (tests/ops_conv/test_conv_fast_path.cpp). The 16-bit storage types
// (mixed precision) accumulate in float32 and round each result once: bfloat16 through
// oneDNN's bf16 primitives where the CPU has AVX512-BF16/AMX, float16 (and bfloat16
// elsewhere) by widening the operands to float32 and running the float32 path.
//   forward:          y  = conv(x, w)                 x [N, C_in, in...], w [C_out, C_in, k...]
//   backward_input:   dx = conv^T(dy, w)              overwritten, not accumulated
//   backward_weight:  dw = sum_n dy[n] (x) x[n]        overwritten, not accumulated
#pragma once
#include "kernels/op_geometry.h"
#include "kernels/math/low_precision.h"

namespace pn::cpu {

enum class ConvImpl { Reference, Dnnl };

// The implementation float32 convolutions take: Dnnl when built in, unless the environment
// variable PENUMBRA_CPU_CONV=reference (read at first use) or set_conv_impl chose otherwise.
ConvImpl conv_impl();
// The implementation a PENUMBRA_CPU_CONV value names: null or "" the default (Dnnl when
// built in), "reference", or "dnnl" (where built in); anything else throws
// std::invalid_argument naming the variable and the accepted values.
ConvImpl parse_conv_impl(const char* value);
// requires: impl != Dnnl or dnnl_available(); throws std::invalid_argument otherwise.
void set_conv_impl(ConvImpl impl);
const char* conv_impl_name(ConvImpl impl);

// Whether a float32 backward-weight that oneDNN would run goes to the reference instead: on a
// CPU without AVX-512, channels-first. There oneDNN 2.6 runs its AVX2 kernels, whose backward-weight
// measured 1.2-1.7x slower than the reference's vol2col + sgemm at 8 of the paper encoder's 10
// layers (38 against 60 GFLOP/s at the first level, 32 -> 32 at 32x128x128) and at all but the
// smallest layer of the small U-Net (README, "On an AVX2 machine"; kernels/cpu/README.md). With
// AVX-512 oneDNN (or the few-channel kernel) keeps it; channels-last keeps oneDNN's nxc kernel.
bool reference_bwdw_preferred(const kernels::ConvGeom& g);

template <class T>
void conv_forward(const kernels::ConvGeom& g, const T* x, const T* w, T* y);
template <class T>
void conv_backward_input(const kernels::ConvGeom& g, const T* dy, const T* w, T* dx);
template <class T>
void conv_backward_weight(const kernels::ConvGeom& g, const T* x, const T* dy, T* dw);

}  // namespace pn::cpu
