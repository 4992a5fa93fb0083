// Mixed precision through the GAN models (autograd/autocast.h rules 1b and 2): under a bf16 /
// fp16 autocast scope the pix2pix generator, the PatchGAN discriminator, the lesion WGAN's
// generator and critic and the SPADE generator hand 16-bit activations from block to block
// (skip concatenations, upsampling, dropout, biased convs followed by an activation and SPADE's
// x̂ · (1 + γ) + β in 16 bits); the only activations cast back to float32 are the outputs of the
// networks' last blocks and the results of linears; outputs and parameter gradients are float32.
// The lesion critic's WGAN-GP loss (double backward through its 16-bit blocks) and SPADE's
// output agree with float32 within stated tolerances.
// Dropout of a 16-bit tensor draws the float32 run's mask and rounds x * scale once.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "autocast_graph.h"
#include "autograd/autocast.h"
#include "autograd/generator.h"
#include "autograd/ops/dropout.h"
#include "autograd/ops/reduce.h"
#include "models/gan_losses.h"
#include "models/lesion_wgan.h"
#include "models/patchgan.h"
#include "models/pix2pix.h"
#include "models/spade_generator.h"
#include "test_util.h"

using namespace pn;

namespace {

// Every node of `op` in ops read only 16-bit tensors of dtype `name`.
void check_all_16bit(std::map<std::string, std::vector<std::string>>& ops, const char* op, const std::string& name,
                     size_t count) {
  INFO(op);
  REQUIRE(ops[op].size() == count);
  for (const std::string& in : ops[op]) {
    INFO(in);
    CHECK(in.rfind(name + "[", 0) == 0);
    CHECK(in.find("float32") == std::string::npos);
  }
}

// How many nodes of `op` in ops read a tensor of dtype `name` first.
size_t count_16bit(std::map<std::string, std::vector<std::string>>& ops, const char* op, const std::string& name) {
  size_t n = 0;
  for (const std::string& in : ops[op]) n += in.rfind(name + "[", 0) == 0;
  return n;
}

void check_float32_grads(nn::Module& m) {
  for (const auto& [pname, p] : m.named_parameters()) {
    INFO(pname);
    REQUIRE(p.grad().defined());
    CHECK(p.grad().dtype() == DType::Float32);
  }
}

}  // namespace

TEST_CASE("dropout of a 16-bit tensor: the float32 run's mask, x * scale rounded once, in 16 bits") {
  for (DType t : {DType::BFloat16, DType::Float16}) {
    INFO(dtype_name(t));
    Generator data(11), g32(12), g16(12);
    const Tensor x = Tensor::randn({3, 57}, data).to(t).detach().requires_grad_(true);
    const Tensor x32 = x.to(DType::Float32).detach().requires_grad_(true);
    Tensor y32 = dropout(x32, 0.3, g32, true), y16 = dropout(x, 0.3, g16, true);
    REQUIRE(y16.dtype() == t);
    CHECK(y16.to(DType::Float32).to_vector() == y32.to(t).to(DType::Float32).to_vector());
    int dropped = 0;
    for (double v : y16.to(DType::Float32).to_vector()) dropped += v == 0.0;
    CHECK(dropped > 171 / 5);  // about 30 % of 171
    CHECK(dropped < 171 / 2);
    sum(y16.to(DType::Float32)).backward(), sum(y32).backward();
    REQUIRE(x.grad().dtype() == t);
    CHECK(x.grad().to(DType::Float32).to_vector() == x32.grad().to(t).to(DType::Float32).to_vector());
  }
}

TEST_CASE("autocast keeps pix2pix's generator 16-bit through its skips, upsampling and dropout") {
  for (DType t : {DType::BFloat16, DType::Float16}) {
    const std::string name = dtype_name(t);
    INFO(name);
    Generator gen(1806), drop(7);
    models::Pix2PixGenerator net({.dims = 2, .label_channels = 3, .out_channels = 1, .base_filters = 4,
                                  .max_filters = 8, .depth = 3},
                                 gen, drop);
    net.train();
    const Tensor labels = Tensor::randn({2, 3, 16, 16}, gen);
    Tensor y;
    {
      AutocastScope mixed(t);
      y = net.forward(labels);
    }
    CHECK(y.dtype() == DType::Float32);
    auto ops = test::ops_of(y);
    check_all_16bit(ops, "concat", name, 2);            // encoder skip + decoder level
    check_all_16bit(ops, "upsample_nearest", name, 3);  // two decoder levels and the output level
    check_all_16bit(ops, "mul_scalar", name, 2);        // dropout's scale, one per decoder level
    // The output level's result only: the first level's biased conv adds its bias in 16 bits
    // (rule 1b), so nothing is cast between blocks.
    CHECK(test::casts_from(ops, name) == 1);
    sum(y).backward();
    check_float32_grads(net);
  }
}

TEST_CASE("autocast keeps the PatchGAN discriminator 16-bit between its normalised levels") {
  for (DType t : {DType::BFloat16, DType::Float16}) {
    const std::string name = dtype_name(t);
    INFO(name);
    Generator gen(1807), noise(8);
    models::PatchGan net({.dims = 2, .image_channels = 1, .label_channels = 3, .filters = {4, 8, 8}}, gen, noise);
    net.train();
    const Tensor image = Tensor::randn({2, 1, 32, 32}, gen), labels = Tensor::randn({2, 3, 32, 32}, gen);
    Tensor scores;
    {
      AutocastScope mixed(t);
      scores = net.forward(image, labels);
    }
    CHECK(scores.dtype() == DType::Float32);
    auto ops = test::ops_of(scores);
    // Levels 1 and 2 (conv, instance norm + LeakyReLU) hand 16 bits on, and so does level 0,
    // whose biased conv adds its bias in 16 bits (rule 1b); cast back: the last conv's scores.
    CHECK(test::casts_from(ops, name) == 1);
    sum(scores).backward();
    check_float32_grads(net);
  }
}

TEST_CASE("autocast keeps the lesion WGAN generator 16-bit from block to block") {
  for (DType t : {DType::BFloat16, DType::Float16}) {
    const std::string name = dtype_name(t);
    INFO(name);
    Generator gen(1808);
    models::LesionGanConfig cfg;
    cfg.z_dim = 8, cfg.start = {2, 2, 2}, cfg.gen_filters = {8, 4, 4}, cfg.mask_size = {8, 16, 16};
    cfg.out_kernel = 3;
    models::LesionGenerator net(cfg, gen);
    net.train();
    const Tensor z = Tensor::randn({2, 8}, gen);
    Tensor y;
    {
      AutocastScope mixed(t);
      y = net.forward(z);
    }
    CHECK(y.dtype() == DType::Float32);
    auto ops = test::ops_of(y);
    check_all_16bit(ops, "upsample_nearest", name, 3);
    // The linear's result (rule 1: float32 out, bias in float32) and the output conv's: none
    // between the blocks.
    CHECK(test::casts_from(ops, name) == 2);
    sum(y).backward();
    check_float32_grads(net);
  }
}

namespace {

models::LesionGanConfig small_critic_config() {
  models::LesionGanConfig cfg;
  cfg.mask_size = {8, 16, 16}, cfg.critic_filters = {4, 8, 8}, cfg.critic_dense = 16;
  return cfg;
}

// The lesion critic's WGAN-GP loss at precision t (Float32: no autocast) on fixed data, its
// parameters' gradients after the double backward, and the graph of its scores.
struct CriticGp {
  std::vector<double> scores, input_gradient;  // C(real); ∇x Σ C at x̂, as GP sees it
  std::vector<std::vector<double>> grads;
  std::map<std::string, std::vector<std::string>> score_ops;
};
CriticGp lesion_critic_gp(DType t) {
  Generator gen(1809);
  models::LesionCritic net(small_critic_config(), gen);
  const Tensor real = Tensor::rand({2, 1, 8, 16, 16}, gen), fake = Tensor::rand({2, 1, 8, 16, 16}, gen);
  const Tensor eps = Tensor::rand({2, 1, 1, 1, 1}, gen);
  const models::Critic critic = [&net](const Tensor& x) { return net.forward(x); };
  CriticGp r;
  Tensor loss;
  {
    AutocastScope mixed(t);
    const Tensor scores = net.forward(real);
    r.score_ops = test::ops_of(scores);
    r.scores = scores.to_vector();
    // float16 scales the penalty's inner backward, as maskgan train does with its loss scaler's
    // scale (gan_losses.h); without it the critic's small input gradients flush (relative error
    // 0.044), with the scaler's first scale, 2^16, they overflow here (the scaler would back off).
    const double inner_scale = t == DType::Float16 ? 256.0 : 1.0;
    r.input_gradient =
        models::critic_input_gradient(critic, models::wgan_interpolate(real, fake, eps), inner_scale).to_vector();
    loss = models::wgan_gp_critic_loss(critic, real, fake, eps, 10.0, inner_scale).loss;
  }
  REQUIRE(loss.dtype() == DType::Float32);
  loss.backward();  // double backward through the penalty's inner gradient
  check_float32_grads(net);
  for (const auto& [pname, p] : net.named_parameters()) r.grads.push_back(p.grad().to_vector());
  return r;
}

}  // namespace

TEST_CASE("autocast keeps the lesion critic 16-bit between its biased conv blocks; its WGAN-GP loss agrees with "
          "float32") {
  const CriticGp ref = lesion_critic_gp(DType::Float32);
  for (DType t : {DType::BFloat16, DType::Float16}) {
    const std::string name = dtype_name(t);
    INFO(name);
    CriticGp r = lesion_critic_gp(t);
    // Each block's conv adds its bias in 16 bits and hands 16 bits to its LeakyReLU and on to the
    // next block (rule 1b); the one cast back is the last block's output, to the dense layers.
    CHECK(count_16bit(r.score_ops, "leaky_relu", name) == 3);
    CHECK(count_16bit(r.score_ops, "add", name) == 3);  // the three biases
    CHECK(test::casts_from(r.score_ops, name) == 3);  // and the two linears' results (rule 1)
    // Relative l2 errors against float32. Measured (bf16 / fp16): scores 1.0e-2 / 2.1e-3, GP's
    // inner gradient 2.2e-2 / 6.7e-4, parameter gradients after the double backward up to
    // 0.18 / 0.017 (the first blocks' biases, whose gradient is a small difference of the real
    // and fake terms). The float32-between-blocks rule before 1b measured the same.
    const bool bf16 = t == DType::BFloat16;
    CHECK(test::rel_l2(r.scores, ref.scores) <= (bf16 ? 3e-2 : 5e-3));
    CHECK(test::rel_l2(r.input_gradient, ref.input_gradient) <= (bf16 ? 4e-2 : 3e-3));
    REQUIRE(r.grads.size() == ref.grads.size());
    for (size_t i = 0; i < r.grads.size(); ++i) {
      CAPTURE(i);
      CHECK(test::rel_l2(r.grads[i], ref.grads[i]) <= (bf16 ? 0.3 : 0.03));
    }
  }
}

TEST_CASE("autocast runs SPADE's normalisations and residual blocks in 16 bits") {
  const models::SpadeConfig cfg{.dims = 2, .out_size = {16, 16}, .z_dim = 8, .label_channels = 3, .out_channels = 1,
                                .filters = {8, 4}, .hidden = 4, .out_kernel = 3};
  Generator data(1810);
  const Tensor z = Tensor::randn({2, 8}, data), labels = Tensor::rand({2, 3, 16, 16}, data);
  Generator g32(1811);
  models::SpadeGenerator ref_net(cfg, g32);
  const std::vector<double> ref = ref_net.forward(z, labels).to_vector();
  for (DType t : {DType::BFloat16, DType::Float16}) {
    const std::string name = dtype_name(t);
    INFO(name);
    Generator gen(1811);
    models::SpadeGenerator net(cfg, gen);
    Tensor y;
    {
      AutocastScope mixed(t);
      y = net.forward(z, labels);
    }
    CHECK(y.dtype() == DType::Float32);
    auto ops = test::ops_of(y);
    // Five SPADE norms (two per block, one shortcut where 8 -> 4 channels): x̂ and the product
    // x̂ · (1 + γ) in 16 bits, with γ and β from convs that add their biases in 16 bits.
    check_all_16bit(ops, "instance_norm", name, 5);
    check_all_16bit(ops, "mul", name, 5);
    check_all_16bit(ops, "upsample_nearest", name, 2);
    // The fc's result (rule 1; cast once more to enter the first block) and the output conv's:
    // nothing between.
    CHECK(test::casts_from(ops, name) == 2);
    // Measured: relative l2 error 7.3e-3 (bf16) / 1.0e-3 (fp16).
    CHECK(test::rel_l2(y.to_vector(), ref) <= (t == DType::BFloat16 ? 3e-2 : 4e-3));
    sum(y).backward();
    check_float32_grads(net);
  }
}
