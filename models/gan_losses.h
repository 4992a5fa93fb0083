// The GAN losses of the study, each one named function with its formula, used by the
// trainers (experiments/), the PyTorch golden test, the benchmarks and the GPU checks, so
// that there is one definition of each. D is the conditional PatchGAN (pix2pix, SPADE),
// C the lesion WGAN's critic, G a generator; a "scores" tensor is D's or C's output for a
// batch, of any shape (PatchGAN: one score per patch). Every loss is a mean over all of
// its elements and returns a 0-dim tensor on the scores' device; all are written with
// differentiable ops, so they have second derivatives.
#pragma once
#include <functional>

#include "autograd/tensor.h"

namespace pn::models {

// Least-squares GAN (Mao et al. 2017), discriminator: real pairs towards 1, generated ones
// towards 0:  L_D = ½ [ mean((D(x, y) − 1)²) + mean(D(G(x), y)²) ].
Tensor lsgan_discriminator_loss(const Tensor& real_scores, const Tensor& fake_scores);
// Least-squares GAN, generator: L_G = mean((D(G(x), y) − 1)²).
Tensor lsgan_generator_loss(const Tensor& fake_scores);
// L1 reconstruction (pix2pix): mean |G(x) − y| over every voxel of the batch.
Tensor l1_reconstruction_loss(const Tensor& generated, const Tensor& real);

// WGAN critic (Arjovsky et al. 2017): L_C = mean(C(G(z))) − mean(C(x)) = −W, where
// W = mean(C(x)) − mean(C(G(z))) estimates the Wasserstein distance.
Tensor wgan_critic_loss(const Tensor& real_scores, const Tensor& fake_scores);
// WGAN generator: L_G = −mean(C(G(z))).
Tensor wgan_generator_loss(const Tensor& fake_scores);

// Mask presence (not in the paper; maskgan.presence_weight): a penalty on generated masks that
// threshold to nothing. A sparse mask's WGAN critic cannot push an empty output away (the empty
// mask is near every small real lesion), and about 40 % of the small preset's samples came out
// empty. With s_v = σ(k·(x_v − t)) a soft count of voxel v above the threshold t (k = 10: a
// voxel 0.3 above t counts 0.95, 0.3 below 0.05), S_n = Σ_v s_v the soft volume of sample n
// and m the smallest real lesion (maskgan.min_lesion_voxels):
//   L_presence = mean_n max(0, 1 − S_n / m).
// Zero for every sample with at least m voxels' worth above t, so it leaves non-empty masks to
// the critic; in an empty one it raises the voxels nearest the threshold most (σ′ peaks at t).
Tensor mask_presence_loss(const Tensor& masks, double threshold, double min_voxels);
// Mask presence on the peak (maskgan.presence_kind = "peak"): the same aim, but the push goes
// to an empty sample's strongest voxels instead of to every voxel near the threshold (which
// with signed-distance masks grew specks scattered over the brain and doubled the extent).
// With M_n = 1 + (1/β) log Σ_v exp(β (x_v − 1)) the log-sum-exp soft maximum of sample n
// (β = 20; x_v ≤ 1, a tanh output, so nothing overflows; max_v x_v ≤ M_n ≤ max_v x_v +
// ln(V)/β) and δ = 0.5 the margin the peak must clear:
//   L_peak = mean_n max(0, t + δ − M_n),
// whose gradient in sample n is −softmax(β x_n) / N while its peak is below t + δ: it
// raises the highest voxels most (one at e^−2 of the top weight lies 0.1 below it), so an
// empty mask grows its strongest candidate lesion. Zero for samples with a clear peak.
Tensor mask_peak_presence_loss(const Tensor& masks, double threshold);

// The points the gradient penalty is taken at: x̂ = ε·x + (1 − ε)·G(z), ε of shape
// [N, 1, 1, ...] (one weight per sample, broadcast over the voxels); detached.
Tensor wgan_interpolate(const Tensor& real, const Tensor& fake, const Tensor& eps);
// Gradient penalty (Gulrajani et al. 2017): GP = mean_n ( ‖∇_x̂ C(x̂)_n‖₂ − 1 )², the norm over
// all of sample n's voxels, as sqrt(Σ g² + 1e-12) (the 1e-12 keeps the derivative of the
// square root finite at g = 0). The gradient is taken with create_graph, so GP itself is
// differentiable with respect to C's weights (a double backward through C).
//
// In float16 (run.precision = fp16) the critic's backward runs in 16 bits, whose smallest
// number is ~6e-8: an input gradient smaller than that flushes to zero and GP reads ‖0‖ = 0
// ("every gradient is 0, push it to norm 1") whatever the critic does. As PyTorch's AMP recipe
// for gradient penalties, `inner_scale` (the loss scaler's scale) multiplies the summed scores
// before the inner backward and divides the gradient after it, in float32: the same g, with
// the 16-bit passes in range (the gradient comes back in x̂'s dtype through the recorded casts). An inner_scale too large for float16 gives inf in g, so in the
// loss; the scaler then skips the step and halves its scale (nn/grad_scaler.h), as for the
// outer backward. inner_scale = 1 is the plain gradient (float32, bfloat16).
using Critic = std::function<Tensor(const Tensor&)>;
// ∇_x Σ_n C(x)_n at x = xhat, recorded (create_graph): the gradient GP takes the norm of.
Tensor critic_input_gradient(const Critic& critic, const Tensor& xhat, double inner_scale = 1.0);
Tensor gradient_penalty(const Critic& critic, const Tensor& xhat, double inner_scale = 1.0);

// One critic objective of WGAN-GP: loss = L_C + λ·GP at x̂ = wgan_interpolate(real, fake, eps).
struct WganGpCriticLoss {
  Tensor loss;         // what the critic minimises
  Tensor wasserstein;  // W = −L_C (for logging)
  Tensor penalty;      // GP, unweighted
};
WganGpCriticLoss wgan_gp_critic_loss(const Critic& critic, const Tensor& real, const Tensor& fake, const Tensor& eps,
                                     double gp_weight, double inner_scale = 1.0);

// The translators' generator objective (pix2pix, SPADE): loss = L_G(LSGAN) + λ·L1.
struct TranslationGeneratorLoss {
  Tensor loss;  // what the generator minimises
  Tensor gan;   // L_G, unweighted
  Tensor l1;    // L1, unweighted
};
TranslationGeneratorLoss translation_generator_loss(const Tensor& fake_scores, const Tensor& generated,
                                                    const Tensor& real, double l1_weight);

}  // namespace pn::models
