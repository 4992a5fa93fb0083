// Channels-last convolutions through the channels-first kernels: see conv_channels_last.h.
#include "kernels/cpu/conv_channels_last.h"

#include <vector>

#include "kernels/cpu/conv.h"
#include "kernels/cpu/copy.h"
#include "kernels/math/low_precision.h"

namespace pn::cpu {

using kernels::ConvGeom;

namespace {

// Channels-last [outer, volume, channels] <-> channels-first [outer, channels, volume].
template <class T>
std::vector<T> to_first(const T* v, int64_t outer, int64_t channels, int64_t volume) {
  std::vector<T> out(static_cast<size_t>(outer * channels * volume));
  transpose_last_two(v, out.data(), outer, volume, channels);
  return out;
}
template <class T>
void from_first(const std::vector<T>& v, T* out, int64_t outer, int64_t channels, int64_t volume) {
  transpose_last_two(v.data(), out, outer, channels, volume);
}

ConvGeom first(const ConvGeom& g) {
  ConvGeom f = g;
  f.channels_last = false;
  return f;
}

}  // namespace

template <class T>
void channels_last_conv_forward(const ConvGeom& g, const T* x, const T* w, T* y) {
  const ConvGeom f = first(g);
  const std::vector<T> xf = to_first(x, g.N, g.C_in, g.in_volume());
  std::vector<T> yf(static_cast<size_t>(g.N * g.C_out * g.out_volume()));
  conv_forward<T>(f, xf.data(), w, yf.data());
  from_first(yf, y, g.N, g.C_out, g.out_volume());
}

template <class T>
void channels_last_conv_backward_input(const ConvGeom& g, const T* dy, const T* w, T* dx) {
  const ConvGeom f = first(g);
  const std::vector<T> dyf = to_first(dy, g.N, g.C_out, g.out_volume());
  std::vector<T> dxf(static_cast<size_t>(g.N * g.C_in * g.in_volume()));
  conv_backward_input<T>(f, dyf.data(), w, dxf.data());
  from_first(dxf, dx, g.N, g.C_in, g.in_volume());
}

template <class T>
void channels_last_conv_backward_weight(const ConvGeom& g, const T* x, const T* dy, T* dw) {
  const ConvGeom f = first(g);
  const std::vector<T> xf = to_first(x, g.N, g.C_in, g.in_volume()), dyf = to_first(dy, g.N, g.C_out, g.out_volume());
  conv_backward_weight<T>(f, xf.data(), dyf.data(), dw);
}

#define PN_CHANNELS_LAST(T)                                                                           \
  template void channels_last_conv_forward<T>(const ConvGeom&, const T*, const T*, T*);             \
  template void channels_last_conv_backward_input<T>(const ConvGeom&, const T*, const T*, T*);      \
  template void channels_last_conv_backward_weight<T>(const ConvGeom&, const T*, const T*, T*);
PN_CHANNELS_LAST(float)
PN_CHANNELS_LAST(double)
PN_CHANNELS_LAST(math::bfloat16)
PN_CHANNELS_LAST(math::float16)
#undef PN_CHANNELS_LAST

}  // namespace pn::cpu
