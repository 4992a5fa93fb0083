// The study's networks beyond the PyTorch comparison: output shapes at odd settings,
// summaries with output shapes and counts, the randomness that is theirs (decoder dropout,
// instance noise: active in training only, reproducible from the generator), the paper's
// parameter count of the segmentation U-Net, and errors that name the model and shapes.
#include <doctest/doctest.h>

#include <string>

#include "autograd/grad_mode.h"
#include "autograd/profile.h"
#include "models/lesion_wgan.h"
#include "models/patchgan.h"
#include "models/pix2pix.h"
#include "models/spade_generator.h"
#include "models/unet.h"
#include "test_util.h"

using namespace pn;
using namespace pn::models;
using pn::test::max_abs_diff;

namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("output shapes, and summaries list output shapes and the parameter total") {
  Generator gen(1), aux(2);
  Pix2PixConfig pc;
  pc.dims = 3, pc.label_channels = 3, pc.base_filters = 2, pc.depth = 2;
  Pix2PixGenerator p(pc, gen, aux);
  CHECK(p.forward(Tensor::rand({2, 3, 4, 8, 12}, gen)).shape() == Shape{2, 1, 4, 8, 12});
  const std::string s = p.summary();
  CHECK(s.find("-> [2, 1, 4, 8, 12]") != std::string::npos);
  CHECK(s.find("total parameters: " + std::to_string(p.num_parameters())) != std::string::npos);

  PatchGanConfig dc;
  dc.label_channels = 3, dc.filters = {2, 4, 4};
  PatchGan d(dc, gen, aux);
  CHECK(d.forward(Tensor::randn({1, 1, 24, 16}, gen), Tensor::rand({1, 3, 24, 16}, gen)).shape() == Shape{1, 1, 4, 2});

  SpadeConfig sc;
  sc.out_size = {8, 16}, sc.z_dim = 4, sc.label_channels = 3, sc.filters = {4, 4, 2}, sc.hidden = 3;
  SpadeGenerator g(sc, gen);
  Tensor img = g.forward(Tensor::randn({2, 4}, gen), Tensor::rand({2, 3, 8, 16}, gen));
  CHECK(img.shape() == Shape{2, 1, 8, 16});
  CHECK(img.to_vector()[0] >= -1.0);

  LesionGanConfig lc;
  lc.z_dim = 4, lc.start = {1, 2, 3}, lc.gen_filters = {3, 2}, lc.mask_size = {3, 7, 9};
  lc.critic_filters = {2, 3}, lc.critic_dense = 5;
  LesionGenerator lg(lc, gen);
  LesionCritic lk(lc, gen);
  Tensor m = lg.forward(Tensor::randn({2, 4}, gen));
  CHECK(m.shape() == Shape{2, 1, 3, 7, 9});
  CHECK(lk.forward(m).shape() == Shape{2, 1});
}

// Each SPADE residual block brings the label map to its size once (nn::spade_label_map) and
// hands it to its two or three norms, which then do not pool again: one max-pool per block
// whose size is below the map's. The golden test checks the values are SPADE's.
TEST_CASE("SPADE pools the label map once per residual block") {
  Generator gen(3);
  SpadeConfig sc;
  sc.out_size = {8, 16}, sc.z_dim = 4, sc.label_channels = 3, sc.filters = {4, 4, 2}, sc.hidden = 3;
  SpadeGenerator g(sc, gen);
  const Tensor z = Tensor::randn({2, 4}, gen), labels = Tensor::rand({2, 3, 8, 16}, gen);
  profile::reset();
  profile::set_enabled(true);
  g.forward(z, labels);
  profile::set_enabled(false);
  int64_t pools = 0;
  for (const auto& r : profile::rows())
    if (r.kernel == "max_pool_forward") pools += r.calls;
  profile::reset();
  CHECK(pools == 3);  // three blocks below the 8x16 map's size; pooling in every norm made 10 calls
}

TEST_CASE("the paper's segmentation U-Net has 22,578,786 parameters") {
  // 3-D, depth 4, 32..256 filters, 512 bottleneck, no conv bias before batch norm, 1x1x1
  // head with bias; the count follows from PAPER.md (checked by hand per level).
  Generator gen(1);
  SegmentationUNet u(UNetConfig{}, gen);
  CHECK(u.num_parameters() == 22578786);
}

TEST_CASE("pix2pix decoder dropout acts in training only and follows its generator") {
  Generator gen(3);
  Pix2PixConfig c;
  c.label_channels = 2, c.base_filters = 4, c.depth = 2, c.dropout = 0.5;
  Generator d1(9), d2(9);
  Pix2PixGenerator a(c, gen, d1);
  Tensor x = Tensor::rand({1, 2, 8, 8}, gen);
  Tensor t1 = a.forward(x), t2 = a.forward(x);
  CHECK(max_abs_diff(t1, t2) > 1e-4);  // fresh masks per pass
  a.eval();
  CHECK(max_abs_diff(a.forward(x), a.forward(x)) == 0.0);
  // The same weights and dropout seed reproduce the training pass exactly.
  Generator gen_b(3), gen_a(3);
  Generator da(11), db(11);
  Pix2PixGenerator pa(c, gen_a, da), pb(c, gen_b, db);
  Tensor xa = Tensor::rand({1, 2, 8, 8}, gen_a), xb = Tensor::rand({1, 2, 8, 8}, gen_b);
  CHECK(max_abs_diff(pa.forward(xa), pb.forward(xb)) == 0.0);
}

TEST_CASE("PatchGAN instance noise: training only, sigma as set") {
  Generator gen(4), noise(5);
  PatchGanConfig c;
  c.label_channels = 2, c.filters = {2, 2, 2}, c.instance_noise = 0.2;
  PatchGan d(c, gen, noise);
  Tensor img = Tensor::randn({1, 1, 16, 16}, gen), lab = Tensor::rand({1, 2, 16, 16}, gen);
  CHECK(max_abs_diff(d.forward(img, lab), d.forward(img, lab)) > 0);
  d.eval();
  CHECK(max_abs_diff(d.forward(img, lab), d.forward(img, lab)) == 0.0);
}

TEST_CASE("wrong inputs name the model and the shapes") {
  Generator gen(6), aux(7);
  Pix2PixConfig pc;
  pc.label_channels = 3, pc.base_filters = 2, pc.depth = 3;
  Pix2PixGenerator p(pc, gen, aux);
  CHECK(error_of([&] { p.forward(Tensor::rand({1, 4, 16, 16}, gen)); }).find("Pix2PixGenerator") != std::string::npos);
  CHECK(error_of([&] { p.forward(Tensor::rand({1, 3, 12, 16}, gen)); }).find("not a multiple of 2^depth") !=
        std::string::npos);
  LesionGanConfig lc;
  lc.z_dim = 4, lc.start = {1, 1, 1}, lc.gen_filters = {2}, lc.mask_size = {3, 3, 3};
  CHECK(error_of([&] { LesionGenerator g(lc, gen); }).find("smaller than the mask") != std::string::npos);
  SpadeConfig sc;
  sc.out_size = {8, 8}, sc.z_dim = 4, sc.label_channels = 3, sc.filters = {2}, sc.hidden = 2;
  SpadeGenerator s(sc, gen);
  CHECK(error_of([&] { s.forward(Tensor::randn({1, 4}, gen), Tensor::rand({1, 3, 8, 4}, gen)); })
            .find("SpadeGenerator: expects labels [1, 3, 8, 8]") != std::string::npos);
}
