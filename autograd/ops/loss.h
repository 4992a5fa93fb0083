// Training losses, each returning a scalar (0-dim) tensor. They are composed from
// differentiable ops (so they have second derivatives, and the CUDA backend gets them from
// the ops it already has); the one fused piece is softplus inside bce_with_logits, where
// numerical stability needs it. Targets may be constants or require grad.
//
// WGAN losses need nothing here: the critic and generator losses are plain means of the
// critic's output (pn::mean, autograd/ops/reduce.h), e.g. mean(D(fake)) - mean(D(real)).
#pragma once
#include "autograd/tensor.h"

namespace pn {

// mean((pred - target)^2) and mean(|pred - target|) over all elements; same shapes.
Tensor mse_loss(const Tensor& pred, const Tensor& target);
Tensor l1_loss(const Tensor& pred, const Tensor& target);

// mean(softplus(x) - x t) = mean(max(x, 0) - x t + log(1 + exp(-|x|))): binary cross-entropy
// of sigmoid(logits) against target probabilities t of the same shape.
Tensor bce_with_logits(const Tensor& logits, const Tensor& target);

// Mean over N and the spatial positions of -sum_c t_c log_softmax(x)_c, with the class axis
// `axis` (1 for NC[D]HW); target_probs has the logits' shape (one-hot or soft labels).
Tensor cross_entropy(const Tensor& logits, const Tensor& target_probs, int axis = 1);

// Soft Dice of class channel `cls` of probs [N, C, spatial...] per volume:
//   dice_n = (2 sum(p t) + eps) / (sum(p) + sum(t) + eps), sums over the spatial dims,
// where p = probs[:, cls]. The target is either one-hot of probs' shape (its channel cls is
// used) or a binary mask [N, 1, spatial...]. soft_dice returns dice_n as a tensor [N] (for
// metrics); soft_dice_loss = 1 - mean_n(dice_n) (the segmentation loss of the paper).
Tensor soft_dice(const Tensor& probs, const Tensor& target, int cls, double eps = 1e-5);
Tensor soft_dice_loss(const Tensor& probs, const Tensor& target, int cls, double eps = 1e-5);
// Batch Dice (nnU-Net's "batch dice"): the batch counts as one volume,
//   loss = 1 - (2 sum_{n,x} p t + eps) / (sum_{n,x} p + sum_{n,x} t + eps),
// so a lesion-free volume's predictions still enter the denominator, and are penalised,
// whenever the batch holds a lesion. Same arguments as soft_dice; returns a 0-dim tensor.
Tensor batch_soft_dice_loss(const Tensor& probs, const Tensor& target, int cls, double eps = 1e-5);

}  // namespace pn
