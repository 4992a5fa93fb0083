#include "autograd/backend.h"

#include "autograd/backend_impl.h"
#include "autograd/error.h"
#include "autograd/profile.h"
#include "kernels/cpu/conv.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/norm.h"
#include "kernels/cpu/optim.h"
#include "kernels/cpu/pool.h"
#include "kernels/cpu/random.h"
#include "kernels/cpu/reduce.h"
#include "kernels/cpu/softmax.h"

namespace pn {

namespace {

// kernels/cpu behind the BackendImpl interface.
struct CpuKernels {
#define PN_CPU_FORWARD(name, params, args) \
  template <class T, class... A>           \
  static void name(A... a) {               \
    cpu::name<T>(a...);                    \
  }
  PN_BACKEND_OPS(PN_CPU_FORWARD)
#undef PN_CPU_FORWARD
  template <class S, class D, class... A> static void cast(A... a) { cpu::cast<S, D>(a...); }
  // The ops with bfloat16 / float16 kernels (backend_impl.h): the list both backends share.
  static constexpr bool low_precision(std::string_view op) { return in_low_precision_ops(op); }
};

Backend* g_cuda_backends[kMaxBackendDevices] = {};  // indexed by device index

Backend& cpu_backend() {
  static BackendImpl<CpuKernels> b("cpu");
  return b;
}

}  // namespace

Backend& backend_for(Device d, const char* op) {
  if (profile::enabled()) [[unlikely]] profile::note_op(op);
  if (d.is_cpu()) return cpu_backend();
  Backend* b = d.index >= 0 && d.index < kMaxBackendDevices ? g_cuda_backends[d.index] : nullptr;
  PN_CHECK(b != nullptr, "{}: no kernels for device {} in this build (or no such device)", op, d.str());
  return *b;
}

void register_backend(Device d, Backend* b) {
  PN_CHECK(d.is_cuda() && d.index >= 0 && d.index < kMaxBackendDevices, "register_backend: bad device {}", d.str());
  g_cuda_backends[d.index] = b;
}

}  // namespace pn
