#include "autograd/ops/loss.h"

#include <vector>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/reduce.h"
#include "autograd/ops/softmax.h"
#include "kernels/math/elementwise_math.h"

namespace pn {

namespace {

void check_pair(const char* op, const Tensor& pred, const Tensor& target) {
  detail::check_same(pred, target, op);
  PN_CHECK(pred.shape() == target.shape(), "{}: prediction {} and target {} differ in shape", op, pred.desc(),
           target.desc());
  PN_CHECK(pred.numel() > 0, "{}: empty input {}", op, pred.desc());
}

// softplus(x) = log(1 + exp(x)) = max(x, 0) + log(1 + exp(-|x|)), which never overflows.
// A fused op rather than relu + abs: those have kinks at 0 that cancel in the sum but
// would give a wrong gradient at exactly x = 0. d/dx = sigmoid(x).
Tensor softplus(const Tensor& x) {
  Tensor y;
  {
    NoGrad ng;
    y = add(relu(x), detail::unary_raw("softplus", static_cast<int>(math::Unary::Log1pExpNeg), x));
  }
  record(y, "softplus", {x}, [x](const Tensor& g, const NeedMask&) -> Grads { return {mul(g, sigmoid(x))}; });
  return y;
}

// x[:, cls] keeping the axis: [N, C, ...] -> [N, 1, ...], as a masked channel sum so that
// it is differentiable with the ops at hand.
Tensor select_channel(const Tensor& x, int64_t cls) {
  Shape s(x.dim(), 1);
  s[1] = x.shape()[1];
  std::vector<double> onehot(static_cast<size_t>(s[1]), 0.0);
  onehot[static_cast<size_t>(cls)] = 1.0;
  Tensor sel = Tensor::from_vector(onehot, s, x.dtype()).to(x.device());
  return sum(mul(x, sel), {1}, true);
}

}  // namespace

Tensor mse_loss(const Tensor& pred, const Tensor& target) {
  check_pair("mse_loss", pred, target);
  return mean(square(sub(pred, target)));
}

Tensor l1_loss(const Tensor& pred, const Tensor& target) {
  check_pair("l1_loss", pred, target);
  return mean(abs(sub(pred, target)));
}

Tensor bce_with_logits(const Tensor& logits, const Tensor& target) {
  check_pair("bce_with_logits", logits, target);
  return mean(sub(softplus(logits), mul(logits, target)));
}

Tensor cross_entropy(const Tensor& logits, const Tensor& target_probs, int axis) {
  check_pair("cross_entropy", logits, target_probs);
  const int a = normalize_axis(axis, logits.dim(), "cross_entropy");
  const double positions = static_cast<double>(logits.numel() / logits.shape()[a]);
  return mul_scalar(sum(mul(target_probs, log_softmax(logits, a))), -1.0 / positions);
}

namespace {

// (2 sum(p t) + eps) / (sum(p) + sum(t) + eps) of class cls, the sums over the spatial dims
// (per volume, [N]) or over the batch too (a scalar).
Tensor dice_ratio(const char* op, const Tensor& probs, const Tensor& target, int cls, double eps, bool over_batch) {
  detail::check_same(probs, target, op);
  PN_CHECK(probs.dim() >= 3, "{}: expected probabilities [N, C, spatial...], got {}", op, probs.desc());
  PN_CHECK(cls >= 0 && cls < probs.shape()[1], "{}: class {} out of range for {} channels ({})", op, cls,
           probs.shape()[1], probs.desc());
  Shape mask_shape = probs.shape();
  mask_shape[1] = 1;
  const bool onehot = target.shape() == probs.shape();
  PN_CHECK(onehot || target.shape() == mask_shape,
           "{}: target {} must be one-hot of the probabilities' shape or a mask {} (probabilities {})", op,
           target.desc(), shape_str(mask_shape), probs.desc());
  PN_CHECK(eps >= 0, "{}: need eps >= 0, got {}", op, eps);
  Tensor p = select_channel(probs, cls);
  Tensor t = onehot ? select_channel(target, cls) : target;
  std::vector<int> axes;
  for (int i = over_batch ? 0 : 1; i < probs.dim(); ++i) axes.push_back(i);
  Tensor inter = sum(mul(p, t), axes);
  Tensor denom = add_scalar(add(sum(p, axes), sum(t, axes)), eps);
  return div(add_scalar(mul_scalar(inter, 2.0), eps), denom);
}

}  // namespace

Tensor soft_dice(const Tensor& probs, const Tensor& target, int cls, double eps) {
  return dice_ratio("soft_dice", probs, target, cls, eps, false);
}

Tensor batch_soft_dice_loss(const Tensor& probs, const Tensor& target, int cls, double eps) {
  return rsub_scalar(1.0, dice_ratio("batch_soft_dice_loss", probs, target, cls, eps, true));
}

Tensor soft_dice_loss(const Tensor& probs, const Tensor& target, int cls, double eps) {
  return rsub_scalar(1.0, mean(soft_dice(probs, target, cls, eps)));
}

}  // namespace pn
