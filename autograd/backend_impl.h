// BackendImpl<K>: a Backend whose kernels are the member function templates of a K (one
// struct per kernel library: kernels/cpu, kernels/cuda), with the dtype dispatch written
// once for all backends. K's functions take the kernel arguments of kernels/cpu/*.h; a K
// may carry state (the CUDA one: its device and stream), the CPU one carries none.
//
// Storage dtypes (bfloat16, float16) reach K::name<math::bfloat16> / <math::float16> only
// for the ops K lists in `static constexpr bool low_precision(std::string_view op)` (a K
// without that function has none); any other op throws throw_unsupported_dtype naming it.
#pragma once
#include <string_view>

#include "autograd/backend.h"
#include "autograd/profile.h"

namespace pn {

template <class K>
class BackendImpl : public Backend {
 public:
  explicit BackendImpl(const char* name, K kernels = K{}) : name_(name), k_(kernels) {}
  const char* name() const override { return name_; }
  void cast(DType from, DType to, const void* x, void* y, int64_t n) override {
    if (profile::enabled()) [[unlikely]] {
      const profile::KernelTimer timer("cast");
      cast_dispatch(from, to, x, y, n);
    } else {
      cast_dispatch(from, to, x, y, n);
    }
  }
  void cast_dispatch(DType from, DType to, const void* x, void* y, int64_t n) {
    if constexpr (has_low_precision("cast")) {
      PN_DISPATCH_ALL(from, cast_to<scalar_t>(to, x, y, n));
    } else {
      if (is_low_precision(from) || is_low_precision(to)) throw_unsupported_dtype("cast", is_low_precision(from) ? from : to);
      PN_DISPATCH_FLOAT(from, cast_to<scalar_t>(to, x, y, n));
    }
  }
  // One override per PN_BACKEND_OPS entry: the dtype picks scalar_t, the entry's kernel
  // arguments (with IN_T / OUT_T / TO_T as below) are handed to K::name<scalar_t>.
#define IN_T(p) cp<scalar_t>(p)
#define OUT_T(p) mp<scalar_t>(p)
#define TO_T(v) static_cast<scalar_t>(v)
#define TO_C(v) static_cast<math::compute_t<scalar_t>>(v)
#define IN_P(p) cp<math::norm_param_t<scalar_t>>(p)
#define OUT_P(p) mp<math::norm_param_t<scalar_t>>(p)
// With the op profile on (autograd/profile.h) the call is timed; off, it costs one branch.
#define PN_BACKEND_DISPATCH(name, params, args)                                       \
  void name(DType t, PN_BACKEND_UNPAREN params) override {                            \
    const auto run = [&] {                                                            \
      if (!is_low_precision(t)) {                                                     \
        PN_DISPATCH_FLOAT(t, k_.template name<scalar_t>(PN_BACKEND_UNPAREN args));    \
      } else if constexpr (has_low_precision(#name)) {                                \
        PN_DISPATCH_ALL(t, k_.template name<scalar_t>(PN_BACKEND_UNPAREN args));      \
      } else {                                                                        \
        throw_unsupported_dtype(#name, t);                                            \
      }                                                                               \
    };                                                                                \
    if (profile::enabled()) [[unlikely]] {                                            \
      const profile::KernelTimer timer(#name);                                        \
      run();                                                                          \
    } else {                                                                          \
      run();                                                                          \
    }                                                                                 \
  }
  PN_BACKEND_OPS(PN_BACKEND_DISPATCH)
#undef PN_BACKEND_DISPATCH
#undef OUT_P
#undef IN_P
#undef TO_C
#undef TO_T
#undef OUT_T
#undef IN_T

 private:
  static constexpr bool has_low_precision(std::string_view op) {
    if constexpr (requires { K::low_precision(op); }) return K::low_precision(op);
    else return false;
  }
  template <class T>
  static const T* cp(const void* p) { return static_cast<const T*>(p); }
  template <class T>
  static T* mp(void* p) { return static_cast<T*>(p); }
  template <class S>
  void cast_to(DType to, const void* x, void* y, int64_t n) {
    if constexpr (has_low_precision("cast")) {
      PN_DISPATCH_ALL(to, k_.template cast<S, scalar_t>(cp<S>(x), mp<scalar_t>(y), n));
    } else {
      PN_DISPATCH_FLOAT(to, k_.template cast<S, scalar_t>(cp<S>(x), mp<scalar_t>(y), n));
    }
  }
  const char* name_;
  K k_;
};

}  // namespace pn
