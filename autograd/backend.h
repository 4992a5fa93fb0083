// Kernel backends: the kernel families autograd's ops run, one backend per device. An op
// asks for the backend of its inputs' device and hands it raw pointers on that device;
// the dtype picks float or double. The CPU backend (kernels/cpu) is built in; the CUDA
// backends (kernels/cuda: the real runtime, or the CPU emulator in emulated builds)
// register themselves from autograd/cuda, one per device present; each runs its kernels
// on its own device (under a device guard) and stream.
//
// Adding a backend op (a new kernel family), in order:
//   1. CPU reference: kernels/cpu/<family>.{h,cpp}, template <class T> over float and double;
//      per-element math once in kernels/math/<family>_math.h (PN_HD) if CUDA shares it.
//   2. CUDA kernel: kernels/cuda/<family>.{h,cu}, the same arguments plus a trailing
//      cudaStream_t (checklist in kernels/cuda/README.md).
//   3. One OP(...) entry in autograd/backend_ops.h: this generates the Backend virtual below,
//      the dtype dispatch (backend_impl.h) and the CPU and CUDA forwarders; include the two
//      kernel headers in autograd/backend.cpp and autograd/cuda/cuda_backend.cpp.
//   4. The autograd op (autograd/ops/<family>.cpp) calls backend_for(device, "op").<name>.
//   5. Tests: gradcheck of the op (tests/autograd or tests/ops_*), the CUDA kernel against
//      the CPU reference under the emulator (tests/cuda_emu, label emu), the op on emulated
//      device tensors (tests/cuda_emu/test_device_tensors.cpp), and tests/gpu for real GPUs.
#pragma once
#include <cstdint>

#include "autograd/backend_ops.h"
#include "autograd/dtype.h"
#include "kernels/op_geometry.h"
#include "kernels/cpu/copy.h"
#include "kernels/math/elementwise_math.h"
#include "kernels/math/norm_math.h"

namespace pn {

struct AdamArgs {
  double lr, beta1, beta2, eps, weight_decay, bias_correction1, bias_correction2;
  bool decoupled;
};
struct SgdArgs {
  double lr, momentum, dampening, weight_decay;
  bool nesterov, first;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;
#define PN_BACKEND_VIRTUAL(name, params, args) virtual void name(DType t, PN_BACKEND_UNPAREN params) = 0;
  PN_BACKEND_OPS(PN_BACKEND_VIRTUAL)
#undef PN_BACKEND_VIRTUAL
  // Converts n elements of dtype `from` at x into dtype `to` at y (two dtypes: not in the list).
  virtual void cast(DType from, DType to, const void* x, void* y, int64_t n) = 0;
};

// The backend of device d; throws pn::Error naming `op` and the device when this build or
// machine has none.
Backend& backend_for(Device d, const char* op);
// Installs the backend of one device (the CUDA library calls it; null removes it).
// requires: d is not the CPU, 0 <= d.index < kMaxBackendDevices.
constexpr int kMaxBackendDevices = 64;
void register_backend(Device d, Backend* b);

}  // namespace pn
