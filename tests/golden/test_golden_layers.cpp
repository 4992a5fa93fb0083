// Each layer type alone against PyTorch (fixtures "layer_*" from tools/golden): forward
// output and the gradients of sum(out * r) w.r.t. the input(s) and every parameter, on
// odd sizes, 2-D and 3-D, including Keras "same" padding and batch norm in both modes.
#include <doctest/doctest.h>

#include <functional>
#include <memory>

#include "autograd/ops/reduce.h"
#include "golden_util.h"
#include "nn/layers.h"
#include "nn/spade_norm.h"

using namespace pn;
using namespace pn::nn;
using namespace pn::golden;

namespace {

// A layer under the name "layer" (PyTorch side: Wrap in make_fixtures.py).
template <class L>
struct Holder : Module {
  std::shared_ptr<L> layer;
  explicit Holder(std::shared_ptr<L> l) : layer(register_module("layer", std::move(l))) {}
  std::string describe() const override { return "Holder"; }
};

void check_layer(const std::string& name, Module& m, int n_inputs, bool train,
                 const std::function<Tensor(const std::vector<Tensor>&)>& fwd) {
  INFO("fixture " << name);
  auto f = load_fixture(name + (train ? "_train" : "_eval"));
  load_weights(m, f, "w.");
  m.train(train);
  std::vector<Tensor> ins;
  for (int i = 0; i < n_inputs; ++i) ins.push_back(get32(f, "in" + std::to_string(i)).requires_grad_());
  Tensor out = fwd(ins);
  CHECK(rel_error(out, get(f, "out")) < kTol);
  sum(out * get32(f, "r")).backward();
  for (int i = 0; i < n_inputs; ++i) CHECK(rel_error(ins[i].grad(), get(f, "grad.in" + std::to_string(i))) < kTol);
  for (auto& [pname, p] : m.named_parameters()) CHECK_MESSAGE(rel_error(p.grad(), get(f, "grad." + pname)) < kTol, pname);
  for (auto& [bname, b] : m.named_buffers()) CHECK_MESSAGE(rel_error(b, get(f, "after." + bname)) < kTol, bname);
}

template <class L>
void check_unary(const std::string& name, std::shared_ptr<L> layer, bool train = true) {
  Holder<L> h(layer);
  check_layer(name, h, 1, train, [&](const std::vector<Tensor>& in) { return h.layer->forward(in[0]); });
}

}  // namespace

TEST_CASE("convolutions, transposed convolutions and linear layers match PyTorch") {
  Generator gen(1);
  check_unary(
      "layer_conv2d",
      std::make_shared<Conv>(3, 4, ConvOptions{.dims = 2, .kernel = 3, .stride = 1, .padding = 1, .bias = true}, gen));
  check_unary(
      "layer_conv3d_s2",
      std::make_shared<Conv>(2, 3, ConvOptions{.dims = 3, .kernel = 3, .stride = 2, .padding = 1, .bias = true}, gen));
  check_unary("layer_conv2d_same_k4", std::make_shared<Conv>(2, 3,
                                                             ConvOptions{.dims = 2,
                                                                         .kernel = 4,
                                                                         .stride = 1,
                                                                         .padding = 0,
                                                                         .bias = false,
                                                                         .init = Init::he_normal(),
                                                                         .same = true},
                                                             gen));
  check_unary(
      "layer_conv3d_same_k5_s2",
      std::make_shared<Conv>(
          1, 2,
          ConvOptions{
              .dims = 3, .kernel = 5, .stride = 2, .padding = 0, .bias = true, .init = Init::he_normal(), .same = true},
          gen));
  check_unary("layer_convT2d_k2",
              std::make_shared<ConvTranspose>(
                  3, 2, ConvOptions{.dims = 2, .kernel = 2, .stride = 2, .padding = 0, .bias = false}, gen));
  check_unary("layer_convT3d_k2",
              std::make_shared<ConvTranspose>(
                  2, 3, ConvOptions{.dims = 3, .kernel = 2, .stride = 2, .padding = 0, .bias = false}, gen));
  check_unary("layer_linear", std::make_shared<Linear>(7, 5, gen));
}

TEST_CASE("batch norm (training and eval), instance norm and the SPADE norm match PyTorch") {
  Generator gen(2);
  check_unary("layer_batchnorm", std::make_shared<BatchNorm>(3), true);
  check_unary("layer_batchnorm", std::make_shared<BatchNorm>(3), false);
  check_unary("layer_instancenorm", std::make_shared<InstanceNorm>(3));
  Holder<SpadeNorm> h(std::make_shared<SpadeNorm>(3, 4, SpadeNormOptions{2, 5, 3, 1e-5}, gen));
  check_layer("layer_spadenorm", h, 2, true, [&](const std::vector<Tensor>& in) { return h.layer->forward(in[0], in[1]); });
}

TEST_CASE("activations, max-pooling and upsampling match PyTorch") {
  check_unary("layer_leakyrelu", std::make_shared<LeakyReLU>(0.02));
  check_unary("layer_relu", std::make_shared<ReLU>());
  check_unary("layer_tanh", std::make_shared<Tanh>());
  check_unary("layer_maxpool3d", std::make_shared<MaxPool>(2));
  check_unary("layer_upsample2d", std::make_shared<Upsample>(2));
}
