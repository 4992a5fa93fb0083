#include "autograd/ops/norm.h"

#include <algorithm>

#include "autograd/node.h"
#include "autograd/ops/elementwise.h"
#include "autograd/backend.h"

namespace pn {

namespace {

// What the backward of a norm needs besides x and gamma.
struct NormState {
  const char* op;
  math::NormGeom geom;
  Tensor mean, var;  // per group; batch statistics, or running ones (batch norm in eval)
  double eps;
  bool batch_stats;
};

// x [N, C, S...], or [N, S..., C] channels-last.
math::NormGeom geom_of(const Tensor& x, bool per_instance, MemoryFormat format) {
  math::NormGeom g;
  g.channels_last = format == MemoryFormat::channels_last;
  g.n = x.shape()[0];
  g.c = g.channels_last ? x.shape().back() : x.shape()[1];
  g.s = x.numel() / std::max<int64_t>(g.n * g.c, 1);
  g.per_instance = per_instance;
  return g;
}

int64_t channels_of(const Tensor& x, MemoryFormat format) {
  return format == MemoryFormat::channels_last ? x.shape().back() : x.shape()[1];
}

void check_input(const char* op, const Tensor& x, int min_dim, MemoryFormat format) {
  PN_CHECK(x.defined(), "{}: undefined input", op);
  const bool last = format == MemoryFormat::channels_last;
  if (last) min_dim = std::max(min_dim, 3);
  PN_CHECK(x.dim() >= min_dim, "{}: expected an input of at least {} dims {}, got {}", op, min_dim,
           last ? "[N, ..., C] (channels-last)" : "[N, C, ...]", x.desc());
  PN_CHECK(x.numel() > 0, "{}: empty input {}", op, x.desc());
  backend_for(x.device(), op);  // fails clearly on a device without kernels
}

// The dtype of a norm's statistics, gamma, beta and running statistics for input x: float32
// for a 16-bit x (mixed precision: math::norm_param_t, autograd/autocast.h), else x's.
DType param_dtype(const Tensor& x) { return is_low_precision(x.dtype()) ? DType::Float32 : x.dtype(); }

// gamma, beta and running statistics: undefined, or [C] with x's device and param_dtype(x).
void check_per_channel(const char* op, const char* what, const Tensor& t, const Tensor& x, MemoryFormat format) {
  if (!t.defined()) return;
  const int64_t c = channels_of(x, format);
  PN_CHECK(t.shape() == Shape{c}, "{}: {} must have shape [{}] (channels of input {}{}), got {}", op, what, c,
           x.desc(), format == MemoryFormat::channels_last ? ", channels-last" : "", t.desc());
  if (!is_low_precision(x.dtype())) return detail::check_same(x, t, op);
  PN_CHECK(t.dtype() == DType::Float32 && t.device() == x.device(),
           "{}: with a {} input {}, {} must be float32 on the same device (statistics and affine parameters stay "
           "float32 in mixed precision), got {}", op, dtype_name(x.dtype()), x.desc(), what, t.desc());
}

// The op that the backward of a norm records under create_graph: it exists so that
// differentiating the gradient fails loudly.
void record_no_double_backward(Tensor& out, const char* op, const std::vector<Tensor>& inputs) {
  std::string name = op;
  record(out, "norm_backward", inputs, [name](const Tensor&, const NeedMask&) -> Grads {
    PN_FAIL("{}_backward: double backward of {} is not supported (its backward is a fused first-order "
            "kernel); keep norms out of graphs that need second derivatives", name, name);
  });
}

// The fused first-order backward; recorded (as a non-differentiable op) when the pass
// is building a graph. need: x, gamma, beta (an undefined gamma or beta is never needed).
// With y defined it is the backward of norm_act: the activation's mask comes from its output y.
Grads norm_backward(const NormState& st, const Tensor& g, const Tensor& x, const Tensor& gamma,
                    const NeedMask& need, const Tensor& y = {}, double slope = 0) {
  Tensor dx, dgamma, dbeta;
  if (need[0]) dx = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (need[1]) dgamma = Tensor::empty({st.geom.c}, param_dtype(x), x.device());
  if (need[2]) dbeta = Tensor::empty({st.geom.c}, param_dtype(x), x.device());
  PN_CHECK(g.dtype() == x.dtype(), "{}_backward: the output gradient {} must have the input's dtype ({})", st.op,
           g.desc(), dtype_name(x.dtype()));
  auto ptr = [](Tensor& t) { return t.defined() ? t.raw() : nullptr; };
  const void* gamma_p = gamma.defined() ? gamma.raw() : nullptr;
  Backend& be = backend_for(x.device(), st.op);
  if (y.defined())
    be.norm_act_backward(x.dtype(), x.raw(), y.raw(), g.raw(), st.geom, st.mean.raw(), st.var.raw(), st.eps, gamma_p,
                         slope, st.batch_stats, ptr(dx), ptr(dgamma), ptr(dbeta));
  else
    be.norm_backward(x.dtype(), x.raw(), g.raw(), st.geom, st.mean.raw(), st.var.raw(), st.eps, gamma_p,
                     st.batch_stats, ptr(dx), ptr(dgamma), ptr(dbeta));
  for (Tensor* t : {&dx, &dgamma, &dbeta})
    if (t->defined()) record_no_double_backward(*t, st.op, {g, x, gamma});
  return {dx, dgamma, dbeta};
}

// Normalises x with st.mean/st.var and records the node.
Tensor norm_apply(const NormState& st, const Tensor& x, const Tensor& gamma, const Tensor& beta) {
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  backend_for(x.device(), st.op)
      .norm_forward(x.dtype(), x.raw(), st.geom, st.mean.raw(), st.var.raw(), st.eps,
                    gamma.defined() ? gamma.raw() : nullptr, beta.defined() ? beta.raw() : nullptr, y.raw());
  record(y, st.op, {x, gamma, beta}, [st, x, gamma](const Tensor& g, const NeedMask& need) -> Grads {
    return norm_backward(st, g, x, gamma, need);
  });
  return y;
}

// norm_apply followed by leaky_relu(., slope) in one kernel; the node keeps y (detached: the
// node must not own its own output's graph) for the activation's mask, not the pre-activation.
Tensor norm_act_apply(const NormState& st, const Tensor& x, const Tensor& gamma, const Tensor& beta, double slope) {
  PN_CHECK(slope >= 0 && slope <= 1e30, "{}: the slope must be >= 0 (the backward reads the activation's mask from "
           "its output, which needs y > 0 exactly where the input is), got {}; for a negative slope use the norm "
           "and leaky_relu separately", st.op, slope);
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  backend_for(x.device(), st.op)
      .norm_act_forward(x.dtype(), x.raw(), st.geom, st.mean.raw(), st.var.raw(), st.eps,
                        gamma.defined() ? gamma.raw() : nullptr, beta.defined() ? beta.raw() : nullptr, slope,
                        y.raw());
  if (!needs_record({x, gamma, beta})) return y;
  const Tensor saved_y = y.detach();
  record(y, st.op, {x, gamma, beta}, [st, x, gamma, saved_y, slope](const Tensor& g, const NeedMask& need) -> Grads {
    return norm_backward(st, g, x, gamma, need, saved_y, slope);
  });
  return y;
}

void batch_stats(const math::NormGeom& geom, const Tensor& x, Tensor& mean, Tensor& var) {
  const int64_t groups = math::norm_groups(geom);
  mean = Tensor::empty({groups}, param_dtype(x), x.device());
  var = Tensor::empty({groups}, param_dtype(x), x.device());
  backend_for(x.device(), "norm statistics").norm_stats(x.dtype(), x.raw(), geom, mean.raw(), var.raw());
}

// Checks batch norm's arguments, takes the batch statistics (training) or copies the running
// ones (eval), and updates the running statistics.
NormState batch_norm_state(const char* op, const Tensor& x, const Tensor& gamma, const Tensor& beta,
                           const Tensor& running_mean, const Tensor& running_var, bool training, double momentum,
                           double eps, MemoryFormat format) {
  check_input(op, x, 2, format);
  check_per_channel(op, "gamma", gamma, x, format);
  check_per_channel(op, "beta", beta, x, format);
  check_per_channel(op, "running_mean", running_mean, x, format);
  check_per_channel(op, "running_var", running_var, x, format);
  PN_CHECK(running_mean.defined() == running_var.defined(),
           "{}: running_mean ({}) and running_var ({}) must be both given or both omitted", op, running_mean.desc(),
           running_var.desc());
  PN_CHECK(!running_mean.requires_grad() && !running_var.requires_grad(),
           "{}: running statistics are buffers and must not require grad", op);
  PN_CHECK(eps >= 0 && momentum >= 0 && momentum <= 1, "{}: need eps >= 0 and momentum in [0, 1], got {} and {}", op,
           eps, momentum);
  NormState st{op, geom_of(x, false, format), {}, {}, eps, training};
  if (training) {
    const int64_t m = math::norm_group_size(st.geom);
    PN_CHECK(m > 1, "{}: expected more than one value per channel in training, got input {}", op, x.desc());
    batch_stats(st.geom, x, st.mean, st.var);
    if (running_mean.defined()) {
      Tensor rm = running_mean, rv = running_var;  // handles: the update writes their storage
      backend_for(x.device(), op).norm_running_update(param_dtype(x), rm.raw(), rv.raw(), st.mean.raw(), st.var.raw(),
                                                      st.geom.c, momentum, m);
    }
  } else {
    PN_CHECK(running_mean.defined(), "{}: eval mode needs running statistics for input {}", op, x.desc());
    // Copies: the buffers may be updated again before this node's backward runs.
    st.mean = running_mean.detach().clone();
    st.var = running_var.detach().clone();
  }
  return st;
}

NormState instance_norm_state(const char* op, const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps,
                              MemoryFormat format) {
  check_input(op, x, 3, format);
  check_per_channel(op, "gamma", gamma, x, format);
  check_per_channel(op, "beta", beta, x, format);
  PN_CHECK(eps >= 0, "{}: need eps >= 0, got {}", op, eps);
  NormState st{op, geom_of(x, true, format), {}, {}, eps, true};
  PN_CHECK(st.geom.s > 1, "{}: expected more than one spatial element per channel, got input {}", op, x.desc());
  batch_stats(st.geom, x, st.mean, st.var);
  return st;
}

}  // namespace

Tensor batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& running_mean,
                  const Tensor& running_var, bool training, double momentum, double eps, MemoryFormat format) {
  const NormState st =
      batch_norm_state("batch_norm", x, gamma, beta, running_mean, running_var, training, momentum, eps, format);
  return norm_apply(st, x, gamma, beta);
}

Tensor instance_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps, MemoryFormat format) {
  return norm_apply(instance_norm_state("instance_norm", x, gamma, beta, eps, format), x, gamma, beta);
}

Tensor batch_norm_act(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& running_mean,
                      const Tensor& running_var, bool training, double slope, double momentum, double eps,
                      MemoryFormat format) {
  const NormState st =
      batch_norm_state("batch_norm_act", x, gamma, beta, running_mean, running_var, training, momentum, eps, format);
  return norm_act_apply(st, x, gamma, beta, slope);
}

Tensor instance_norm_act(const Tensor& x, const Tensor& gamma, const Tensor& beta, double slope, double eps,
                         MemoryFormat format) {
  return norm_act_apply(instance_norm_state("instance_norm_act", x, gamma, beta, eps, format), x, gamma, beta, slope);
}

}  // namespace pn
