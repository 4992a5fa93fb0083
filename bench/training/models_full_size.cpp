// The study's five networks at the paper's sizes: builds each, runs one forward pass of
// batch 1 on the CPU (no gradients), and prints its summary (layers, output shapes,
// parameter counts) and the time taken. `models_full_size --small` uses reduced sizes.
#include <chrono>
#include <cstdio>
#include <cstring>

#include "bench/bench_util.h"
#include "autograd/grad_mode.h"
#include "models/lesion_wgan.h"
#include "models/patchgan.h"
#include "models/pix2pix.h"
#include "models/spade_generator.h"
#include "models/unet.h"

using namespace pn;
using namespace pn::models;
using pn::bench::Clock;

namespace {

template <class F>
void timed(const char* name, nn::Module& m, F&& forward) {
  m.eval();
  auto t0 = Clock::now();
  Shape out;
  {
    NoGrad ng;
    out = forward().shape();
  }
  const double s = bench::seconds_since(t0);
  std::printf("==== %s: %lld parameters, output %s, forward %.2f s\n%s\n", name, (long long)m.num_parameters(),
              shape_str(out).c_str(), s, m.summary().c_str());
  std::fflush(stdout);
}

Tensor one_hot_noise(Shape s, Generator& gen) { return Tensor::rand(s, gen); }

}  // namespace

int run(int argc, char** argv) {
  const bool small = argc > 1 && !std::strcmp(argv[1], "--small");
  Generator gen(1), aux(2);
  const int64_t d = small ? 16 : 32, hw = small ? 32 : 128;
  {
    UNetConfig c;
    if (small) c.base_filters = 8, c.depth = 2;
    SegmentationUNet m(c, gen);
    timed("segmentation U-Net (3-D)", m, [&] { return m.forward(Tensor::randn({1, 1, d, hw, hw}, gen)); });
  }
  {
    Pix2PixConfig c = Pix2PixConfig::paper_2d();
    if (small) c.base_filters = 8, c.depth = 4;
    Pix2PixGenerator m(c, gen, aux);
    timed("pix2pix generator (2-D)", m, [&] { return m.forward(one_hot_noise({1, 29, hw, hw}, gen)); });
  }
  {
    Pix2PixConfig c = Pix2PixConfig::paper_3d();
    if (small) c.base_filters = 8, c.depth = 3;
    Pix2PixGenerator m(c, gen, aux);
    timed("pix2pix generator (3-D)", m, [&] { return m.forward(one_hot_noise({1, 29, d, hw, hw}, gen)); });
  }
  {
    PatchGanConfig c;
    PatchGan m(c, gen, aux);
    timed("PatchGAN discriminator (2-D)", m,
          [&] { return m.forward(Tensor::randn({1, 1, hw, hw}, gen), one_hot_noise({1, 29, hw, hw}, gen)); });
  }
  {
    SpadeConfig c;
    c.out_size = {hw, hw};
    if (small) c.filters = {32, 16, 8}, c.hidden = 16;
    SpadeGenerator m(c, gen);
    timed("SPADE generator (2-D)", m,
          [&] { return m.forward(Tensor::randn({1, c.z_dim}, gen), one_hot_noise({1, 29, hw, hw}, gen)); });
  }
  {
    LesionGanConfig c;
    if (small) c.start = {1, 2, 2}, c.gen_filters = {16, 8, 8, 8, 8}, c.mask_size = {d, hw, hw},
               c.critic_filters = {8, 16, 32, 64, 64}, c.critic_dense = 64;
    LesionGenerator g(c, gen);
    timed("lesion WGAN generator (3-D)", g, [&] { return g.forward(Tensor::randn({1, c.z_dim}, gen)); });
    LesionCritic k(c, gen);
    timed("lesion WGAN critic (3-D)", k, [&] { return k.forward(Tensor::randn({1, 1, c.mask_size[0], c.mask_size[1], c.mask_size[2]}, gen)); });
  }
  return 0;
}

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const Error& e) {
    std::fprintf(stderr, "models_full_size: error: %s\n", e.what());
    return 1;
  }
}
