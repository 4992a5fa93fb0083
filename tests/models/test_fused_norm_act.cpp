// The networks with norm + activation fused (nn::Sequential's default) against the same
// networks with fusion off, and pix2pix with its upsampling convolutions in polyphase form
// against upsample-then-convolve: the same parameter and buffer names, the fused op really in the
// graph, and outputs, running statistics and every parameter gradient equal within float
// rounding (float32; the fused op differs from the composite by ~1e-7 relative per layer).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "autograd/autocast.h"
#include "autograd/node.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/reduce.h"
#include "models/lesion_wgan.h"
#include "models/patchgan.h"
#include "models/pix2pix.h"
#include "models/spade_generator.h"
#include "nn/spade_norm.h"
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
// switch_off(net) turns the fusion under test off (default: norm + activation).
template <class Net, class Make, class Loss>
void check_fused_matches_unfused(const char* what, Make make, Loss loss, double tol,
                                 void (*switch_off)(nn::Module&, bool) = nn::set_norm_activation_fusion) {
  INFO(std::string(what));
  Generator aux_fused(4), aux_unfused(4);
  std::shared_ptr<Net> fused = make(aux_fused), unfused = make(aux_unfused);
  switch_off(*unfused, false);
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

// The op that made y, and the ops below it along first inputs, to depth n.
std::vector<std::string> first_ops(const Tensor& y, int n) {
  std::vector<std::string> ops;
  for (std::shared_ptr<Node> f = y.grad_fn(); f && n-- > 0; f = f->edges.empty() ? nullptr : f->edges[0].fn)
    ops.push_back(f->op);
  return ops;
}

TEST_CASE("a Sequential runs Upsample + stride-1 same Conv in polyphase form where it pays, and only then") {
  Generator gen(11);
  nn::Sequential s;
  s.add(std::make_shared<nn::Upsample>(2));
  s.add(std::make_shared<nn::Conv>(3, 4, nn::ConvOptions{2, 4, 1, 0, true, nn::Init::normal002(), true}, gen));
  Tensor big = Tensor::randn({1, 3, 16, 16}, gen).requires_grad_();  // 256 small-grid voxels: pays
  Tensor small = Tensor::randn({2, 3, 8, 8}, gen).requires_grad_();  // 128: it does not
  CHECK(first_ops(s(big), 1) == std::vector<std::string>{"pixel_shuffle"});
  CHECK(s(big).shape() == Shape{1, 4, 32, 32});
  CHECK(s.summary().find("0: Upsample(nearest x2)  [0 params] -> [1, 3, 32, 32]") != std::string::npos);
  CHECK(first_ops(s(small), 2) != std::vector<std::string>{"pixel_shuffle", "conv"});
  CHECK(first_ops(s(small), 1) != std::vector<std::string>{"pixel_shuffle"});
  s.set_fuse_upsample_conv(false);
  CHECK(first_ops(s(big), 1) != std::vector<std::string>{"pixel_shuffle"});
  // Stride 2, or a kernel without a polyphase form (2), runs upsample then convolve.
  for (int k : {2, 4}) {
    nn::Sequential t;
    t.add(std::make_shared<nn::Upsample>(2));
    t.add(std::make_shared<nn::Conv>(3, 4, nn::ConvOptions{2, k, k == 4 ? 2 : 1, 0, true, nn::Init::normal002(), true},
                                     gen));
    CHECK(first_ops(t(big), 1) != std::vector<std::string>{"pixel_shuffle"});
  }
}

TEST_CASE("pix2pix with polyphase upsampling convolutions matches upsample-then-convolve (2-D and 3-D)") {
  for (int dims : {2, 3}) {
    check_fused_matches_unfused<Pix2PixGenerator>(
        dims == 2 ? "2-D pix2pix generator, 64x64" : "3-D pix2pix generator, 16x16x16",
        [dims](Generator& drop) {
          Generator gen(12);
          Pix2PixConfig c;
          c.dims = dims, c.label_channels = 3, c.base_filters = 4, c.depth = 3;
          return std::make_shared<Pix2PixGenerator>(c, gen, drop);
        },
        [dims](Pix2PixGenerator& net) {
          Generator gen(13);
          const Shape in = dims == 2 ? Shape{1, 3, 64, 64} : Shape{1, 3, 16, 16, 16};
          return mean(square(net.forward(Tensor::rand(in, gen))));
        },
        2e-5, nn::set_upsample_conv_fusion);
  }
  // The polyphase form is really taken: the last step (up x2 from 32x32, conv, tanh) by default,
  // not with polyphase_upsampling off.
  for (bool on : {true, false}) {
    Generator gen(14), drop(15);
    Pix2PixConfig c;
    c.label_channels = 3, c.base_filters = 4, c.depth = 3, c.polyphase_upsampling = on;
    Pix2PixGenerator net(c, gen, drop);
    const Tensor y = net.forward(Tensor::rand({1, 3, 64, 64}, gen).requires_grad_());
    CHECK((first_ops(y, 2) == std::vector<std::string>{"tanh", "pixel_shuffle"}) == on);
  }
  // Under a bfloat16 autocast scope (16-bit activations handed between the layers, autocast.h
  // rule 1b): the polyphase network agrees with the plain one within bfloat16's precision.
  Tensor y16[2];
  for (bool on : {true, false}) {
    Generator gen(16), drop(17);
    Pix2PixConfig c;
    c.label_channels = 3, c.base_filters = 4, c.depth = 3, c.polyphase_upsampling = on;
    Pix2PixGenerator net(c, gen, drop);
    net.eval();
    const AutocastScope bf16(DType::BFloat16);
    y16[on] = net.forward(Tensor::rand({1, 3, 64, 64}, gen));
  }
  CHECK(relative_diff(y16[1], y16[0]) > 0);
  CHECK(relative_diff(y16[1], y16[0]) < 3e-2);
}

TEST_CASE("SPADE with each norm's gamma and beta as one convolution matches two convolutions") {
  check_fused_matches_unfused<SpadeGenerator>(
      "2-D SPADE generator, 32x32",
      [](Generator&) {
        Generator gen(18);
        SpadeConfig c;
        c.out_size = {32, 32}, c.z_dim = 8, c.label_channels = 3, c.filters = {8, 4}, c.hidden = 8;
        return std::make_shared<SpadeGenerator>(c, gen);
      },
      [](SpadeGenerator& net) {
        Generator gen(19);
        return mean(square(net.forward(Tensor::randn({2, 8}, gen), Tensor::rand({2, 3, 32, 32}, gen))));
      },
      2e-5, nn::set_spade_joint_affine);
  // The joint form is really taken: the shift beta comes out of a narrow of the one convolution.
  for (bool joint : {true, false}) {
    Generator gen(20);
    nn::SpadeNorm norm(4, 3, nn::SpadeNormOptions{2, 8, 3, 1e-5, joint}, gen);
    const Tensor y = norm.forward(Tensor::randn({1, 4, 6, 6}, gen), Tensor::rand({1, 3, 6, 6}, gen));
    REQUIRE(y.grad_fn()->op == "add");
    CHECK((y.grad_fn()->edges[1].fn->op == "narrow") == joint);
  }
}


TEST_CASE("a channels-last U-Net matches the channels-first one: output, statistics, every gradient (2-D, 3-D)") {
  for (int dims : {2, 3}) {
    INFO("dims " << dims);
    auto build = [dims](bool last) {
      Generator gen(21);
      UNetConfig c{dims, 1, 2, 4, 2};
      c.channels_last = last;
      return std::make_shared<SegmentationUNet>(c, gen);
    };
    auto loss = [dims](SegmentationUNet& net) {
      Generator gen(22);
      const Shape x = dims == 3 ? Shape{2, 1, 8, 8, 8} : Shape{2, 1, 16, 12};
      return mean(square(net.forward(Tensor::randn(x, gen))));
    };
    const auto last = build(true), first = build(false);
    // Every format-aware layer really runs channels-last, and the input is converted once.
    int layers = 0;
    last->for_each<nn::FormatAware>([&layers](nn::FormatAware& m) { layers += m.channels_last() ? 1 : 0; });
    CHECK(layers == 5 * 4 + 2 * 2 + 1 + 1);  // 5 DoubleConvs of 2 (conv, norm), 2 UpConvs, the pool, the head
    const Tensor yl = loss(*last), yf = loss(*first);
    yl.backward();
    yf.backward();
    CHECK(relative_diff(yl, yf) <= 2e-5);
    const auto pl = last->named_parameters(), pf = first->named_parameters();
    REQUIRE(pl.size() == pf.size());
    for (size_t i = 0; i < pl.size(); ++i) {
      INFO(pl[i].first);
      CHECK(pl[i].first == pf[i].first);
      CHECK(pl[i].second.shape() == pf[i].second.shape());
      CHECK(relative_diff(pl[i].second.grad(), pf[i].second.grad()) <= 1e-4);
    }
    const auto bl = last->named_buffers(), bf = first->named_buffers();
    REQUIRE(bl.size() == bf.size());
    for (size_t i = 0; i < bl.size(); ++i) CHECK(relative_diff(bl[i].second, bf[i].second) <= 2e-5);
  }
  // A "same" convolution whose padding is one voxel longer after than before pads through
  // crop_pad, which is channels-first only: a channels-last layer says so.
  Generator gen(23);
  nn::Conv odd(1, 2, nn::ConvOptions{.dims = 3, .kernel = 5, .stride = 2, .padding = 0, .same = true}, gen);
  odd.set_memory_format(MemoryFormat::channels_last);
  CHECK_THROWS_WITH_AS(odd.forward(Tensor::zeros({1, 8, 8, 8, 1})), doctest::Contains("use the channels-first memory format"),
                       Error);
}
