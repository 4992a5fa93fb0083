// Chooses the CPU convolution implementation per call: see conv.h.
#include "kernels/cpu/conv.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include "kernels/cpu/conv_dnnl.h"
#include "kernels/cpu/conv_reference.h"

namespace pn::cpu {

namespace {

using kernels::ConvGeom;

std::atomic<int>& chosen() {
  static std::atomic<int> c{static_cast<int>(parse_conv_impl(std::getenv("PENUMBRA_CPU_CONV")))};
  return c;
}

bool use_dnnl(const ConvGeom& g) { return conv_impl() == ConvImpl::Dnnl && dnnl_conv_supported(g); }

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
  if (use_dnnl(g)) dnnl_conv_forward(g, x, w, y);
  else reference::conv_forward(g, x, w, y);
}
template <>
void conv_forward<double>(const ConvGeom& g, const double* x, const double* w, double* y) {
  reference::conv_forward(g, x, w, y);
}
template <>
void conv_backward_input<float>(const ConvGeom& g, const float* dy, const float* w, float* dx) {
  if (use_dnnl(g)) dnnl_conv_backward_input(g, dy, w, dx);
  else reference::conv_backward_input(g, dy, w, dx);
}
template <>
void conv_backward_input<double>(const ConvGeom& g, const double* dy, const double* w, double* dx) {
  reference::conv_backward_input(g, dy, w, dx);
}
template <>
void conv_backward_weight<float>(const ConvGeom& g, const float* x, const float* dy, float* dw) {
  if (use_dnnl(g)) dnnl_conv_backward_weight(g, x, dy, dw);
  else reference::conv_backward_weight(g, x, dy, dw);
}
template <>
void conv_backward_weight<double>(const ConvGeom& g, const double* x, const double* dy, double* dw) {
  reference::conv_backward_weight(g, x, dy, dw);
}

}  // namespace pn::cpu
