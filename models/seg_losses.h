// The segmentation losses the study can train its U-Net with (config key segment.loss),
// each one named function with its formula, built from differentiable ops
// (autograd/ops/loss.h), so that the trainer, tests and benchmarks share one definition.
// Inputs: logits [N, 2, spatial...] (background, lesion) of the U-Net, and the target: the
// lesion mask [N, 1, spatial...] (0/1) or its one-hot [N, 2, spatial...], same dtype and device. p = softmax(logits, 1)[:, 1], t = mask,
// sums over a volume's voxels x; every loss returns a 0-dim tensor.
//
//   soft_dice  (the paper's): 1 − mean_n (2 Σ_x p t + ε) / (Σ_x p + Σ_x t + ε).
//       On a lesion-free volume (t = 0) the ratio is ε / (Σ p + ε): its gradient is of order
//       ε / (Σ p)², next to nothing, so nothing teaches the network to leave healthy
//       brains empty.
//   dice_ce    (nnU-Net's choice): soft_dice + cross-entropy of the two classes,
//       − mean_{n,x} [ t log p + (1 − t) log(1 − p) ], which penalises every false-positive
//       voxel, lesion-free volumes included.
//   batch_dice: 1 − (2 Σ_{n,x} p t + ε) / (Σ_{n,x} p + Σ_{n,x} t + ε): the batch as one
//       volume, so predictions on a lesion-free volume enlarge the denominator whenever the
//       batch holds a lesion.
// ε = 1e-5 (soft_dice_loss's default).
#pragma once
#include <string>

#include "autograd/tensor.h"

namespace pn::models {

enum class SegLoss { SoftDice, DiceCe, BatchDice };

// "soft_dice" | "dice_ce" | "batch_dice"; anything else is an error listing them.
SegLoss parse_seg_loss(const std::string& name);
const char* seg_loss_name(SegLoss loss);

Tensor soft_dice_seg_loss(const Tensor& logits, const Tensor& mask);
Tensor dice_ce_seg_loss(const Tensor& logits, const Tensor& mask);
Tensor batch_dice_seg_loss(const Tensor& logits, const Tensor& mask);
// The one of the three that `loss` names.
Tensor segmentation_loss(SegLoss loss, const Tensor& logits, const Tensor& mask);

}  // namespace pn::models
