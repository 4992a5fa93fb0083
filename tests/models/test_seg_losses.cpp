// The segmentation losses (models/seg_losses.h): each against its formula computed by hand
// in double, float64 gradient checks, and what they do on a lesion-free volume (the reason
// for dice_ce and batch_dice: soft Dice's gradient there is next to nothing).
#include <doctest/doctest.h>

#include <cmath>

#include "autograd/gradcheck.h"
#include "models/seg_losses.h"
#include "tests/test_util.h"

using namespace pn;
using namespace pn::models;

namespace {

// Lesion probability p = softmax(logits)[:, 1] = sigmoid(l1 - l0) per voxel, and the
// per-voxel values of the formulas.
struct ByHand {
  std::vector<double> soft_dice_per_volume;
  double batch_dice = 0, cross_entropy = 0;
};
ByHand by_hand(const Tensor& logits, const Tensor& mask) {
  const auto l = logits.to_vector(), t = mask.to_vector();
  const int64_t n = logits.shape()[0], v = mask.numel() / n;
  const double eps = 1e-5;
  ByHand h;
  double inter_all = 0, p_all = 0, t_all = 0;
  for (int64_t i = 0; i < n; ++i) {
    double inter = 0, ps = 0, ts = 0;
    for (int64_t k = 0; k < v; ++k) {
      const double l0 = l[static_cast<size_t>((i * 2) * v + k)], l1 = l[static_cast<size_t>((i * 2 + 1) * v + k)];
      const double p = 1 / (1 + std::exp(l0 - l1)), tt = t[static_cast<size_t>(i * v + k)];
      inter += p * tt, ps += p, ts += tt;
      h.cross_entropy -= tt * std::log(p) + (1 - tt) * std::log(1 - p);
    }
    h.soft_dice_per_volume.push_back((2 * inter + eps) / (ps + ts + eps));
    inter_all += inter, p_all += ps, t_all += ts;
  }
  h.cross_entropy /= static_cast<double>(n * v);
  h.batch_dice = (2 * inter_all + eps) / (p_all + t_all + eps);
  return h;
}

Tensor random_mask(const Shape& s, Generator& gen, double fraction) {
  Tensor m = Tensor::rand(s, gen, DType::Float64);
  double* p = m.data<double>();
  for (int64_t i = 0; i < m.numel(); ++i) p[i] = p[i] < fraction ? 1.0 : 0.0;
  return m;
}

double max_abs(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m = std::max(m, std::abs(x));
  return m;
}

// d loss / d logits of `loss` on (logits, mask).
std::vector<double> logit_grad(SegLoss loss, const Tensor& logits_in, const Tensor& mask) {
  Tensor logits = Tensor::from_vector(logits_in.to_vector(), logits_in.shape(), DType::Float64).requires_grad_();
  segmentation_loss(loss, logits, mask).backward();
  return logits.grad().to_vector();
}

}  // namespace

TEST_CASE("segmentation losses: the formulas, by name") {
  Generator gen(5);
  const Shape s{3, 2, 2, 3, 4};
  Tensor logits = test::rand_input(s, gen, 1.5, 0.0, false);
  Tensor mask = random_mask({3, 1, 2, 3, 4}, gen, 0.3);
  const ByHand h = by_hand(logits, mask);
  const double mean_dice = (h.soft_dice_per_volume[0] + h.soft_dice_per_volume[1] + h.soft_dice_per_volume[2]) / 3;
  CHECK(segmentation_loss(SegLoss::SoftDice, logits, mask).item() == doctest::Approx(1 - mean_dice).epsilon(1e-12));
  CHECK(segmentation_loss(SegLoss::DiceCe, logits, mask).item() ==
        doctest::Approx(1 - mean_dice + h.cross_entropy).epsilon(1e-12));
  CHECK(segmentation_loss(SegLoss::BatchDice, logits, mask).item() == doctest::Approx(1 - h.batch_dice).epsilon(1e-12));
  // Batch Dice is not the mean of per-volume Dice.
  CHECK(std::abs(h.batch_dice - mean_dice) > 1e-3);
  for (const char* name : {"soft_dice", "dice_ce", "batch_dice"}) CHECK(std::string(seg_loss_name(parse_seg_loss(name))) == name);
  CHECK_THROWS_WITH_AS(parse_seg_loss("dice"), doctest::Contains("segmentation loss 'dice' is not known; the losses are: "
                                                                 "soft_dice, dice_ce, batch_dice"), Error);
  // The one-hot target gives the same losses as the mask.
  Tensor onehot = Tensor::zeros({3, 2, 2, 3, 4}, DType::Float64);
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t k = 0; k < 24; ++k) {
      const double t = mask.to_vector()[static_cast<size_t>(i * 24 + k)];
      onehot.data<double>()[(i * 2) * 24 + k] = 1 - t;
      onehot.data<double>()[(i * 2 + 1) * 24 + k] = t;
    }
  for (SegLoss loss : {SegLoss::SoftDice, SegLoss::DiceCe, SegLoss::BatchDice})
    CHECK(segmentation_loss(loss, logits, onehot).item() == doctest::Approx(segmentation_loss(loss, logits, mask).item()).epsilon(1e-12));
  CHECK_THROWS_WITH_AS(dice_ce_seg_loss(logits, Tensor::zeros({3, 3, 2, 3, 4}, DType::Float64)),
                       doctest::Contains("dice_ce_seg_loss: target float64[3, 3, 2, 3, 4] cpu must be a mask [3, 1, 2, 3, 4] "
                                         "or one-hot [3, 2, 2, 3, 4]"),
                       Error);
}

TEST_CASE("segmentation losses: float64 gradient checks") {
  Generator gen(9);
  Tensor logits = test::rand_input({2, 2, 2, 2, 3}, gen);
  Tensor mask = random_mask({2, 1, 2, 2, 3}, gen, 0.4);
  for (SegLoss loss : {SegLoss::SoftDice, SegLoss::DiceCe, SegLoss::BatchDice}) {
    INFO(seg_loss_name(loss));
    TensorFn f = [loss, mask](const std::vector<Tensor>& in) { return segmentation_loss(loss, in[0], mask); };
    CHECK_GRADCHECK(f, std::vector<Tensor>{logits});
  }
}

TEST_CASE("a lesion-free volume: soft Dice gives (next to) no gradient, dice_ce and batch Dice do") {
  Generator gen(13);
  const Shape s{1, 2, 4, 8, 8};  // 256 voxels
  Tensor logits = test::rand_input(s, gen, 1.0, 0.0, false);
  Tensor empty = Tensor::zeros({1, 1, 4, 8, 8}, DType::Float64);
  // soft Dice: d/dl of 1 - eps / (sum p + eps) is eps p (1 - p) / (sum p + eps)^2, about
  // 1e-5 * 0.25 / 128^2 = 1.5e-10 per voxel.
  const double soft = max_abs(logit_grad(SegLoss::SoftDice, logits, empty));
  const double ce = max_abs(logit_grad(SegLoss::DiceCe, logits, empty));
  CHECK(soft < 1e-8);
  CHECK(ce > 1e-4);  // cross-entropy: p / 256 per voxel
  CHECK(ce > 1e4 * soft);
  // Batch Dice with a lesion-free volume next to one with a lesion: the lesion-free volume's
  // voxels get a gradient through the shared denominator; per-volume soft Dice gives them none.
  Tensor two = test::rand_input({2, 2, 4, 8, 8}, gen, 1.0, 0.0, false);
  Tensor mask = Tensor::zeros({2, 1, 4, 8, 8}, DType::Float64);
  for (int64_t k = 0; k < 40; ++k) mask.data<double>()[256 + k] = 1.0;  // the second volume has a lesion
  auto first_volume = [](const std::vector<double>& g) { return max_abs(std::vector<double>(g.begin(), g.begin() + 512)); };
  CHECK(first_volume(logit_grad(SegLoss::BatchDice, two, mask)) > 1e-5);
  CHECK(first_volume(logit_grad(SegLoss::SoftDice, two, mask)) < 1e-8);
}
