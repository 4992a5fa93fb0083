// Kernel backends: the kernel families autograd's ops run, one backend per device. An op
// asks for the backend of its inputs' device and hands it raw pointers on that device;
// the dtype picks float or double. The CPU backend (kernels/cpu) is built in; the CUDA
// backends (kernels/cuda: the real runtime, or the CPU emulator in emulated builds)
// register themselves from autograd/cuda, one per device present; each runs its kernels
// on its own device (under a device guard) and stream.
#pragma once
#include <cstdint>

#include "autograd/dtype.h"
#include "kernels/conv_geom.h"
#include "kernels/cpu/copy.h"
#include "kernels/layout.h"
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
  // Norms (kernels/cpu/norm.h); gamma, beta, dx, dgamma, dbeta may be null.
  virtual void norm_stats(DType t, const void* x, const math::NormGeom& g, void* mean, void* var) = 0;
  virtual void norm_forward(DType t, const void* x, const math::NormGeom& g, const void* mean, const void* var,
                            double eps, const void* gamma, const void* beta, void* y) = 0;
  virtual void norm_running_update(DType t, void* rmean, void* rvar, const void* mean, const void* var, int64_t c,
                                   double momentum, int64_t count) = 0;
  virtual void norm_backward(DType t, const void* x, const void* gy, const math::NormGeom& g, const void* mean,
                             const void* var, double eps, const void* gamma, bool batch_stats, void* dx, void* dgamma,
                             void* dbeta) = 0;
  // Pooling and upsampling (kernels/cpu/pool.h); idx is int64 on the device.
  virtual void max_pool_forward(DType t, const kernels::PoolGeom& g, const void* x, void* y, int64_t* idx) = 0;
  virtual void index_gather(DType t, const void* x, const int64_t* idx, void* y, int64_t planes, int64_t in_vol,
                            int64_t out_vol) = 0;
  virtual void index_scatter_add(DType t, const void* y, const int64_t* idx, void* x, int64_t planes, int64_t in_vol,
                                 int64_t out_vol) = 0;
  virtual void upsample_nearest(DType t, const kernels::PoolGeom& g, const void* x, void* y) = 0;
  virtual void block_sum(DType t, const kernels::PoolGeom& g, const void* y, void* x) = 0;
  // Box copies (concat, narrow, crop, pad); src and dst point at the boxes' first elements.
  virtual void copy_box(DType t, const void* src, void* dst, const kernels::BoxCopy& b) = 0;
  // Convolutions (kernels/cpu/conv.h) and matrix products (kernels/cpu/gemm.h).
  virtual void conv_forward(DType t, const kernels::ConvGeom& g, const void* x, const void* w, void* y) = 0;
  virtual void conv_backward_input(DType t, const kernels::ConvGeom& g, const void* dy, const void* w, void* dx) = 0;
  virtual void conv_backward_weight(DType t, const kernels::ConvGeom& g, const void* x, const void* dy, void* dw) = 0;
  virtual void gemm(DType t, bool ta, bool tb, int64_t m, int64_t n, int64_t k, const void* a, int64_t lda,
                    const void* b, int64_t ldb, void* c, int64_t ldc) = 0;
};

// The backend of device d; throws pn::Error naming `op` and the device when this build or
// machine has none.
Backend& backend_for(Device d, const char* op);
// Installs the backend of one device (the CUDA library calls it; null removes it).
// requires: d is not the CPU, 0 <= d.index < kMaxBackendDevices.
constexpr int kMaxBackendDevices = 64;
void register_backend(Device d, Backend* b);

}  // namespace pn
