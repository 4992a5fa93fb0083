// Mixed precision (autograd/autocast.h, nn/grad_scaler.h): the U-Net training step in
// bf16 and fp16 against the fp32 step within stated tolerances, the loss scaler's growth,
// back-off and skipped steps on hand-made gradients (and its state through a checkpoint),
// and a WGAN-GP critic step in bf16 whose gradient penalty (double backward) is computed
// in float32.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <limits>

#include "autograd/autocast.h"
#include "autograd/engine.h"
#include "autograd/ops/conv.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/linalg.h"
#include "autograd/ops/reduce.h"
#include "models/gan_losses.h"
#include "models/seg_losses.h"
#include "models/unet.h"
#include "nn/checkpoint.h"
#include "nn/grad_scaler.h"
#include "nn/optim.h"
#include "test_util.h"

using namespace pn;

namespace {

struct StepResult {
  double loss;
  std::vector<std::vector<double>> grads;  // per parameter
  bool master_fp32 = true;                 // parameters and their gradients stayed float32
};

// One forward + backward of a small 3-D U-Net (the study's loss) at `p`, same weights and data.
StepResult unet_step(Precision p, bool channels_last = false) {
  Generator gen(5);
  models::SegmentationUNet net(
      {.dims = 3, .in_channels = 1, .classes = 2, .base_filters = 4, .depth = 2, .channels_last = channels_last}, gen);
  net.train();
  Generator data(9);
  Tensor x = Tensor::randn({2, 1, 8, 16, 16}, data);
  Tensor mask = Tensor::zeros({2, 1, 8, 16, 16});
  float* m = mask.data<float>();
  for (int64_t i = 0; i < mask.numel(); ++i) m[i] = (i % 16 > 5 && (i / 256) % 8 > 2) ? 1.0f : 0.0f;
  Tensor loss;
  {
    AutocastScope mixed(p);
    loss = models::segmentation_loss(models::SegLoss::DiceCe, net.forward(x), mask);
  }
  StepResult r{loss.item(), {}};
  r.master_fp32 = loss.dtype() == DType::Float32;
  // fp16 needs its loss scale (gradients of ~1e-7 are float16 subnormals); a fixed one here.
  const double scale = p == Precision::FP16 ? 65536.0 : 1.0;
  mul_scalar(loss, scale).backward();
  for (auto& [name, t] : net.named_parameters()) {
    r.grads.push_back(t.grad().to_vector());
    for (double& g : r.grads.back()) g /= scale;
    r.master_fp32 = r.master_fp32 && t.dtype() == DType::Float32 && t.grad().dtype() == DType::Float32;
  }
  return r;
}

}  // namespace

TEST_CASE("mixed precision: the U-Net step in bf16 and fp16, channels-first and -last, matches the fp32 step") {
  const StepResult ref = unet_step(Precision::FP32);
  // Tolerances: the loss's relative error, and the relative L2 error of all gradients
  // together. The step is sensitive: ReLU masks and max-pool winners flip under small
  // changes, so an fp32 step whose input alone is perturbed by 1e-3 (relative) moves the
  // gradients by 5.5%, by 1e-4 by 1.3%. bf16 rounds at 4e-3, fp16 at 5e-4; measured:
  // bf16 loss 4e-4, gradients 0.136; fp16 loss 6e-5, gradients 0.048.
  struct Case {
    Precision p;
    double loss_tol, grad_tol;
  };
  for (const Case c : {Case{Precision::BF16, 2e-3, 0.2}, Case{Precision::FP16, 3e-4, 0.08}}) {
    for (bool channels_last : {false, true}) {  // the channels-last step against the same fp32 reference
      CAPTURE(std::string(precision_name(c.p)));
      CAPTURE(channels_last);
      const StepResult r = unet_step(c.p, channels_last);
      CHECK(r.master_fp32);
      CHECK(std::abs(r.loss - ref.loss) <= c.loss_tol * std::abs(ref.loss));
      double worst = 0, total_diff = 0;
      std::vector<double> all, all_ref;
      for (size_t i = 0; i < ref.grads.size(); ++i) {
        worst = std::max(worst, test::rel_l2(r.grads[i], ref.grads[i]));
        total_diff += test::max_abs_diff(r.grads[i], ref.grads[i]);
        all.insert(all.end(), r.grads[i].begin(), r.grads[i].end());
        all_ref.insert(all_ref.end(), ref.grads[i].begin(), ref.grads[i].end());
      }
      const double overall = test::rel_l2(all, all_ref);
      const std::string what = std::string(precision_name(c.p)) + (channels_last ? " channels-last" : "");
      MESSAGE(what, ": loss ", r.loss, " vs ", ref.loss, "; gradient relative L2 error ", overall, " overall, ", worst,
              " in the worst parameter");
      CHECK(overall <= c.grad_tol);
      CHECK(total_diff > 0);  // the 16-bit path really ran (it rounds)
    }
  }
  // tf32 on the CPU is fp32, bit for bit.
  const StepResult t = unet_step(Precision::TF32);
  CHECK(t.loss == ref.loss);
  CHECK(t.grads == ref.grads);
}

TEST_CASE("loss scaler: growth after clean steps, back-off and a skipped step on inf, state through a checkpoint") {
  Tensor w = Tensor::from_vector(std::vector<double>{1.0, 2.0}, {2}).requires_grad_();
  nn::Sgd opt({{"w", w}}, nn::SgdOptions{.lr = 0.5});
  nn::GradScaler scaler({.enabled = true, .init_scale = 8.0, .growth_factor = 2.0, .backoff_factor = 0.5,
                         .growth_interval = 2});
  CHECK(scaler.scale(Tensor::scalar(3.0)).item() == 24.0);
  // A scaled gradient (as backward of scale(loss) gives): 8 * [1, -2].
  w.set_grad(Tensor::from_vector(std::vector<double>{8.0, -16.0}, {2}));
  CHECK(scaler.step(opt));
  CHECK(w.to_vector() == std::vector<double>{0.5, 3.0});  // w - 0.5 * [1, -2]: unscaled before the step
  CHECK(scaler.scale() == 8.0);
  CHECK(scaler.clean_steps() == 1);
  w.set_grad(Tensor::from_vector(std::vector<double>{0.0, 8.0}, {2}));
  CHECK(scaler.step(opt));
  CHECK(w.to_vector() == std::vector<double>{0.5, 2.5});
  CHECK(scaler.scale() == 16.0);  // 2 clean steps: grows
  CHECK(scaler.clean_steps() == 0);
  // An overflowed gradient: the step is skipped (w unchanged), the scale halves, counted.
  w.set_grad(Tensor::from_vector(std::vector<double>{std::numeric_limits<double>::infinity(), 1.0}, {2}));
  CHECK_FALSE(scaler.step(opt));
  CHECK(w.to_vector() == std::vector<double>{0.5, 2.5});
  CHECK(opt.steps() == 2);
  CHECK(scaler.scale() == 8.0);
  CHECK(scaler.skipped() == 1);
  w.set_grad(Tensor::from_vector(std::vector<double>{std::nan(""), 1.0}, {2}));
  CHECK_FALSE(scaler.step(opt));
  CHECK(scaler.scale() == 4.0);
  CHECK(scaler.skipped() == 2);
  // Disabled (bf16, fp32): the loss passes through and every step is taken.
  nn::GradScaler off({.enabled = false});
  CHECK(off.scale(Tensor::scalar(3.0)).item() == 3.0);
  w.set_grad(Tensor::from_vector(std::vector<double>{1.0, 1.0}, {2}));
  CHECK(off.step(opt));
  CHECK(w.to_vector() == std::vector<double>{0.0, 2.0});

  // The state goes into a checkpoint and comes back exactly.
  const auto path = std::filesystem::temp_directory_path() / "pn_test_scaler.safetensors";
  Generator init(1);
  nn::Linear dummy(1, 1, init);
  nn::save_checkpoint(path.string(), {{{"m", &dummy}}, {}, {}, {{"opt", &scaler}}}, {1, 0, {}});
  nn::GradScaler back;
  nn::load_checkpoint(path.string(), {{{"m", &dummy}}, {}, {}, {{"opt", &back}}});
  CHECK(back.scale() == 4.0);
  CHECK(back.skipped() == 2);
  CHECK(back.state() == scaler.state());
  std::filesystem::remove(path);
  CHECK_THROWS_WITH_AS(back.set_state("many", "somewhere"), doctest::Contains("somewhere"), Error);
}

namespace {

// The small WGAN-GP critic of tests/ops_nn/test_wgan_gp.cpp: conv stride 2, leaky ReLU,
// linear. w = {conv weight, conv bias, linear weight, linear bias}.
Tensor critic(const Tensor& x, const std::vector<Tensor>& w) {
  Tensor h = leaky_relu(conv(x, w[0], w[1], {2}, {1}), 0.2);
  return linear(h.flatten(1), w[2], w[3]);
}

struct GpResult {
  double penalty;
  std::vector<std::vector<double>> grads;
  bool fp32_penalty;
};

GpResult critic_penalty_step(Precision p) {
  Generator gen(51);
  const int64_t n = 2, c = 3;
  Tensor x_hat = Tensor::randn({n, 1, 5, 5, 5}, gen).requires_grad_();
  std::vector<Tensor> w = {mul_scalar(Tensor::randn({c, 1, 3, 3, 3}, gen), 0.4), mul_scalar(Tensor::randn({c}, gen), 0.1),
                           mul_scalar(Tensor::randn({1, c * 27}, gen), 0.3), mul_scalar(Tensor::randn({1}, gen), 0.1)};
  for (auto& t : w) t = t.detach().requires_grad_();
  Tensor penalty;
  {
    AutocastScope mixed(p);
    Tensor d = critic(x_hat, w);
    Tensor g = grad({sum(d)}, {x_hat}, {}, true)[0];  // through the bf16 convolutions' backward
    Tensor norm = sqrt(sum(square(g), {1, 2, 3, 4}));
    penalty = mean(square(add_scalar(norm, -1.0)));
    CHECK(g.dtype() == DType::Float32);
  }
  GpResult r{penalty.item(), {}, penalty.dtype() == DType::Float32};
  penalty.backward();  // double backward: d penalty / d weights
  for (auto& t : w) r.grads.push_back(t.grad().defined() ? t.grad().to_vector() : std::vector<double>{});
  return r;
}

}  // namespace

TEST_CASE("mixed precision: a WGAN-GP critic step in bf16, its gradient penalty in float32 (double backward)") {
  const GpResult ref = critic_penalty_step(Precision::FP32);
  const GpResult bf = critic_penalty_step(Precision::BF16);
  CHECK(bf.fp32_penalty);
  CHECK(std::abs(bf.penalty - ref.penalty) <= 2e-2 * std::abs(ref.penalty));
  for (size_t i : {0, 2}) {  // the conv and linear weights (the biases get 0: leaky ReLU is piecewise linear)
    CAPTURE(i);
    CHECK(test::rel_l2(bf.grads[i], ref.grads[i]) <= 5e-2);
    CHECK(test::max_abs_diff(bf.grads[i], ref.grads[i]) > 0);
  }
}

namespace {
// ∇_x Σ C(x) of the small critic with its scores multiplied by 1e-7 (a critic early in
// training, or one whose scores are small): gradients ~1e-8, under float16's smallest number.
Tensor small_critic_gradient(Precision p, double inner_scale) {
  Generator gen(52);
  Tensor x_hat = Tensor::randn({2, 1, 5, 5, 5}, gen);
  std::vector<Tensor> w = {mul_scalar(Tensor::randn({3, 1, 3, 3, 3}, gen), 0.4), mul_scalar(Tensor::randn({3}, gen), 0.1),
                           mul_scalar(Tensor::randn({1, 81}, gen), 0.3), mul_scalar(Tensor::randn({1}, gen), 0.1)};
  AutocastScope mixed(p);
  const models::Critic small = [&w](const Tensor& x) { return mul_scalar(critic(x, w), 1e-7); };
  return models::critic_input_gradient(small, x_hat, inner_scale);
}
}  // namespace

TEST_CASE("mixed precision: the gradient penalty's inner gradient in fp16 survives when scaled (inner_scale)") {
  const std::vector<double> ref = small_critic_gradient(Precision::FP32, 1.0).to_vector();
  // float32: scaling and unscaling changes nothing but rounding.
  CHECK(test::rel_l2(small_critic_gradient(Precision::FP32, 65536.0).to_vector(), ref) <= 1e-6);
  // float16 without scaling: the critic's 16-bit backward flushes the gradient (mostly) to 0.
  const Tensor flushed = small_critic_gradient(Precision::FP16, 1.0);
  CHECK(flushed.dtype() == DType::Float32);
  CHECK(test::rel_l2(flushed.to_vector(), ref) >= 0.5);
  // float16 with the scaler's default scale: float16's rounding only (measured: relative
  // error 0.86 unscaled, 4e-4 scaled).
  CHECK(test::rel_l2(small_critic_gradient(Precision::FP16, 65536.0).to_vector(), ref) <= 1e-2);
  CHECK_THROWS_WITH_AS(small_critic_gradient(Precision::FP16, 0.0), doctest::Contains("inner_scale 0"), Error);
}
