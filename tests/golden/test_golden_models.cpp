// The five networks against PyTorch (fixtures from tools/golden/make_fixtures.sh): with
// the same weights and inputs, Penumbra's forward output, the gradients of sum(out * r)
// w.r.t. the inputs and every parameter, and the batch-norm running statistics after the
// pass must match to a relative error below 1e-4, in training and in eval mode.
#include <doctest/doctest.h>

#include <functional>

#include "autograd/ops/reduce.h"
#include "golden_util.h"
#include "models/lesion_wgan.h"
#include "models/patchgan.h"
#include "models/pix2pix.h"
#include "models/spade_generator.h"
#include "models/unet.h"

using namespace pn;
using namespace pn::models;
using namespace pn::golden;

namespace {

using Forward = std::function<Tensor(const std::vector<Tensor>&)>;

void check_forward_fixture(const std::string& name, nn::Module& m, int n_inputs, bool train, const Forward& fwd) {
  INFO("fixture " << name);
  auto f = load_fixture(name);
  load_weights(m, f, "w.");
  m.train(train);
  m.zero_grad();
  std::vector<Tensor> ins;
  for (int i = 0; i < n_inputs; ++i) ins.push_back(get32(f, "in" + std::to_string(i)).requires_grad_());
  Tensor out = fwd(ins);
  const double e_out = rel_error(out, get(f, "out"));
  CHECK_MESSAGE(e_out < kTol, "output: relative error " << e_out);
  sum(out * get32(f, "r")).backward();
  double worst = e_out;
  for (int i = 0; i < n_inputs; ++i) {
    const double e = rel_error(ins[i].grad(), get(f, "grad.in" + std::to_string(i)));
    worst = std::max(worst, e);
    CHECK_MESSAGE(e < kTol, "gradient of input " << i << ": relative error " << e);
  }
  double grad_scale = 0;  // of all parameter gradients: the floor of rel_error (golden_util.h)
  for (auto& [pname, p] : m.named_parameters()) grad_scale = std::max(grad_scale, max_abs(get(f, "grad." + pname)));
  for (auto& [pname, p] : m.named_parameters()) {
    REQUIRE_MESSAGE(p.grad().defined(), pname << " got no gradient");
    const double e = rel_error(p.grad(), get(f, "grad." + pname), 1e-3 * grad_scale);
    worst = std::max(worst, e);
    CHECK_MESSAGE(e < kTol, "gradient of " << pname << ": relative error " << e);
  }
  for (auto& [bname, b] : m.named_buffers()) {
    const double e = rel_error(b, get(f, "after." + bname));
    worst = std::max(worst, e);
    CHECK_MESSAGE(e < kTol, "buffer " << bname << " after the pass: relative error " << e);
  }
  MESSAGE(name << ": worst relative error " << worst << " over output, input and " << m.named_parameters().size()
               << " parameter gradients");
}

}  // namespace

TEST_CASE("segmentation U-Net, 3-D and 2-D, training and eval mode, matches PyTorch") {
  Generator gen(1);
  for (const char* mode : {"train", "eval"}) {
    SegmentationUNet u3({3, 1, 2, 4, 2}, gen);
    check_forward_fixture(std::string("unet3d_") + mode, u3, 1, mode[0] == 't',
                          [&](const std::vector<Tensor>& in) { return u3.forward(in[0]); });
    SegmentationUNet u2({2, 2, 3, 4, 2}, gen);
    check_forward_fixture(std::string("unet2d_") + mode, u2, 1, mode[0] == 't',
                          [&](const std::vector<Tensor>& in) { return u2.forward(in[0]); });
  }
}

TEST_CASE("pix2pix generator, 2-D and 3-D (dropout off), matches PyTorch") {
  Generator gen(2), drop(3);
  Pix2PixConfig c2;
  c2.label_channels = 5, c2.base_filters = 4, c2.max_filters = 32, c2.depth = 3, c2.dropout = 0;
  Pix2PixGenerator g2(c2, gen, drop);
  check_forward_fixture("pix2pix2d_train", g2, 1, true, [&](const std::vector<Tensor>& in) { return g2.forward(in[0]); });
  Pix2PixConfig c3 = c2;
  c3.dims = 3, c3.label_channels = 4, c3.depth = 2;
  Pix2PixGenerator g3(c3, gen, drop);
  check_forward_fixture("pix2pix3d_train", g3, 1, true, [&](const std::vector<Tensor>& in) { return g3.forward(in[0]); });
}

TEST_CASE("conditional PatchGAN, 2-D and 3-D, matches PyTorch") {
  Generator gen(4), noise(5);
  PatchGanConfig c2;
  c2.label_channels = 5, c2.filters = {4, 8, 8};
  PatchGan d2(c2, gen, noise);
  check_forward_fixture("patchgan2d_train", d2, 2, true,
                        [&](const std::vector<Tensor>& in) { return d2.forward(in[0], in[1]); });
  PatchGanConfig c3;
  c3.dims = 3, c3.label_channels = 3, c3.filters = {4, 6, 6};
  PatchGan d3(c3, gen, noise);
  check_forward_fixture("patchgan3d_train", d3, 2, true,
                        [&](const std::vector<Tensor>& in) { return d3.forward(in[0], in[1]); });
}

TEST_CASE("SPADE generator (residual blocks, SPADE norms, learned shortcuts) matches PyTorch") {
  Generator gen(6);
  SpadeConfig c;
  c.out_size = {16, 16}, c.z_dim = 8, c.label_channels = 5, c.filters = {8, 6, 4}, c.hidden = 6;
  SpadeGenerator g(c, gen);
  check_forward_fixture("spade2d_train", g, 2, true, [&](const std::vector<Tensor>& in) { return g.forward(in[0], in[1]); });
}

TEST_CASE("lesion WGAN generator and critic match PyTorch") {
  Generator gen(7);
  LesionGanConfig c;
  c.z_dim = 8, c.start = {1, 2, 2}, c.gen_filters = {6, 4}, c.mask_size = {4, 6, 8};
  c.critic_filters = {4, 6, 8}, c.critic_dense = 16;
  LesionGenerator g(c, gen);
  check_forward_fixture("lesion_gen_train", g, 1, true, [&](const std::vector<Tensor>& in) { return g.forward(in[0]); });
  LesionCritic k(c, gen);
  check_forward_fixture("lesion_critic_train", k, 1, true, [&](const std::vector<Tensor>& in) { return k.forward(in[0]); });
}

TEST_CASE("a wrong weight makes the comparison fail (the golden check can fail)") {
  Generator gen(8);
  LesionGanConfig c;
  c.z_dim = 8, c.start = {1, 2, 2}, c.gen_filters = {6, 4}, c.mask_size = {4, 6, 8};
  LesionGenerator g(c, gen);
  auto f = load_fixture("lesion_gen_train");
  load_weights(g, f, "w.");
  Tensor w = g.named_parameters()[0].second;
  w.data<float>()[0] += 0.05f;
  Tensor out = g.forward(get32(f, "in0"));
  CHECK(rel_error(out, get(f, "out")) > kTol);
}
