// The networks with norm + activation fused (nn::Sequential's default) against the same
// networks with fusion off: the same parameter and buffer names, the fused op really in the
// graph, and outputs, running statistics and every parameter gradient equal within float
// rounding (float32; the fused op differs from the composite by ~1e-7 relative per layer).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "autograd/node.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/reduce.h"
#include "models/lesion_wgan.h"
#include "models/patchgan.h"
#include "models/pix2pix.h"
#include "models/unet.h"
#include "test_util.h"

using namespace pn;
using namespace pn::models;

namespace {

// max |a - b| / max |b|.
double relative_diff(const Tensor& a, const Tensor& b) {
  const auto vb = b.to_vector();
  double scale = 1e-30;
  for (double v : vb) scale = std::max(scale, std::abs(v));
  return test::max_abs_diff(a.to_vector(), vb) / scale;
}

// Runs loss(net) forward and backward on a fused and an unfused copy of a network (built from
// the same seed; make(aux) gets a generator for dropout or instance noise that outlives the net,
// seeded alike for both) and compares outputs, buffers and gradients.
template <class Net, class Make, class Loss>
void check_fused_matches_unfused(const char* what, Make make, Loss loss, double tol) {
  INFO(std::string(what));
  Generator aux_fused(4), aux_unfused(4);
  std::shared_ptr<Net> fused = make(aux_fused), unfused = make(aux_unfused);
  nn::set_norm_activation_fusion(*unfused, false);
  const Tensor yf = loss(*fused), yu = loss(*unfused);
  yf.backward();
  yu.backward();
  CHECK(relative_diff(yf, yu) <= tol);
  const auto pf = fused->named_parameters(), pu = unfused->named_parameters();
  REQUIRE(pf.size() == pu.size());
  for (size_t i = 0; i < pf.size(); ++i) {
    INFO(pf[i].first);
    CHECK(pf[i].first == pu[i].first);
    REQUIRE(pf[i].second.grad().defined());
    CHECK(relative_diff(pf[i].second.grad(), pu[i].second.grad()) <= tol);
  }
  const auto bf = fused->named_buffers(), bu = unfused->named_buffers();
  REQUIRE(bf.size() == bu.size());
  for (size_t i = 0; i < bf.size(); ++i) CHECK(relative_diff(bf[i].second, bu[i].second) <= tol);
}

}  // namespace

TEST_CASE("a Sequential fuses a norm with the activation after it, and only then") {
  Generator gen(5);
  DoubleConv block(2, 1, 3, gen);
  Tensor x = Tensor::randn({2, 1, 6, 6}, gen).requires_grad_();
  CHECK(block(x).grad_fn()->op == "batch_norm_act");
  CHECK(block.fuse_norm_activation());
  block.set_fuse_norm_activation(false);
  CHECK(block(x).grad_fn()->op == "relu");
  // Output shapes are recorded for both layers of a fused pair (summaries).
  block.set_fuse_norm_activation(true);
  block(x);
  CHECK(block.summary().find("5: ReLU  [0 params] -> [2, 3, 6, 6]") != std::string::npos);
  // A norm followed by something else, or a negative slope, runs on its own.
  nn::Sequential s;
  s.add(std::make_shared<nn::InstanceNorm>(1));
  s.add(std::make_shared<nn::LeakyReLU>(-0.5));
  CHECK(s(x).grad_fn()->op == "leaky_relu");
}

TEST_CASE("networks with fused norm + activation match the unfused networks (U-Net, pix2pix, PatchGAN, lesion)") {
  check_fused_matches_unfused<SegmentationUNet>(
      "3-D U-Net, depth 2",
      [](Generator&) {
        Generator gen(1);
        return std::make_shared<SegmentationUNet>(UNetConfig{3, 1, 2, 4, 2}, gen);
      },
      [](SegmentationUNet& net) {
        Generator gen(2);
        return mean(square(net.forward(Tensor::randn({2, 1, 8, 8, 8}, gen))));
      },
      2e-5);
  check_fused_matches_unfused<Pix2PixGenerator>(
      "2-D pix2pix generator",
      [](Generator& drop) {
        Generator gen(3);
        Pix2PixConfig c;
        c.label_channels = 3, c.base_filters = 4, c.depth = 3;
        return std::make_shared<Pix2PixGenerator>(c, gen, drop);
      },
      [](Pix2PixGenerator& net) {
        Generator gen(5);
        return mean(square(net.forward(Tensor::rand({2, 3, 16, 16}, gen))));
      },
      2e-5);
  check_fused_matches_unfused<PatchGan>(
      "2-D PatchGAN",
      [](Generator& noise) {
        Generator gen(6);
        PatchGanConfig c;
        c.label_channels = 3, c.filters = {4, 8, 8};
        return std::make_shared<PatchGan>(c, gen, noise);
      },
      [](PatchGan& net) {
        Generator gen(8);
        return mean(square(net.forward(Tensor::randn({2, 1, 24, 16}, gen), Tensor::rand({2, 3, 24, 16}, gen))));
      },
      2e-5);
  check_fused_matches_unfused<LesionGenerator>(
      "lesion generator",
      [](Generator&) {
        Generator gen(9);
        LesionGanConfig c;
        c.z_dim = 8, c.start = {2, 2, 2}, c.gen_filters = {4, 3}, c.mask_size = {6, 8, 8};
        return std::make_shared<LesionGenerator>(c, gen);
      },
      [](LesionGenerator& net) {
        Generator gen(10);
        return mean(square(net.forward(Tensor::randn({2, 8}, gen))));
      },
      2e-5);
}
