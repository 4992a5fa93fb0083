// Chooses the CPU convolution implementation per call: see conv.h.
#include "kernels/cpu/conv.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "kernels/cpu/conv_channels_last.h"
#include "kernels/cpu/conv_dnnl.h"
#include "kernels/cpu/conv_few_channel.h"
#include "kernels/cpu/conv_few_channel_fwd.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/conv_reference.h"

namespace pn::cpu {

namespace {

using kernels::ConvGeom;

std::atomic<int>& chosen() {
  static std::atomic<int> c{static_cast<int>(parse_conv_impl(std::getenv("PENUMBRA_CPU_CONV")))};
  return c;
}

bool use_dnnl(const ConvGeom& g) { return conv_impl() == ConvImpl::Dnnl && dnnl_conv_supported(g); }
// The direct few-channel kernels read channels-first operands.
bool few_channel_candidate(const ConvGeom& g) { return use_dnnl(g) && !g.channels_last; }
// Channels-last without oneDNN: through the channels-first kernels (conv_channels_last.h).
bool through_channels_first(const ConvGeom& g) { return g.channels_last && !use_dnnl(g); }

}  // namespace

ConvImpl parse_conv_impl(const char* v) {
  if (!v || !*v) return dnnl_available() ? ConvImpl::Dnnl : ConvImpl::Reference;
  if (!std::strcmp(v, "reference")) return ConvImpl::Reference;
  if (!std::strcmp(v, "dnnl") && dnnl_available()) return ConvImpl::Dnnl;
  throw std::invalid_argument(std::string("PENUMBRA_CPU_CONV=") + v + ": expected 'reference'" +
                              (dnnl_available() ? " or 'dnnl'" : " ('dnnl' needs a build with oneDNN: tools/install-deps.sh)"));
}

ConvImpl conv_impl() { return static_cast<ConvImpl>(chosen().load()); }

void set_conv_impl(ConvImpl impl) {
  if (impl == ConvImpl::Dnnl && !dnnl_available())
    throw std::invalid_argument("set_conv_impl: this build has no oneDNN (install libdnnl-dev: tools/install-deps.sh)");
  chosen().store(static_cast<int>(impl));
}

const char* conv_impl_name(ConvImpl impl) { return impl == ConvImpl::Dnnl ? "oneDNN" : "reference (vol2col + sgemm)"; }

template <>
void conv_forward<float>(const ConvGeom& g, const float* x, const float* w, float* y) {
  if (through_channels_first(g)) channels_last_conv_forward(g, x, w, y);
  else if (few_channel_candidate(g) && few_channel_fwd_preferred(g)) few_channel_conv_forward(g, x, w, y);
  else if (use_dnnl(g)) dnnl_conv_forward(g, x, w, y);
  else reference::conv_forward(g, x, w, y);
}
template <>
void conv_forward<double>(const ConvGeom& g, const double* x, const double* w, double* y) {
  if (g.channels_last) channels_last_conv_forward(g, x, w, y);
  else reference::conv_forward(g, x, w, y);
}
template <>
void conv_backward_input<float>(const ConvGeom& g, const float* dy, const float* w, float* dx) {
  if (through_channels_first(g)) channels_last_conv_backward_input(g, dy, w, dx);
  else if (few_channel_candidate(g) && few_channel_bwdi_preferred(g)) few_channel_conv_backward_input(g, dy, w, dx);
  else if (use_dnnl(g)) dnnl_conv_backward_input(g, dy, w, dx);
  else reference::conv_backward_input(g, dy, w, dx);
}
template <>
void conv_backward_input<double>(const ConvGeom& g, const double* dy, const double* w, double* dx) {
  if (g.channels_last) channels_last_conv_backward_input(g, dy, w, dx);
  else reference::conv_backward_input(g, dy, w, dx);
}
bool reference_bwdw_preferred(const ConvGeom& g) {
  static const bool avx512 = __builtin_cpu_supports("avx512f");
  return !g.channels_last && !avx512;
}

template <>
void conv_backward_weight<float>(const ConvGeom& g, const float* x, const float* dy, float* dw) {
  if (through_channels_first(g)) channels_last_conv_backward_weight(g, x, dy, dw);
  else if (few_channel_candidate(g) && few_channel_bwdw_preferred(g)) few_channel_conv_backward_weight(g, x, dy, dw);
  else if (use_dnnl(g) && !reference_bwdw_preferred(g)) dnnl_conv_backward_weight(g, x, dy, dw);
  else reference::conv_backward_weight(g, x, dy, dw);
}
template <>
void conv_backward_weight<double>(const ConvGeom& g, const double* x, const double* dy, double* dw) {
  if (g.channels_last) channels_last_conv_backward_weight(g, x, dy, dw);
  else reference::conv_backward_weight(g, x, dy, dw);
}

namespace {

int64_t act_numel(const ConvGeom& g, int64_t c, const int64_t* sp) { return g.N * c * sp[0] * sp[1] * sp[2]; }
int64_t weight_numel(const ConvGeom& g) { return g.C_out * g.C_in * g.k[0] * g.k[1] * g.k[2]; }

// A pass on 16-bit operands through the float32 kernels: widen both operands (exact), run
// the float pass, round the result once. Sizes: operand a, operand b, result.
template <class T, class FloatPass>
void through_float(const T* a, int64_t na, const T* b, int64_t nb, T* out, int64_t nout, FloatPass pass) {
  std::vector<float> af(static_cast<size_t>(na)), bf(static_cast<size_t>(nb)), of(static_cast<size_t>(nout));
  cast<T, float>(a, af.data(), na);
  cast<T, float>(b, bf.data(), nb);
  pass(af.data(), bf.data(), of.data());
  cast<float, T>(of.data(), out, nout);
}

// bfloat16 runs natively in oneDNN where the CPU has bf16 instructions; float16 (and
// bfloat16 elsewhere) through the float32 kernels.
template <class T>
bool native_16(const ConvGeom& g) {
  return std::is_same_v<T, math::bfloat16> && use_dnnl(g) && dnnl_bf16_native();
}

template <class T>
void forward_16(const ConvGeom& g, const T* x, const T* w, T* y) {
  if constexpr (std::is_same_v<T, math::bfloat16>)
    if (native_16<T>(g)) return dnnl_conv_forward(g, x, w, y);
  through_float(x, act_numel(g, g.C_in, g.in), w, weight_numel(g), y, act_numel(g, g.C_out, g.out),
                [&](const float* a, const float* b, float* o) { conv_forward<float>(g, a, b, o); });
}
template <class T>
void backward_input_16(const ConvGeom& g, const T* dy, const T* w, T* dx) {
  if constexpr (std::is_same_v<T, math::bfloat16>)
    if (native_16<T>(g)) return dnnl_conv_backward_input(g, dy, w, dx);
  through_float(dy, act_numel(g, g.C_out, g.out), w, weight_numel(g), dx, act_numel(g, g.C_in, g.in),
                [&](const float* a, const float* b, float* o) { conv_backward_input<float>(g, a, b, o); });
}
template <class T>
void backward_weight_16(const ConvGeom& g, const T* x, const T* dy, T* dw) {
  if constexpr (std::is_same_v<T, math::bfloat16>)
    if (native_16<T>(g)) return dnnl_conv_backward_weight(g, x, dy, dw);
  through_float(x, act_numel(g, g.C_in, g.in), dy, act_numel(g, g.C_out, g.out), dw, weight_numel(g),
                [&](const float* a, const float* b, float* o) { conv_backward_weight<float>(g, a, b, o); });
}

}  // namespace

// 16-bit storage types (conv.h): float32 accumulation, one rounding of each result.
#define PN_CONV_16(T)                                                                             \
  template <>                                                                                     \
  void conv_forward<T>(const ConvGeom& g, const T* x, const T* w, T* y) {                         \
    forward_16(g, x, w, y);                                                                       \
  }                                                                                               \
  template <>                                                                                     \
  void conv_backward_input<T>(const ConvGeom& g, const T* dy, const T* w, T* dx) {                \
    backward_input_16(g, dy, w, dx);                                                              \
  }                                                                                               \
  template <>                                                                                     \
  void conv_backward_weight<T>(const ConvGeom& g, const T* x, const T* dy, T* dw) {               \
    backward_weight_16(g, x, dy, dw);                                                             \
  }
PN_CONV_16(math::bfloat16)
PN_CONV_16(math::float16)
#undef PN_CONV_16

}  // namespace pn::cpu
