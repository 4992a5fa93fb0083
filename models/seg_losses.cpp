#include "models/seg_losses.h"

#include "autograd/error.h"
#include "autograd/ops/concat.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/loss.h"
#include "autograd/ops/softmax.h"

namespace pn::models {

namespace {
void check_inputs(const char* op, const Tensor& logits, const Tensor& target) {
  PN_CHECK(logits.dim() >= 3 && logits.shape()[1] == 2, "{}: expected logits [N, 2, spatial...] (background, lesion), "
           "got {}", op, logits.desc());
  Shape m = logits.shape();
  m[1] = 1;
  PN_CHECK(target.shape() == m || target.shape() == logits.shape(),
           "{}: target {} must be a mask {} or one-hot {} for logits {}", op, target.desc(), shape_str(m),
           shape_str(logits.shape()), logits.desc());
}

// (background, lesion) one-hot of a target given as a mask or already one-hot.
Tensor one_hot_target(const Tensor& target) {
  return target.shape()[1] == 2 ? target : concat({rsub_scalar(1.0, target), target}, 1);
}
}  // namespace

SegLoss parse_seg_loss(const std::string& name) {
  if (name == "soft_dice") return SegLoss::SoftDice;
  if (name == "dice_ce") return SegLoss::DiceCe;
  if (name == "batch_dice") return SegLoss::BatchDice;
  PN_FAIL("segmentation loss '{}' is not known; the losses are: soft_dice, dice_ce, batch_dice", name);
}

const char* seg_loss_name(SegLoss loss) {
  switch (loss) {
    case SegLoss::SoftDice: return "soft_dice";
    case SegLoss::DiceCe: return "dice_ce";
    case SegLoss::BatchDice: return "batch_dice";
  }
  return "?";
}

Tensor soft_dice_seg_loss(const Tensor& logits, const Tensor& mask) {
  check_inputs("soft_dice_seg_loss", logits, mask);
  return soft_dice_loss(softmax(logits, 1), mask, 1);
}

Tensor dice_ce_seg_loss(const Tensor& logits, const Tensor& mask) {
  check_inputs("dice_ce_seg_loss", logits, mask);
  return add(soft_dice_loss(softmax(logits, 1), mask, 1), cross_entropy(logits, one_hot_target(mask), 1));
}

Tensor batch_dice_seg_loss(const Tensor& logits, const Tensor& mask) {
  check_inputs("batch_dice_seg_loss", logits, mask);
  return batch_soft_dice_loss(softmax(logits, 1), mask, 1);
}

Tensor segmentation_loss(SegLoss loss, const Tensor& logits, const Tensor& mask) {
  switch (loss) {
    case SegLoss::SoftDice: return soft_dice_seg_loss(logits, mask);
    case SegLoss::DiceCe: return dice_ce_seg_loss(logits, mask);
    case SegLoss::BatchDice: return batch_dice_seg_loss(logits, mask);
  }
  PN_FAIL("segmentation_loss: unknown loss {}", static_cast<int>(loss));
}

}  // namespace pn::models
