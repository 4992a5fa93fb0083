#include "nn/spade_norm.h"

#include "autograd/autocast.h"
#include "autograd/ops/concat.h"
#include "autograd/ops/conv.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/norm.h"

namespace pn::nn {

SpadeNorm::SpadeNorm(int64_t channels, int64_t label_channels, SpadeNormOptions opt, Generator& gen)
    : channels_(channels), label_channels_(label_channels), opt_(opt) {
  PN_CHECK(opt.kernel % 2 == 1, "SpadeNorm: kernel must be odd, got {}", opt.kernel);
  ConvOptions c{opt.dims, opt.kernel, 1, opt.kernel / 2, true, Init::normal002()};
  shared_ = register_module("shared", std::make_shared<Conv>(label_channels, opt.hidden, c, gen));
  gamma_ = register_module("gamma", std::make_shared<Conv>(opt.hidden, channels, c, gen));
  beta_ = register_module("beta", std::make_shared<Conv>(opt.hidden, channels, c, gen));
}

Tensor spade_label_map(const Tensor& labels, const Tensor& x) {
  PN_CHECK(labels.dim() == x.dim() && x.dim() >= 3 && labels.size(0) == x.size(0),
           "SpadeNorm: label map {} and features {} need the same rank and batch", labels.desc(), x.desc());
  const int64_t factor = labels.size(2) / x.size(2);
  for (int d = 2; d < x.dim(); ++d)
    PN_CHECK(factor >= 1 && labels.size(d) == factor * x.size(d),
             "SpadeNorm: label map {} is not an equal integer multiple of the features {} in every spatial dim",
             labels.desc(), x.desc());
  return factor == 1 ? labels : max_pool(labels, static_cast<int>(factor), static_cast<int>(factor));
}

Tensor SpadeNorm::forward(const Tensor& x, const Tensor& labels) {
  PN_CHECK(x.dim() == opt_.dims + 2 && x.size(1) == channels_, "SpadeNorm: expects x [N, {}, spatial x{}], got {}",
           channels_, opt_.dims, x.desc());
  PN_CHECK(labels.dim() == x.dim() && labels.size(0) == x.size(0) && labels.size(1) == label_channels_,
           "SpadeNorm: expects labels [{}, {}, ...], got {}", x.size(0), label_channels_, labels.desc());
  const Tensor m = spade_label_map(labels, x);
  // Under a 16-bit autocast scope everything below runs in 16 bits (autocast.h, rule 1b): the
  // convolutions add their biases in 16 bits and x is cast once, so that the scale and shift
  // meet a 16-bit normalised x.
  Keep16BitScope keep;
  Tensor h = relu((*shared_)(m));
  const auto [gamma, beta] = gamma_beta(h);
  Tensor y = instance_norm(autocast_operand(x), {}, {}, opt_.eps) * add_scalar(gamma, 1.0) + beta;
  set_output_shape(y.shape());
  return y;
}

// gamma(h) and beta(h): two convolutions, or one with the weights and biases stacked, split.
std::pair<Tensor, Tensor> SpadeNorm::gamma_beta(const Tensor& h) {
  if (!opt_.joint_affine) return {(*gamma_)(h), (*beta_)(h)};
  const Tensor w = concat({gamma_->weight, beta_->weight}, 0), b = concat({*gamma_->bias, *beta_->bias}, 0);
  const Tensor both = conv(h, w, b, {1}, {opt_.kernel / 2});
  Tensor gamma = narrow(both, 1, 0, channels_), beta = narrow(both, 1, channels_, channels_);
  gamma_->set_output_shape(gamma.shape());
  beta_->set_output_shape(beta.shape());
  return {gamma, beta};
}

std::string SpadeNorm::describe() const {
  return fmt::format("SpadeNorm({} channels, {} label channels, hidden {})", channels_, label_channels_, opt_.hidden);
}

void set_spade_joint_affine(Module& root, bool on) {
  root.for_each<SpadeNorm>([on](SpadeNorm& n) { n.set_joint_affine(on); });
}

}  // namespace pn::nn
