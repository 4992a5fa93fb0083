#include "models/spade_generator.h"

#include <algorithm>

#include "autograd/autocast.h"
#include "autograd/ops/conv.h"
#include "autograd/ops/elementwise.h"

namespace pn::models {

SpadeResBlock::SpadeResBlock(int64_t in, int64_t out, const SpadeConfig& cfg, Generator& gen)
    : in_(in), out_(out), slope_(cfg.slope) {
  const int64_t mid = std::min(in, out);
  nn::SpadeNormOptions so{cfg.dims, cfg.hidden, 3, 1e-5, cfg.joint_affine};
  nn::ConvOptions c3{cfg.dims, 3, 1, 1, true, nn::Init::normal002()};
  norm0_ = register_module("norm0", std::make_shared<nn::SpadeNorm>(in, cfg.label_channels, so, gen));
  nn::ConvOptions c3_no_bias = c3;  // conv0 feeds a SPADE norm, which cancels a bias
  c3_no_bias.bias = false;
  conv0_ = register_module("conv0", std::make_shared<nn::Conv>(in, mid, c3_no_bias, gen));
  norm1_ = register_module("norm1", std::make_shared<nn::SpadeNorm>(mid, cfg.label_channels, so, gen));
  conv1_ = register_module("conv1", std::make_shared<nn::Conv>(mid, out, c3, gen));
  if (in != out) {
    norm_s_ = register_module("norm_s", std::make_shared<nn::SpadeNorm>(in, cfg.label_channels, so, gen));
    conv_s_ = register_module(
        "conv_s",
        std::make_shared<nn::Conv>(
            in, out,
            nn::ConvOptions{
                .dims = cfg.dims, .kernel = 1, .stride = 1, .padding = 0, .bias = false, .init = nn::Init::normal002()},
            gen));
  }
}

// Under a 16-bit autocast scope the block runs in 16 bits, its input cast once and conv1's bias
// added in 16 bits (autograd/autocast.h, rule 1b), and returns a 16-bit tensor.
Tensor SpadeResBlock::forward(const Tensor& x_in, const Tensor& labels) {
  const Tensor x = autocast_operand(x_in);
  Keep16BitScope keep;
  const Tensor m = nn::spade_label_map(labels, x);  // pooled once for the block's two or three norms
  Tensor shortcut = conv_s_ ? (*conv_s_)(norm_s_->forward(x, m)) : x;
  Tensor h = (*conv0_)(leaky_relu(norm0_->forward(x, m), slope_));
  h = (*conv1_)(leaky_relu(norm1_->forward(h, m), slope_));
  Tensor y = shortcut + h;
  set_output_shape(y.shape());
  return y;
}

std::string SpadeResBlock::describe() const { return fmt::format("SpadeResBlock({} -> {})", in_, out_); }

SpadeGenerator::SpadeGenerator(const SpadeConfig& cfg, Generator& gen) : cfg_(cfg) {
  PN_CHECK(cfg.dims == 2 || cfg.dims == 3, "SpadeGenerator: dims must be 2 or 3, got {}", cfg.dims);
  PN_CHECK(static_cast<int>(cfg.out_size.size()) == cfg.dims, "SpadeGenerator: out_size {} must have {} dims",
           shape_str(cfg.out_size), cfg.dims);
  PN_CHECK(!cfg.filters.empty() && cfg.out_kernel % 2 == 1, "SpadeGenerator: needs filter levels and an odd out_kernel");
  const int64_t mult = int64_t{1} << cfg.filters.size();
  int64_t start_volume = 1;
  for (int64_t s : cfg.out_size) {
    PN_CHECK(s % mult == 0, "SpadeGenerator: output size {} is not a multiple of 2^levels = {}",
             shape_str(cfg.out_size), mult);
    start_.push_back(s / mult);
    start_volume *= s / mult;
  }
  fc_ = register_module("fc", std::make_shared<nn::Linear>(cfg.z_dim, cfg.filters[0] * start_volume, gen,
                                                           nn::Init::normal002()));
  int64_t in = cfg.filters[0];
  for (size_t i = 0; i < cfg.filters.size(); ++i) {
    blocks_.push_back(register_module("block" + std::to_string(i),
                                      std::make_shared<SpadeResBlock>(in, cfg.filters[i], cfg, gen)));
    in = cfg.filters[i];
  }
  out_ = register_module("out", std::make_shared<nn::Conv>(in, cfg.out_channels,
                                                           nn::ConvOptions{.dims = cfg.dims,
                                                                           .kernel = cfg.out_kernel,
                                                                           .stride = 1,
                                                                           .padding = cfg.out_kernel / 2,
                                                                           .bias = true,
                                                                           .init = nn::Init::normal002()},
                                                           gen));
}

Tensor SpadeGenerator::forward(const Tensor& z, const Tensor& labels) {
  PN_CHECK(z.dim() == 2 && z.size(1) == cfg_.z_dim, "SpadeGenerator: expects z [N, {}], got {}", cfg_.z_dim, z.desc());
  Shape ls{z.size(0), cfg_.label_channels};
  ls.insert(ls.end(), cfg_.out_size.begin(), cfg_.out_size.end());
  PN_CHECK(labels.shape() == ls, "SpadeGenerator: expects labels {}, got {}", shape_str(ls), labels.desc());
  Shape s{z.size(0), cfg_.filters[0]};
  s.insert(s.end(), start_.begin(), start_.end());
  Tensor h = (*fc_)(z).reshape(s);
  for (auto& b : blocks_) h = upsample_nearest(b->forward(h, labels), 2);  // 16-bit under autocast
  Tensor y = tanh((*out_)(leaky_relu(h, cfg_.slope)));  // float32 from the biased out conv (rule 1)
  set_output_shape(y.shape());
  return y;
}

std::string SpadeGenerator::describe() const {
  return fmt::format("SpadeGenerator({}-D, z {}, {} label channels -> {} x {})", cfg_.dims, cfg_.z_dim,
                     cfg_.label_channels, cfg_.out_channels, shape_str(cfg_.out_size));
}

}  // namespace pn::models
