// The one list of backend ops: the Backend interface (backend.h), its dtype dispatch
// (BackendImpl, backend_impl.h) and the kernel forwarders of the CPU (backend.cpp) and CUDA
// (autograd/cuda/cuda_backend.cpp) backends are all generated from PN_BACKEND_OPS below.
//
// Each entry is OP(name, (parameters), (kernel arguments)):
//   * parameters: the Backend virtual's parameters after the leading `DType t`, written as
//     C++ parameters; tensor data is `const void*` (read) or `void*` (written).
//   * kernel arguments: how BackendImpl calls `K::name<scalar_t>(...)` (kernels/cpu/<family>.h
//     and kernels/cuda/<family>.h take the same arguments) once `t` has picked scalar_t:
//       IN_T(p)  const void* p  -> const scalar_t*
//       OUT_T(p) void* p         -> scalar_t*
//       TO_T(v)  double v        -> scalar_t (a value the kernel takes as T)
//       TO_C(v)  double v        -> math::compute_t<scalar_t> (a parameter of per-element math:
//                                   float for 16-bit tensors, so a slope of 0.2 is not rounded)
//       IN_P(p) / OUT_P(p)       -> const / mutable math::norm_param_t<scalar_t>*: a norm's
//                                   statistics and affine parameters, float for 16-bit tensors
//     Anything else is passed as written (sizes, geometry structs, doubles the kernel takes
//     as double, int64 index pointers, fields of an argument struct, constants).
// `cast` is not in the list: it dispatches on two dtypes (from, to) and is written by hand in
// backend.h, backend_impl.h and both forwarders.
#pragma once
#include <string_view>

namespace pn {

// The ops with bfloat16 / float16 kernels on the CPU and CUDA backends alike (a backend's
// `low_precision(op)`, backend_impl.h): what autocast needs (autograd/autocast.h), plus
// fills, box copies and transposes, the elementwise maps, pooling, upsampling, pixel shuffles, softmax and sums (each 16-bit
// element widened, the sum accumulated in double and rounded once: kernels/cpu/reduce.h).
inline constexpr std::string_view kLowPrecisionOps[] = {
    "cast",           "fill",           "unary",          "binary",         "where",          "sum_reduce",
    "copy_box",       "transpose_last_two", "max_pool_forward", "index_gather", "index_scatter_add", "upsample_nearest",
    "block_sum",      "pixel_shuffle",  "pixel_unshuffle", "conv_forward", "conv_backward_input",
    "conv_backward_weight", "gemm",
    "norm_stats",     "norm_forward",   "norm_backward",  "norm_act_forward", "norm_act_backward",
    "softmax_forward"};

constexpr bool in_low_precision_ops(std::string_view op) {
  for (std::string_view o : kLowPrecisionOps)
    if (o == op) return true;
  return false;
}

}  // namespace pn

#define PN_BACKEND_OPS(OP)                                                                                     \
  /* Elementwise (kernels/cpu/elementwise.h). */                                                                \
  OP(unary, (math::Unary op, const void* x, void* y, int64_t n, double p0, double p1),                          \
     (op, IN_T(x), OUT_T(y), n, TO_C(p0), TO_C(p1)))                                                            \
  OP(binary, (math::Binary op, const void* a, const void* b, void* y, const kernels::BroadcastGeom& g),        \
     (op, IN_T(a), IN_T(b), OUT_T(y), g))                                                                       \
  OP(where, (const void* cond, const void* a, const void* b, void* y, int64_t n),                              \
     (IN_T(cond), IN_T(a), IN_T(b), OUT_T(y), n))                                                               \
  OP(fill, (void* x, int64_t n, double value), (OUT_T(x), n, TO_T(value)))                                      \
  /* Reductions (kernels/cpu/reduce.h). */                                                                      \
  OP(sum_reduce, (const void* x, void* y, const kernels::ReduceGeom& g), (IN_T(x), OUT_T(y), g))               \
  /* Counter-based random fills (kernels/cpu/random.h). */                                                      \
  OP(fill_normal, (void* x, int64_t n, uint64_t seed, uint64_t offset, double mean, double std),               \
     (OUT_T(x), n, seed, offset, mean, std))                                                                    \
  OP(fill_uniform, (void* x, int64_t n, uint64_t seed, uint64_t offset, double lo, double hi),                 \
     (OUT_T(x), n, seed, offset, lo, hi))                                                                       \
  OP(fill_bernoulli, (void* x, int64_t n, uint64_t seed, uint64_t offset, double keep, double scale),          \
     (OUT_T(x), n, seed, offset, keep, scale))                                                                  \
  /* Softmax (kernels/cpu/softmax.h). */                                                                        \
  OP(softmax_forward, (const void* x, void* y, int64_t outer, int64_t axis, int64_t inner, bool log),          \
     (IN_T(x), OUT_T(y), outer, axis, inner, log))                                                              \
  /* Optimiser steps (kernels/cpu/optim.h). */                                                                  \
  OP(adam_update, (void* p, const void* g, void* m, void* v, int64_t n, const AdamArgs& a),                    \
     (OUT_T(p), IN_T(g), OUT_T(m), OUT_T(v), n, a.lr, a.beta1, a.beta2, a.eps, a.weight_decay,                  \
      a.bias_correction1, a.bias_correction2, a.decoupled))                                                     \
  OP(adam_update_multi, (const kernels::AdamChunk* chunks, int64_t count, const AdamArgs& a),                  \
     (chunks, count, a.lr, a.beta1, a.beta2, a.eps, a.weight_decay, a.bias_correction1, a.bias_correction2,      \
      a.decoupled))                                                                                             \
  OP(sgd_update, (void* p, const void* g, void* buf, int64_t n, const SgdArgs& a),                             \
     (OUT_T(p), IN_T(g), OUT_T(buf), n, a.lr, a.momentum, a.dampening, a.weight_decay, a.nesterov, a.first))   \
  /* Norms (kernels/cpu/norm.h); gamma, beta, dx, dgamma, dbeta may be null. The dtype is x's; statistics,   \
     gamma, beta and their gradients are norm_param_t (float32 for 16-bit x); the running update's dtype is   \
     the statistics'. */                                                                                        \
  OP(norm_stats, (const void* x, const math::NormGeom& g, void* mean, void* var),                              \
     (IN_T(x), g, OUT_P(mean), OUT_P(var)))                                                                     \
  OP(norm_forward,                                                                                              \
     (const void* x, const math::NormGeom& g, const void* mean, const void* var, double eps, const void* gamma,  \
      const void* beta, void* y),                                                                               \
     (IN_T(x), g, IN_P(mean), IN_P(var), eps, IN_P(gamma), IN_P(beta), OUT_T(y)))                               \
  OP(norm_running_update,                                                                                       \
     (void* rmean, void* rvar, const void* mean, const void* var, int64_t c, double momentum, int64_t count),   \
     (OUT_T(rmean), OUT_T(rvar), IN_T(mean), IN_T(var), c, momentum, count))                                    \
  OP(norm_backward,                                                                                             \
     (const void* x, const void* gy, const math::NormGeom& g, const void* mean, const void* var, double eps,     \
      const void* gamma, bool batch_stats, void* dx, void* dgamma, void* dbeta),                                \
     (IN_T(x), IN_T(gy), g, IN_P(mean), IN_P(var), eps, IN_P(gamma), batch_stats, OUT_T(dx), OUT_P(dgamma),     \
      OUT_P(dbeta)))                                                                                            \
  /* The norm fused with a following ReLU / leaky ReLU (slope >= 0; kernels/cpu/norm.h). */                    \
  OP(norm_act_forward,                                                                                          \
     (const void* x, const math::NormGeom& g, const void* mean, const void* var, double eps, const void* gamma,  \
      const void* beta, double slope, void* y),                                                                 \
     (IN_T(x), g, IN_P(mean), IN_P(var), eps, IN_P(gamma), IN_P(beta), slope, OUT_T(y)))                        \
  OP(norm_act_backward,                                                                                         \
     (const void* x, const void* y, const void* gy, const math::NormGeom& g, const void* mean, const void* var,  \
      double eps, const void* gamma, double slope, bool batch_stats, void* dx, void* dgamma, void* dbeta),      \
     (IN_T(x), IN_T(y), IN_T(gy), g, IN_P(mean), IN_P(var), eps, IN_P(gamma), slope, batch_stats, OUT_T(dx),    \
      OUT_P(dgamma), OUT_P(dbeta)))                                                                             \
  /* Pooling and upsampling (kernels/cpu/pool.h); idx is int64 on the device. */                               \
  OP(max_pool_forward, (const kernels::PoolGeom& g, const void* x, void* y, int64_t* idx),                     \
     (g, IN_T(x), OUT_T(y), idx))                                                                               \
  OP(index_gather,                                                                                              \
     (const void* x, const int64_t* idx, void* y, int64_t planes, int64_t in_vol, int64_t out_vol),             \
     (IN_T(x), idx, OUT_T(y), planes, in_vol, out_vol))                                                         \
  OP(index_scatter_add,                                                                                         \
     (const void* y, const int64_t* idx, void* x, int64_t planes, int64_t in_vol, int64_t out_vol),             \
     (IN_T(y), idx, OUT_T(x), planes, in_vol, out_vol))                                                         \
  OP(upsample_nearest, (const kernels::PoolGeom& g, const void* x, void* y), (g, IN_T(x), OUT_T(y)))           \
  OP(pixel_shuffle,    (const kernels::PoolGeom& g, const void* x, void* y), (g, IN_T(x), OUT_T(y)))           \
  OP(pixel_unshuffle,  (const kernels::PoolGeom& g, const void* y, void* x), (g, IN_T(y), OUT_T(x)))           \
  OP(block_sum, (const kernels::PoolGeom& g, const void* y, void* x), (g, IN_T(y), OUT_T(x)))                  \
  /* Box copies (concat, narrow, crop, pad: src, dst at the boxes' first elements); batched transposes. */      \
  OP(copy_box, (const void* src, void* dst, const kernels::BoxCopy& b), (IN_T(src), OUT_T(dst), b))            \
  OP(transpose_last_two, (const void* src, void* dst, int64_t outer, int64_t rows, int64_t cols),              \
     (IN_T(src), OUT_T(dst), outer, rows, cols))                                                                \
  /* Convolutions (kernels/cpu/conv.h) and matrix products (kernels/cpu/gemm.h: C = op(A) op(B)). */                   \
  OP(conv_forward, (const kernels::ConvGeom& g, const void* x, const void* w, void* y),                        \
     (g, IN_T(x), IN_T(w), OUT_T(y)))                                                                           \
  OP(conv_backward_input, (const kernels::ConvGeom& g, const void* dy, const void* w, void* dx),               \
     (g, IN_T(dy), IN_T(w), OUT_T(dx)))                                                                         \
  OP(conv_backward_weight, (const kernels::ConvGeom& g, const void* x, const void* dy, void* dw),              \
     (g, IN_T(x), IN_T(dy), OUT_T(dw)))                                                                         \
  OP(gemm,                                                                                                      \
     (bool ta, bool tb, int64_t m, int64_t n, int64_t k, const void* a, int64_t lda, const void* b, int64_t ldb, \
      void* c, int64_t ldc),                                                                                    \
     (ta, tb, m, n, k, scalar_t(1), IN_T(a), lda, IN_T(b), ldb, scalar_t(0), OUT_T(c), ldc))

// Removes the parentheses around an entry's parameter or argument list.
#define PN_BACKEND_UNPAREN(...) __VA_ARGS__

namespace pn {

// Every name in kLowPrecisionOps is a backend op (pinned here: a misspelt name would leave
// its op float-only without a word).
constexpr bool is_backend_op(std::string_view op) {
#define PN_BACKEND_OP_NAME(name, params, args) \
  if (op == #name) return true;
  PN_BACKEND_OPS(PN_BACKEND_OP_NAME)
#undef PN_BACKEND_OP_NAME
  return op == "cast";
}
constexpr bool low_precision_ops_exist() {
  for (std::string_view o : kLowPrecisionOps)
    if (!is_backend_op(o)) return false;
  return true;
}
static_assert(low_precision_ops_exist(), "kLowPrecisionOps names an op that is not in PN_BACKEND_OPS");

}  // namespace pn
