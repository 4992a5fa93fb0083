// Chapter 4: the segmentation U-Net level by level, for the paper's configuration (3-D,
// filters 32..256, bottleneck 512, batch 5 of 32 x 128 x 128): each stage's output shape,
// parameters, receptive field and the activation memory autograd keeps for the backward
// pass. The table comes from a model of the network that this program first checks
// against the real one: shapes, parameters and retained bytes (exactly) from a forward
// pass of the paper's architecture with fewer filters on a smaller volume, and the
// receptive field by perturbing single input pixels of a small 2-D U-Net. `--png FILE`
// draws the memory per stage.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "autograd/cpu_block_cache.h"
#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "examples/example_check.h"
#include "experiments/report/chart.h"
#include "models/unet.h"

using namespace pn;
using pn::examples::check;
using pn::models::UNetConfig;

namespace {

struct Stage {
  std::string name;  // the child module of SegmentationUNet ("down0", "bottleneck", "upconv2", ...)
  Shape shape;       // its output
  int64_t rf;        // receptive field (voxels per axis) of one element of that output
  size_t kept;       // bytes of tensors made here that the graph keeps for backward
  int64_t params = 0;  // weights of its convolutions and batch norms
};

size_t round64(int64_t bytes) { return static_cast<size_t>((bytes + 63) / 64 * 64); }  // cpu_block_cache's blocks

// The network on paper: what SegmentationUNet::forward does, stage by stage. x is [B, C, spatial...].
// Kept per stage (float32 = 4 bytes): a conv keeps its input, a batch norm fused with its
// ReLU (nn::Sequential's default, autograd/ops/norm.h batch_norm_act) its input, its output
// (for the ReLU's mask) and per-channel mean and variance, a max-pool its output and argmax
// (int64), a transposed conv its input; concat and the pool's input keep nothing.
std::vector<Stage> unet_on_paper(const UNetConfig& c, const Shape& x) {
  std::vector<Stage> stages;
  const int64_t B = x[0];
  Shape sp(x.begin() + 2, x.end());
  int64_t rf = 1, jump = 1;  // jump: input voxels between neighbouring elements at this depth
  auto at = [&](int64_t ch) { Shape s{B, ch}; s.insert(s.end(), sp.begin(), sp.end()); return s; };
  auto voxels = [&] { return shape_numel(sp); };
  auto two_convs = [&] { rf += 2 * 2 * jump; };  // a 3x3 conv widens the field by one element each side
  // Conv, norm + ReLU, conv, norm + ReLU: the two convs' outputs and the two fused outputs (the
  // last one is the stage's output, kept by its own norm and by whatever reads it next).
  auto double_conv_kept = [&](int64_t f) { return 4 * round64(4 * B * f * voxels()) + 4 * round64(4 * f); };
  // Parameters: a conv k^dims in -> out without bias has in * out * k^dims weights, a batch
  // norm 2 * out (gamma, beta).
  auto taps = [&](int64_t k) { int64_t n = 1; for (int d = 0; d < c.dims; ++d) n *= k; return n; };
  auto double_conv_params = [&](int64_t in, int64_t out) { return (in + out) * out * taps(3) + 4 * out; };
  for (int l = 0; l < c.depth; ++l) {
    const int64_t f = c.base_filters << l;
    two_convs();
    Stage s{"down" + std::to_string(l), at(f), rf, double_conv_kept(f),
            double_conv_params(l == 0 ? c.in_channels : f / 2, f)};
    for (auto& d : sp) d /= 2;  // then a 2x2x2 max-pool, whose output and argmax (int64) are kept
    s.kept += round64(4 * B * f * voxels()) + round64(8 * B * f * voxels());
    stages.push_back(s);
    rf += jump, jump *= 2;
  }
  const int64_t fb = 2 * (c.base_filters << (c.depth - 1));
  two_convs();
  stages.push_back({"bottleneck", at(fb), rf, double_conv_kept(fb), double_conv_params(fb / 2, fb)});
  for (int l = c.depth - 1; l >= 0; --l) {
    const int64_t f = c.base_filters << l;
    for (auto& s : sp) s *= 2;
    jump /= 2;  // transposed conv 2 stride 2: each output element reads one input element
    // Transposed conv 2f -> f, kernel 2, then batch norm + ReLU: their two outputs are kept.
    stages.push_back({"up" + std::to_string(l), at(f), rf, 2 * round64(4 * B * f * voxels()) + 2 * round64(4 * f),
                      2 * f * f * taps(2) + 2 * f});
    two_convs();
    // concat [2f] kept by the first conv, and the DoubleConv's four.
    stages.push_back({"upconv" + std::to_string(l), at(f), rf,
                      round64(4 * B * 2 * f * voxels()) + double_conv_kept(f), double_conv_params(2 * f, f)});
  }
  stages.push_back({"head", at(c.classes), rf, round64(4 * B * c.classes * voxels()),  // the logits returned
                    c.base_filters * c.classes + c.classes});                          // 1x1 conv with bias
  return stages;
}

int64_t params_of(const nn::Module& net, const std::string& prefix) {
  int64_t n = 0;
  for (const auto& [name, t] : net.named_parameters())
    if (name.rfind(prefix + ".", 0) == 0) n += t.numel();
  return n;
}

std::string mib(size_t bytes) { return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1 << 20)); }

// Shapes and kept bytes of the real network against the model above, on x's size.
void check_against_the_network(const UNetConfig& c, const Shape& x_shape) {
  Generator gen(2);
  models::SegmentationUNet net(c, gen);
  Tensor x = Tensor::randn(x_shape, gen);
  const auto stages = unet_on_paper(c, x_shape);
  const size_t before = cpu_block_cache_stats().live_bytes;
  Tensor logits = net.forward(x);  // the graph (and what it keeps) stays alive with logits
  const size_t kept = cpu_block_cache_stats().live_bytes - before;
  bool shapes = true, params = true;
  size_t predicted = 0;
  for (const auto& s : stages) {
    predicted += s.kept;
    params = params && params_of(net, s.name) == s.params;
    for (const auto& [name, child] : net.children())
      if (name == s.name) shapes = shapes && child->output_shape() == s.shape;
  }
  check(shapes, fmt::format("every stage's output shape on {} matches the model", shape_str(x_shape)));
  check(params, "every stage's parameter count matches the model");
  check(kept == predicted, fmt::format("bytes kept for backward after the forward pass: {} measured, {} predicted",
                                       kept, predicted));
}

// The receptive field, measured: which pixels of row 32 of a 64 x 64 input change the
// output pixel (32, 32) when perturbed. All 128 perturbed inputs (each pixel of the row
// kicked by +100 and by -100) go through as one batch, in eval mode: batch statistics
// would couple the samples.
void check_receptive_field() {
  UNetConfig c;
  c.dims = 2, c.base_filters = 4, c.depth = 2;
  Generator gen(3);
  models::SegmentationUNet net(c, gen);
  net.eval();
  NoGrad off;
  const int64_t plane = 64 * 64, centre = 32 * 64 + 32;
  Tensor x = Tensor::randn({1, 1, 64, 64}, gen);
  const double reference = net.forward(x).to_vector()[centre];
  Tensor batch = Tensor::empty({128, 1, 64, 64});
  for (int64_t b = 0; b < 128; ++b) {
    std::copy_n(x.data<float>(), plane, batch.data<float>() + b * plane);
    batch.data<float>()[b * plane + 32 * 64 + b / 2] += b % 2 ? -100.0f : 100.0f;
  }
  const auto out = net.forward(batch).to_vector();  // [128, 2, 64, 64]: class 0 of each sample
  int64_t lo = 64, hi = -1;
  for (int64_t b = 0; b < 128; ++b)
    if (out[static_cast<size_t>(b * 2 * plane + centre)] != reference) lo = std::min(lo, b / 2), hi = std::max(hi, b / 2);
  const int64_t predicted = unet_on_paper(c, {1, 1, 64, 64}).back().rf;
  check(hi - lo + 1 == predicted, fmt::format("2-D U-Net of depth 2: pixels {}..{} of the row reach the centre "
                                              "output, {} wide; predicted receptive field {}", lo, hi, hi - lo + 1,
                                              predicted));
}

void draw(const std::vector<Stage>& stages, const std::string& path) {
  std::vector<std::string> names;
  double top = 0;
  for (const auto& s : stages) names.push_back(s.name), top = std::max(top, s.kept / 1073741824.0);
  experiments::Chart chart("U-Net (paper: batch 5, 32x128x128): activations kept for backward", "",
                           "GiB", 900, 420, /*legend=*/false);
  chart.set_x(experiments::category_axis(names));
  chart.set_y(experiments::nice_axis(0, top));
  for (size_t i = 0; i < stages.size(); ++i)
    chart.rect(i + 0.65, 0, i + 1.35, stages[i].kept / 1073741824.0, experiments::palette_color(0),
               experiments::Colour(experiments::palette_color(0)).with_alpha(0.6));
  chart.write_png(path);
  std::printf("wrote %s\n", path.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  UNetConfig paper;  // the defaults are the paper's: 3-D, 1 channel in, 2 classes, base 32, depth 4
  // The paper's network with a quarter of the filters, on the smallest volume depth 4
  // allows (16 = 2^4 per axis); batch 2, as batch norm needs more than one value per
  // channel at the 1 x 1 x 1 bottleneck. (Small, so that CI runs it in a second.)
  UNetConfig narrow = paper;
  narrow.base_filters = 8;
  check_against_the_network(narrow, {2, 1, 16, 16, 16});
  check_receptive_field();

  const Shape x{5, 1, 32, 128, 128};
  const auto stages = unet_on_paper(paper, x);
  std::printf("\nThe paper's U-Net on a batch of %s:\n", shape_str(x).c_str());
  std::printf("%-11s %-24s %11s %16s %14s\n", "stage", "output shape", "parameters", "receptive field", "kept");
  size_t total = 0;
  int64_t parameters = 0;
  for (const auto& s : stages) {
    total += s.kept;
    parameters += s.params;
    std::printf("%-11s %-24s %11lld %16lld %14s\n", s.name.c_str(), shape_str(s.shape).c_str(),
                static_cast<long long>(s.params), static_cast<long long>(s.rf), mib(s.kept).c_str());
  }
  const double state = 4.0 * 4 * static_cast<double>(parameters);  // weights, grads, Adam's m and v
  std::printf("total: %lld parameters; activations kept %.2f GiB; weights + gradients + Adam moments %.0f MiB\n",
              static_cast<long long>(parameters), total / 1073741824.0, state / (1 << 20));
  check(parameters == 22578786, "22,578,786 parameters, as the README's table says");
  for (int i = 1; i + 1 < argc; ++i)
    if (!std::strcmp(argv[i], "--png")) draw(stages, argv[i + 1]);
  return pn::examples::exit_status();
}
