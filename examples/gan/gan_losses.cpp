// Chapter 5: the GAN losses of models/gan_losses.h on inputs whose answers are known:
// LSGAN and WGAN values; the gradient penalty of a linear critic, (|a| - 1)^2, and its
// derivative with respect to the critic's weights, which exists only through the double
// backward (without create_graph the input gradient is a constant); gradcheck of the
// penalty of a small conv critic in its weights; the error when the critic has a batch norm;
// and SPADE's normalisation, whose scale and shift follow the label map voxel by voxel.
#include <cmath>
#include <cstdio>
#include <string>

#include "autograd/engine.h"
#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "autograd/ops/conv.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/norm.h"
#include "autograd/ops/reduce.h"
#include "examples/example_check.h"
#include "models/gan_losses.h"
#include "nn/spade_norm.h"

using namespace pn;
using pn::examples::check;
using pn::examples::close;

namespace {

Tensor f64(const std::vector<double>& v, const Shape& s) { return Tensor::from_vector(v, s, DType::Float64); }

double max_diff(const Tensor& a, const Tensor& b) {
  const auto va = a.to_vector(), vb = b.to_vector();
  double m = 0;
  for (size_t i = 0; i < va.size(); ++i) m = std::max(m, std::abs(va[i] - vb[i]));
  return m;
}

void loss_values() {
  const Tensor ones = Tensor::ones({2, 1, 3, 3}, DType::Float64), zeros = Tensor::zeros({2, 1, 3, 3}, DType::Float64);
  close(models::lsgan_discriminator_loss(ones, zeros).item(), 0.0, 0.0, "LSGAN: a perfect D (real 1, fake 0) has L_D = 0");
  close(models::lsgan_discriminator_loss(zeros, ones).item(), 1.0, 0.0, "LSGAN: a D that swaps them has L_D = (1 + 1) / 2");
  close(models::lsgan_generator_loss(ones).item(), 0.0, 0.0, "LSGAN: G has L_G = 0 when D calls every fake patch real");
  const Tensor real = f64({3, 1}, {2, 1}), fake = f64({-1, 0}, {2, 1});
  close(models::wgan_critic_loss(real, fake).item(), -2.5, 1e-15, "WGAN: L_C = mean(C(fake)) - mean(C(real)) = -0.5 - 2");
}

// C(x)_n = sum_i a_i x_{n,i}: its input gradient is a for every sample, so
// GP = (|a| - 1)^2 whatever x-hat is, and dGP/da = 2 (|a| - 1) a / |a|.
void linear_critic_penalty(Generator& gen) {
  Tensor a = Tensor::randn({1, 1, 2, 2, 2}, gen, DType::Float64).requires_grad_();
  models::Critic critic = [a](const Tensor& x) { return sum(x * a, {1, 2, 3, 4}); };
  Tensor xhat = Tensor::randn({3, 1, 2, 2, 2}, gen, DType::Float64);
  Tensor gp = models::gradient_penalty(critic, xhat);
  const double norm_a = std::sqrt(sum(square(a.detach())).item());
  close(gp.item(), (norm_a - 1) * (norm_a - 1), 1e-12, "linear critic: GP = (|a| - 1)^2");
  Tensor dgp;
  try {
    dgp = grad({gp}, {a})[0];
  } catch (const Error& e) {  // what a penalty built without create_graph gets
    std::printf("   %s\n", e.what());
  }
  Tensor want = a.detach() * (2 * (norm_a - 1) / norm_a);
  check(dgp.defined() && max_diff(dgp, want) < 1e-10, "dGP/da = 2 (|a| - 1) a / |a|: the critic's weights get a gradient from the penalty");
  // Without create_graph the input gradient is a plain number array: nothing leads back to a.
  Tensor x = xhat.detach().requires_grad_();
  Tensor g_plain = grad({sum(critic(x))}, {x})[0];
  check(!g_plain.requires_grad(), "without create_graph the gradient is a constant: a penalty on it could not train C");
}

// A small conv critic, C(x) = sum over voxels of conv(leaky_relu(conv(x, w1)), w2) per
// sample. dGP/dw from the double backward against central differences of GP itself, element
// by element (gradcheck cannot do this: it evaluates f under NoGrad, where the penalty's
// inner grad() has no graph to walk).
void conv_critic_penalty(Generator& gen) {
  Tensor w1 = Tensor::randn({2, 1, 3, 3}, gen, DType::Float64).requires_grad_();
  Tensor w2 = Tensor::randn({1, 2, 3, 3}, gen, DType::Float64).requires_grad_();
  Tensor xhat = Tensor::randn({2, 1, 6, 6}, gen, DType::Float64);
  auto penalty = [&xhat](const Tensor& a, const Tensor& b) {
    models::Critic critic = [&](const Tensor& x) {
      return sum(conv(leaky_relu(conv(x, a, {}, {1}, {1}), 0.2), b, {}, {2}, {1}), {1, 2, 3});
    };
    return models::gradient_penalty(critic, xhat);
  };
  const auto analytic = grad({penalty(w1, w2)}, {w1, w2});
  const double step = 1e-6;
  double worst = 0;
  for (int k = 0; k < 2; ++k) {
    Tensor w = (k == 0 ? w1 : w2).detach().clone();
    for (int64_t i = 0; i < w.numel(); ++i) {
      const double keep = w.data<double>()[i];
      w.data<double>()[i] = keep + step;
      const double up = (k == 0 ? penalty(w, w2) : penalty(w1, w)).item();
      w.data<double>()[i] = keep - step;
      const double down = (k == 0 ? penalty(w, w2) : penalty(w1, w)).item();
      w.data<double>()[i] = keep;
      worst = std::max(worst, std::abs((up - down) / (2 * step) - analytic[k].to_vector()[static_cast<size_t>(i)]));
    }
  }
  check(worst < 1e-6, fmt::format("conv critic: dGP/dw from the double backward matches central differences "
                                  "(max difference {:.2g})", worst));

  // The same critic with a batch norm: its backward is first-order only.
  models::Critic with_norm = [&](const Tensor& x) {
    Tensor h = batch_norm(conv(x, w1, {}, {1}, {1}), {}, {}, {}, {}, /*training=*/true);
    return sum(conv(leaky_relu(h, 0.2), w2, {}, {2}, {1}), {1, 2, 3});
  };
  std::string error;
  try {
    models::gradient_penalty(with_norm, xhat).backward();
  } catch (const Error& e) {
    error = e.what();
  }
  check(error.find("double backward of batch_norm is not supported") != std::string::npos,
        "a critic with batch norm: the penalty's backward stops with a clear error");
}

// SPADE: y = instance_norm(x) (1 + gamma(m)) + beta(m), gamma and beta two 3x3 convs deep
// in the label map m. Relabelling one voxel changes y only within 2 voxels of it.
void spade_is_spatial(Generator& gen) {
  NoGrad off;
  nn::SpadeNorm spade(4, 3, nn::SpadeNormOptions{2, 8, 3, 1e-5}, gen);
  Tensor x = Tensor::randn({1, 4, 9, 9}, gen);
  Tensor labels = Tensor::zeros({1, 3, 9, 9});
  for (int64_t i = 0; i < 81; ++i) labels.data<float>()[i] = 1;  // every voxel class 0
  Tensor relabelled = labels.clone();
  relabelled.data<float>()[4 * 9 + 4] = 0, relabelled.data<float>()[81 + 4 * 9 + 4] = 1;  // voxel (4, 4): class 1
  const auto y0 = spade.forward(x, labels).to_vector(), y1 = spade.forward(x, relabelled).to_vector();
  int changed = 0, outside = 0;
  for (int64_t c = 0; c < 4; ++c)
    for (int64_t i = 0; i < 9; ++i)
      for (int64_t j = 0; j < 9; ++j) {
        const size_t k = static_cast<size_t>((c * 9 + i) * 9 + j);
        if (y0[k] == y1[k]) continue;
        ++changed;
        if (std::abs(i - 4) > 2 || std::abs(j - 4) > 2) ++outside;
      }
  check(changed > 0 && outside == 0,
        fmt::format("SPADE: relabelling voxel (4, 4) changes {} outputs, all within the 5 x 5 window around it", changed));
}

}  // namespace

int main() {
  Generator gen(21);
  loss_values();
  linear_critic_penalty(gen);
  conv_critic_penalty(gen);
  spade_is_spatial(gen);
  return pn::examples::exit_status();
}
