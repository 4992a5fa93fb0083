// Mixed precision through the GAN models (autograd/autocast.h rule 2): under a bf16 / fp16
// autocast scope the pix2pix generator, the PatchGAN discriminator and the lesion WGAN's
// generator hand 16-bit activations from block to block (skip concatenations, upsampling and
// dropout in 16 bits); the only activations cast back to float32 are the results of the convs
// and linears with a bias (rule 1); outputs and parameter gradients are float32. The
// lesion critic (conv + bias + LeakyReLU blocks) stays float32 between its blocks (rule 1).
// Dropout of a 16-bit tensor draws the float32 run's mask and rounds x * scale once.
#include <doctest/doctest.h>

#include <string>

#include "autocast_graph.h"
#include "autograd/autocast.h"
#include "autograd/generator.h"
#include "autograd/ops/dropout.h"
#include "autograd/ops/reduce.h"
#include "models/lesion_wgan.h"
#include "models/patchgan.h"
#include "models/pix2pix.h"

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
    // The first conv's and the last conv's results (both have a bias): no cast between blocks.
    CHECK(test::casts_from(ops, name) == 2);
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
    // Levels 1 and 2 (conv, instance norm + LeakyReLU) hand 16 bits on; casts back: the biased
    // first and last convs' results only.
    CHECK(test::casts_from(ops, name) == 2);
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
