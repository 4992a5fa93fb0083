// Kernel backends: the kernel families autograd's ops run, once per device type. An op
// asks for the backend of its inputs' device and hands it raw pointers on that device;
// the dtype picks float or double. The CPU backend (kernels/cpu) is built in; the CUDA
// backend (kernels/cuda: the real runtime, or the CPU emulator in emulated builds)
// registers itself from autograd/cuda when a device is present. Families without a CUDA
// backend entry yet (convolutions, pooling, norms, copies, matmul) still check for the CPU.
#pragma once
#include <cstdint>

#include "autograd/dtype.h"
#include "kernels/layout.h"
#include "kernels/math/elementwise_math.h"

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
  virtual void unary(DType t, math::Unary op, const void* x, void* y, int64_t n, double p0, double p1) = 0;
  virtual void binary(DType t, math::Binary op, const void* a, const void* b, void* y,
                      const kernels::BroadcastGeom& g) = 0;
  virtual void where(DType t, const void* cond, const void* a, const void* b, void* y, int64_t n) = 0;
  virtual void fill(DType t, void* x, int64_t n, double value) = 0;
  virtual void cast(DType from, DType to, const void* x, void* y, int64_t n) = 0;
  virtual void sum_reduce(DType t, const void* x, void* y, const kernels::ReduceGeom& g) = 0;
  virtual void fill_normal(DType t, void* x, int64_t n, uint64_t seed, uint64_t offset, double mean, double std) = 0;
  virtual void fill_uniform(DType t, void* x, int64_t n, uint64_t seed, uint64_t offset, double lo, double hi) = 0;
  virtual void fill_bernoulli(DType t, void* x, int64_t n, uint64_t seed, uint64_t offset, double keep,
                              double scale) = 0;
  virtual void softmax_forward(DType t, const void* x, void* y, int64_t outer, int64_t axis, int64_t inner,
                               bool log) = 0;
  virtual void adam_update(DType t, void* p, const void* g, void* m, void* v, int64_t n, const AdamArgs& a) = 0;
  virtual void sgd_update(DType t, void* p, const void* g, void* buf, int64_t n, const SgdArgs& a) = 0;
};

// The backend of device d; throws pn::Error naming `op` and the device when this build or
// machine has none.
Backend& backend_for(Device d, const char* op);
// Installs the backend for a device type (the CUDA library calls it; null removes it).
void register_backend(DeviceType type, Backend* b);

}  // namespace pn
