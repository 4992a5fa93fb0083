// BackendImpl<K>: a Backend whose kernels are the member function templates of a K (one
// struct per kernel library: kernels/cpu, kernels/cuda), with the dtype dispatch written
// once for all backends. K's functions take the kernel arguments of kernels/cpu/*.h; a K
// may carry state (the CUDA one: its device and stream), the CPU one carries none.
#pragma once
#include "autograd/backend.h"

namespace pn {

template <class K>
class BackendImpl : public Backend {
 public:
  explicit BackendImpl(const char* name, K kernels = K{}) : name_(name), k_(kernels) {}
  const char* name() const override { return name_; }
  void unary(DType t, math::Unary op, const void* x, void* y, int64_t n, double p0, double p1) override {
    PN_DISPATCH_FLOAT(t, k_.template unary<scalar_t>(op, cp<scalar_t>(x), mp<scalar_t>(y), n,
                                                     static_cast<scalar_t>(p0), static_cast<scalar_t>(p1)));
  }
  void binary(DType t, math::Binary op, const void* a, const void* b, void* y, const kernels::BroadcastGeom& g) override {
    PN_DISPATCH_FLOAT(t, k_.template binary<scalar_t>(op, cp<scalar_t>(a), cp<scalar_t>(b), mp<scalar_t>(y), g));
  }
  void where(DType t, const void* c, const void* a, const void* b, void* y, int64_t n) override {
    PN_DISPATCH_FLOAT(t, k_.template where<scalar_t>(cp<scalar_t>(c), cp<scalar_t>(a), cp<scalar_t>(b),
                                                     mp<scalar_t>(y), n));
  }
  void fill(DType t, void* x, int64_t n, double v) override {
    PN_DISPATCH_FLOAT(t, k_.template fill<scalar_t>(mp<scalar_t>(x), n, static_cast<scalar_t>(v)));
  }
  void cast(DType from, DType to, const void* x, void* y, int64_t n) override {
    PN_DISPATCH_FLOAT(from, cast_to<scalar_t>(to, x, y, n));
  }
  void sum_reduce(DType t, const void* x, void* y, const kernels::ReduceGeom& g) override {
    PN_DISPATCH_FLOAT(t, k_.template sum_reduce<scalar_t>(cp<scalar_t>(x), mp<scalar_t>(y), g));
  }
  void fill_normal(DType t, void* x, int64_t n, uint64_t seed, uint64_t off, double mean, double std) override {
    PN_DISPATCH_FLOAT(t, k_.template fill_normal<scalar_t>(mp<scalar_t>(x), n, seed, off, mean, std));
  }
  void fill_uniform(DType t, void* x, int64_t n, uint64_t seed, uint64_t off, double lo, double hi) override {
    PN_DISPATCH_FLOAT(t, k_.template fill_uniform<scalar_t>(mp<scalar_t>(x), n, seed, off, lo, hi));
  }
  void fill_bernoulli(DType t, void* x, int64_t n, uint64_t seed, uint64_t off, double keep, double scale) override {
    PN_DISPATCH_FLOAT(t, k_.template fill_bernoulli<scalar_t>(mp<scalar_t>(x), n, seed, off, keep, scale));
  }
  void softmax_forward(DType t, const void* x, void* y, int64_t outer, int64_t axis, int64_t inner, bool log) override {
    PN_DISPATCH_FLOAT(t, k_.template softmax_forward<scalar_t>(cp<scalar_t>(x), mp<scalar_t>(y), outer, axis, inner, log));
  }
  void adam_update(DType t, void* p, const void* g, void* m, void* v, int64_t n, const AdamArgs& a) override {
    PN_DISPATCH_FLOAT(t, k_.template adam_update<scalar_t>(mp<scalar_t>(p), cp<scalar_t>(g), mp<scalar_t>(m),
                                                           mp<scalar_t>(v), n, a.lr, a.beta1, a.beta2, a.eps,
                                                           a.weight_decay, a.bias_correction1, a.bias_correction2,
                                                           a.decoupled));
  }
  void sgd_update(DType t, void* p, const void* g, void* buf, int64_t n, const SgdArgs& a) override {
    PN_DISPATCH_FLOAT(t, k_.template sgd_update<scalar_t>(mp<scalar_t>(p), cp<scalar_t>(g), mp<scalar_t>(buf), n, a.lr,
                                                          a.momentum, a.dampening, a.weight_decay, a.nesterov, a.first));
  }
  void norm_stats(DType t, const void* x, const math::NormGeom& g, void* mean, void* var) override {
    PN_DISPATCH_FLOAT(t, k_.template norm_stats<scalar_t>(cp<scalar_t>(x), g, mp<scalar_t>(mean), mp<scalar_t>(var)));
  }
  void norm_forward(DType t, const void* x, const math::NormGeom& g, const void* mean, const void* var, double eps,
                    const void* gamma, const void* beta, void* y) override {
    PN_DISPATCH_FLOAT(t, k_.template norm_forward<scalar_t>(cp<scalar_t>(x), g, cp<scalar_t>(mean), cp<scalar_t>(var),
                                                            eps, cp<scalar_t>(gamma), cp<scalar_t>(beta),
                                                            mp<scalar_t>(y)));
  }
  void norm_running_update(DType t, void* rmean, void* rvar, const void* mean, const void* var, int64_t c,
                           double momentum, int64_t count) override {
    PN_DISPATCH_FLOAT(t, k_.template norm_running_update<scalar_t>(mp<scalar_t>(rmean), mp<scalar_t>(rvar),
                                                                   cp<scalar_t>(mean), cp<scalar_t>(var), c, momentum,
                                                                   count));
  }
  void norm_backward(DType t, const void* x, const void* gy, const math::NormGeom& g, const void* mean, const void* var,
                     double eps, const void* gamma, bool batch_stats, void* dx, void* dgamma, void* dbeta) override {
    PN_DISPATCH_FLOAT(t, k_.template norm_backward<scalar_t>(cp<scalar_t>(x), cp<scalar_t>(gy), g, cp<scalar_t>(mean),
                                                             cp<scalar_t>(var), eps, cp<scalar_t>(gamma), batch_stats,
                                                             mp<scalar_t>(dx), mp<scalar_t>(dgamma),
                                                             mp<scalar_t>(dbeta)));
  }
  void max_pool_forward(DType t, const kernels::PoolGeom& g, const void* x, void* y, int64_t* idx) override {
    PN_DISPATCH_FLOAT(t, k_.template max_pool_forward<scalar_t>(g, cp<scalar_t>(x), mp<scalar_t>(y), idx));
  }
  void index_gather(DType t, const void* x, const int64_t* idx, void* y, int64_t planes, int64_t in_vol,
                    int64_t out_vol) override {
    PN_DISPATCH_FLOAT(t, k_.template index_gather<scalar_t>(cp<scalar_t>(x), idx, mp<scalar_t>(y), planes, in_vol,
                                                            out_vol));
  }
  void index_scatter_add(DType t, const void* y, const int64_t* idx, void* x, int64_t planes, int64_t in_vol,
                         int64_t out_vol) override {
    PN_DISPATCH_FLOAT(t, k_.template index_scatter_add<scalar_t>(cp<scalar_t>(y), idx, mp<scalar_t>(x), planes, in_vol,
                                                                 out_vol));
  }
  void upsample_nearest(DType t, const kernels::PoolGeom& g, const void* x, void* y) override {
    PN_DISPATCH_FLOAT(t, k_.template upsample_nearest<scalar_t>(g, cp<scalar_t>(x), mp<scalar_t>(y)));
  }
  void block_sum(DType t, const kernels::PoolGeom& g, const void* y, void* x) override {
    PN_DISPATCH_FLOAT(t, k_.template block_sum<scalar_t>(g, cp<scalar_t>(y), mp<scalar_t>(x)));
  }
  void copy_box(DType t, const void* src, void* dst, const kernels::BoxCopy& b) override {
    PN_DISPATCH_FLOAT(t, k_.template copy_box<scalar_t>(cp<scalar_t>(src), mp<scalar_t>(dst), b));
  }
  void conv_forward(DType t, const kernels::ConvGeom& g, const void* x, const void* w, void* y) override {
    PN_DISPATCH_FLOAT(t, k_.template conv_forward<scalar_t>(g, cp<scalar_t>(x), cp<scalar_t>(w), mp<scalar_t>(y)));
  }
  void conv_backward_input(DType t, const kernels::ConvGeom& g, const void* dy, const void* w, void* dx) override {
    PN_DISPATCH_FLOAT(t, k_.template conv_backward_input<scalar_t>(g, cp<scalar_t>(dy), cp<scalar_t>(w),
                                                                   mp<scalar_t>(dx)));
  }
  void conv_backward_weight(DType t, const kernels::ConvGeom& g, const void* x, const void* dy, void* dw) override {
    PN_DISPATCH_FLOAT(t, k_.template conv_backward_weight<scalar_t>(g, cp<scalar_t>(x), cp<scalar_t>(dy),
                                                                    mp<scalar_t>(dw)));
  }
  void gemm(DType t, bool ta, bool tb, int64_t m, int64_t n, int64_t k, const void* a, int64_t lda, const void* b,
            int64_t ldb, void* c, int64_t ldc) override {
    PN_DISPATCH_FLOAT(t, k_.template gemm<scalar_t>(ta, tb, m, n, k, scalar_t(1), cp<scalar_t>(a), lda, cp<scalar_t>(b),
                                                    ldb, scalar_t(0), mp<scalar_t>(c), ldc));
  }

 private:
  template <class T>
  static const T* cp(const void* p) { return static_cast<const T*>(p); }
  template <class T>
  static T* mp(void* p) { return static_cast<T*>(p); }
  template <class S>
  void cast_to(DType to, const void* x, void* y, int64_t n) {
    if (to == DType::Float32) k_.template cast<S, float>(cp<S>(x), mp<float>(y), n);
    else k_.template cast<S, double>(cp<S>(x), mp<double>(y), n);
  }
  const char* name_;
  K k_;
};

}  // namespace pn
