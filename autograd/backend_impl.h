// BackendImpl<K>: a Backend whose kernels are the static function templates of K (one
// struct per kernel library: kernels/cpu, kernels/cuda), with the dtype dispatch written
// once for all backends. K's functions take the kernel arguments of kernels/cpu/*.h.
#pragma once
#include "autograd/backend.h"

namespace pn {

template <class K>
class BackendImpl : public Backend {
 public:
  explicit BackendImpl(const char* name) : name_(name) {}
  const char* name() const override { return name_; }
  void unary(DType t, math::Unary op, const void* x, void* y, int64_t n, double p0, double p1) override {
    PN_DISPATCH_FLOAT(t, K::template unary<scalar_t>(op, cp<scalar_t>(x), mp<scalar_t>(y), n,
                                                     static_cast<scalar_t>(p0), static_cast<scalar_t>(p1)));
  }
  void binary(DType t, math::Binary op, const void* a, const void* b, void* y, const kernels::BroadcastGeom& g) override {
    PN_DISPATCH_FLOAT(t, K::template binary<scalar_t>(op, cp<scalar_t>(a), cp<scalar_t>(b), mp<scalar_t>(y), g));
  }
  void where(DType t, const void* c, const void* a, const void* b, void* y, int64_t n) override {
    PN_DISPATCH_FLOAT(t, K::template where<scalar_t>(cp<scalar_t>(c), cp<scalar_t>(a), cp<scalar_t>(b),
                                                     mp<scalar_t>(y), n));
  }
  void fill(DType t, void* x, int64_t n, double v) override {
    PN_DISPATCH_FLOAT(t, K::template fill<scalar_t>(mp<scalar_t>(x), n, static_cast<scalar_t>(v)));
  }
  void cast(DType from, DType to, const void* x, void* y, int64_t n) override {
    PN_DISPATCH_FLOAT(from, cast_to<scalar_t>(to, x, y, n));
  }
  void sum_reduce(DType t, const void* x, void* y, const kernels::ReduceGeom& g) override {
    PN_DISPATCH_FLOAT(t, K::template sum_reduce<scalar_t>(cp<scalar_t>(x), mp<scalar_t>(y), g));
  }
  void fill_normal(DType t, void* x, int64_t n, uint64_t seed, uint64_t off, double mean, double std) override {
    PN_DISPATCH_FLOAT(t, K::template fill_normal<scalar_t>(mp<scalar_t>(x), n, seed, off, mean, std));
  }
  void fill_uniform(DType t, void* x, int64_t n, uint64_t seed, uint64_t off, double lo, double hi) override {
    PN_DISPATCH_FLOAT(t, K::template fill_uniform<scalar_t>(mp<scalar_t>(x), n, seed, off, lo, hi));
  }
  void fill_bernoulli(DType t, void* x, int64_t n, uint64_t seed, uint64_t off, double keep, double scale) override {
    PN_DISPATCH_FLOAT(t, K::template fill_bernoulli<scalar_t>(mp<scalar_t>(x), n, seed, off, keep, scale));
  }
  void softmax_forward(DType t, const void* x, void* y, int64_t outer, int64_t axis, int64_t inner, bool log) override {
    PN_DISPATCH_FLOAT(t, K::template softmax_forward<scalar_t>(cp<scalar_t>(x), mp<scalar_t>(y), outer, axis, inner, log));
  }
  void adam_update(DType t, void* p, const void* g, void* m, void* v, int64_t n, const AdamArgs& a) override {
    PN_DISPATCH_FLOAT(t, K::template adam_update<scalar_t>(mp<scalar_t>(p), cp<scalar_t>(g), mp<scalar_t>(m),
                                                           mp<scalar_t>(v), n, a.lr, a.beta1, a.beta2, a.eps,
                                                           a.weight_decay, a.bias_correction1, a.bias_correction2,
                                                           a.decoupled));
  }
  void sgd_update(DType t, void* p, const void* g, void* buf, int64_t n, const SgdArgs& a) override {
    PN_DISPATCH_FLOAT(t, K::template sgd_update<scalar_t>(mp<scalar_t>(p), cp<scalar_t>(g), mp<scalar_t>(buf), n, a.lr,
                                                          a.momentum, a.dampening, a.weight_decay, a.nesterov, a.first));
  }

 private:
  template <class T>
  static const T* cp(const void* p) { return static_cast<const T*>(p); }
  template <class T>
  static T* mp(void* p) { return static_cast<T*>(p); }
  template <class S>
  static void cast_to(DType to, const void* x, void* y, int64_t n) {
    if (to == DType::Float32) K::template cast<S, float>(cp<S>(x), mp<float>(y), n);
    else K::template cast<S, double>(cp<S>(x), mp<double>(y), n);
  }
  const char* name_;
};

}  // namespace pn
