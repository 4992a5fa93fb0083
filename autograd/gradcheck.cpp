#include "autograd/gradcheck.h"

#include <cmath>

#include "autograd/engine.h"
#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/reduce.h"

namespace pn {

namespace {

double scalar_value(const TensorFn& f, const std::vector<Tensor>& in, const Tensor& r) {
  NoGrad ng;
  return sum(mul(f(in), r)).item();
}

}  // namespace

GradcheckResult gradcheck(const TensorFn& f, const std::vector<Tensor>& inputs, const GradcheckOptions& opt) {
  for (const auto& t : inputs)
    PN_CHECK(!t.defined() || t.dtype() == DType::Float64, "gradcheck: inputs must be float64, got {}", t.desc());
  Generator gen(opt.seed);
  Tensor y = f(inputs);
  Tensor r = Tensor::randn(y.shape(), gen, DType::Float64);
  std::vector<Tensor> wrt;
  std::vector<size_t> idx;
  for (size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].defined() && inputs[i].requires_grad()) { wrt.push_back(inputs[i]); idx.push_back(i); }
  PN_CHECK(!wrt.empty(), "gradcheck: no input requires grad");
  Tensor loss = sum(mul(y, r));
  // A loss that does not depend on the inputs through the graph (e.g. the gradient of a
  // linear op, in gradgradcheck) has zero analytic gradient.
  std::vector<Tensor> analytic(wrt.size());
  if (loss.requires_grad()) analytic = grad({loss}, wrt, {}, false, 0, true);

  GradcheckResult res;
  int reported = 0;
  for (size_t k = 0; k < wrt.size(); ++k) {
    Tensor x = wrt[k];
    double* px = x.data<double>();
    std::vector<double> an = analytic[k].defined() ? analytic[k].to_vector() : std::vector<double>(x.numel(), 0.0);
    for (int64_t e = 0; e < x.numel(); ++e) {
      double orig = px[e];
      px[e] = orig + opt.eps;
      double lp = scalar_value(f, inputs, r);
      px[e] = orig - opt.eps;
      double lm = scalar_value(f, inputs, r);
      px[e] = orig;
      double num = (lp - lm) / (2 * opt.eps);
      double err = std::abs(num - an[e]);
      res.max_abs_error = std::max(res.max_abs_error, err);
      if (!(err <= opt.atol + opt.rtol * std::abs(num))) {
        res.ok = false;
        if (reported++ < 5)
          res.message += fmt::format("input {} element {}: analytic {:.10g}, numeric {:.10g}\n", idx[k], e, an[e], num);
      }
    }
  }
  return res;
}

GradcheckResult gradgradcheck(const TensorFn& f, const std::vector<Tensor>& inputs, const GradcheckOptions& opt) {
  Generator gen(opt.seed + 1);
  std::vector<Tensor> wrt;
  for (const auto& t : inputs)
    if (t.defined() && t.requires_grad()) wrt.push_back(t);
  Tensor y0;
  {
    NoGrad ng;
    y0 = f(inputs);
  }
  Tensor r = Tensor::randn(y0.shape(), gen, DType::Float64);
  std::vector<Tensor> v;
  for (const auto& t : wrt) v.push_back(Tensor::randn(t.shape(), gen, DType::Float64));
  // g(x) = sum_k <d<f(x), r>/dx_k, v_k>: its gradient needs the second derivatives of f.
  TensorFn g = [&](const std::vector<Tensor>& in) -> Tensor {
    std::vector<Tensor> w;
    for (const auto& t : in)
      if (t.defined() && t.requires_grad()) w.push_back(t);
    GradModeGuard on(true);
    Tensor l = sum(mul(f(in), r));
    std::vector<Tensor> gs = grad({l}, w, {}, true, 1, true);
    Tensor total = Tensor::zeros({}, DType::Float64);
    for (size_t k = 0; k < gs.size(); ++k)
      if (gs[k].defined()) total = add(total, sum(mul(gs[k], v[k])));
    return total;
  };
  return gradcheck(g, inputs, opt);
}

}  // namespace pn
