// Optimiser steps on the GPU: one thread per parameter element in a grid-stride loop, each
// running kernels/math/optim_math.h's step with the hyper-parameters cast to T once on the
// host, exactly as the CPU reference casts them.
#include "kernels/cuda/device.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/optim.h"
#include "kernels/math/optim_math.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {

namespace {

constexpr unsigned kBlock = 256;

template <class T>
struct AdamParams {
  T lr, beta1, beta2, eps, weight_decay, bc1, bc2;
  bool decoupled;
};

template <class T>
__global__ void adam_kernel(T* p, const T* g, T* m, T* v, int64_t n, AdamParams<T> h) {
  for (int64_t i = global_index(); i < n; i += grid_stride())
    math::adam_step(p[i], g[i], m[i], v[i], h.lr, h.beta1, h.beta2, h.eps, h.weight_decay, h.bc1, h.bc2,
                    h.decoupled);
}

template <class T>
struct SgdParams {
  T lr, momentum, dampening, weight_decay;
  bool nesterov, first;
};

template <class T>
__global__ void sgd_kernel(T* p, const T* g, T* buf, int64_t n, SgdParams<T> h) {
  for (int64_t i = global_index(); i < n; i += grid_stride()) {
    T unused = T(0);
    math::sgd_momentum_step(p[i], g[i], buf ? buf[i] : unused, h.lr, h.momentum, h.dampening, h.weight_decay,
                            h.nesterov, h.first);
  }
}

}  // namespace

template <class T>
void adam_update(T* p, const T* g, T* m, T* v, int64_t n, double lr, double beta1, double beta2, double eps,
                 double weight_decay, double bias_correction1, double bias_correction2, bool decoupled,
                 cudaStream_t stream) {
  PN_PROFILE_DISPATCH("adam_update", adam_update<T>,
                      p, g, m, v, n, lr, beta1, beta2, eps, weight_decay, bias_correction1, bias_correction2, decoupled, stream);
  if (n <= 0) return;
  ErrorScope scope("adam_update", n);
  const AdamParams<T> h{static_cast<T>(lr),  static_cast<T>(beta1),           static_cast<T>(beta2),
                        static_cast<T>(eps), static_cast<T>(weight_decay),    static_cast<T>(bias_correction1),
                        static_cast<T>(bias_correction2), decoupled};
  launch(adam_kernel<T>, grid_for(n, kBlock), kBlock, 0, stream, p, g, m, v, n, h);
}

template <class T>
void sgd_update(T* p, const T* g, T* buf, int64_t n, double lr, double momentum, double dampening,
                double weight_decay, bool nesterov, bool first, cudaStream_t stream) {
  PN_PROFILE_DISPATCH("sgd_update", sgd_update<T>,
                      p, g, buf, n, lr, momentum, dampening, weight_decay, nesterov, first, stream);
  if (n <= 0) return;
  ErrorScope scope("sgd_update", n);
  const SgdParams<T> h{static_cast<T>(lr), static_cast<T>(momentum), static_cast<T>(dampening),
                       static_cast<T>(weight_decay), nesterov, first};
  launch(sgd_kernel<T>, grid_for(n, kBlock), kBlock, 0, stream, p, g, buf, n, h);
}

#define PN_INSTANTIATE(T)                                                                                   \
  template void adam_update<T>(T*, const T*, T*, T*, int64_t, double, double, double, double, double, double, \
                               double, bool, cudaStream_t);                                                 \
  template void sgd_update<T>(T*, const T*, T*, int64_t, double, double, double, double, bool, bool, cudaStream_t);
PN_INSTANTIATE(float)
PN_INSTANTIATE(double)
#undef PN_INSTANTIATE

// The profile twins of the entry points (launch.h).
PN_PROFILE_TWIN("adam_update", adam_update<float>)
PN_PROFILE_TWIN("adam_update", adam_update<double>)
PN_PROFILE_TWIN("sgd_update", sgd_update<float>)
PN_PROFILE_TWIN("sgd_update", sgd_update<double>)

}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda

PN_PROFILE_TWIN_UNIT(optim)
