// Fused convolution graphs through cuDNN's backend (graph) API, an opt-in path beside the legacy
// convolutions of dnn.h: conv + bias + activation, and batch-norm apply (per-channel scale and
// shift) + activation, each one cuDNN execution plan (a runtime-fusion engine on a GPU: the
// intermediates stay in registers, one pass over memory). The same source runs on the real cuDNN
// (CUDA builds) and on the emulated backend API (kernels/cuda/emu/cudnn_emu_backend.h) through
// kernels/cuda/cudnn_api.h. It drives the documented C backend API directly rather than the
// header-only cudnn-frontend (tools/install-cudnn-frontend.sh), which is a C++ layer over the
// same calls: that keeps the emulated surface to the descriptors the two patterns need.
//
// Contract of conv_bias_act_forward:
//   requires  T float, __nv_bfloat16 or __half; g a valid 2-D or 3-D geometry (as for
//             conv_forward, dnn.h); x, w, y device memory of the current device holding
//             contiguous tensors of g's shapes in `layout` (as conv_forward), bias [C_out] of T;
//             stream on that device.
//   ensures   y = act(conv(x, w) + bias[k]) with float accumulation and one rounding of each
//             result to T, enqueued on `stream` (y never read). act: none, relu, or leaky_relu
//             (slope for x < 0: cuDNN's RELU_FWD with RELU_LOWER_CLIP_SLOPE). Float data runs
//             on an engine without CUDNN_NUMERICAL_NOTE_TENSOR_CORE (FP32) unless
//             library_options().allow_tf32, as the legacy convolutions do; 16-bit data may use
//             tensor cores.
// Contract of scale_shift_act:
//   requires  x, y device tensors [N, C, spatial...] of T in `layout` (spatial = g.spatial, a
//             volume), scale and shift device arrays of C floats (N * C, [N, C], when
//             g.per_sample: instance norm's groups).
//   ensures   y = act(x * scale[c] + shift[c]) (scale[n, c], shift[n, c] when per_sample)
//             computed in float, one rounding to T; x may equal y.
// Both:
//   throws    CudaError naming the pattern, the geometry and cuDNN's reason when no engine of
//             the installed cuDNN runs the graph (the caller keeps the legacy path then), and for
//             any other failing cuDNN or CUDA call.
// Plans are built once per (pattern, geometry, dtype, layout, activation, device, TF32 option, the
// pointers' byte alignment up to 16, declared in the tensors) and host thread
// (one cuDNN handle per device and thread, dnn.h), from the heuristics' configurations in order
// (mode A, then FALLBACK), the first whose plan finalizes kept; its workspace comes from the
// stream-ordered pool for each call.
#pragma once
#include <cstdint>

#include "kernels/cuda/dnn.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {

struct FusedActivation {
  enum Kind { none = 0, relu = 1, leaky_relu = 2 } kind = none;
  float slope = 0.0f;  // leaky_relu only: y = slope * x for x < 0
};

template <class T>
void conv_bias_act_forward(const kernels::ConvGeom& g, const T* x, const T* w, const T* bias, T* y,
                           FusedActivation act, cudaStream_t stream, ConvLayout layout = ConvLayout::channels_first);

// The per-channel geometry of scale_shift_act: N samples of C channels over a spatial volume
// (D, H, W; D = 1 for 2-D data).
struct ChannelGeom {
  int64_t N = 0, C = 0;
  int64_t spatial[3] = {1, 1, 1};
  bool per_sample = false;  // scale and shift per (sample, channel) rather than per channel
};

template <class T>
void scale_shift_act(const ChannelGeom& g, const T* x, const float* scale, const float* shift, T* y, FusedActivation act,
                     cudaStream_t stream, ConvLayout layout = ConvLayout::channels_first);

// Fused-graph plans built so far by this host thread (tests and reports).
int64_t fused_graph_plans_built();

}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda
