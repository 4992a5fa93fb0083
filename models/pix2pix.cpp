#include "models/pix2pix.h"

#include <algorithm>

#include "autograd/autocast.h"
#include "autograd/ops/conv.h"
#include "models/input_check.h"

namespace pn::models {

Pix2PixGenerator::Pix2PixGenerator(const Pix2PixConfig& cfg, Generator& gen, Generator& dropout_gen) : cfg_(cfg) {
  PN_CHECK(cfg.dims == 2 || cfg.dims == 3, "Pix2PixGenerator: dims must be 2 or 3, got {}", cfg.dims);
  PN_CHECK(cfg.depth >= 1 && cfg.base_filters >= 1 && cfg.label_channels >= 1 && cfg.out_channels >= 1,
           "Pix2PixGenerator: depth, filters and channels must be positive");
  PN_CHECK(cfg.dropout >= 0 && cfg.dropout < 1, "Pix2PixGenerator: dropout must be in [0, 1), got {}", cfg.dropout);
  // A bias in front of an instance norm is cancelled exactly by it: those convs have none.
  nn::ConvOptions down{cfg.dims, cfg.kernel, 2, 0, true, nn::Init::normal002(), /*same=*/true};
  nn::ConvOptions flat{cfg.dims, cfg.kernel, 1, 0, false, nn::Init::normal002(), /*same=*/true};
  std::vector<int64_t> filters;
  int64_t in = cfg.label_channels;
  for (int l = 0; l < cfg.depth; ++l) {
    const int64_t f = std::min(cfg.base_filters << std::min(l, 20), cfg.max_filters);
    filters.push_back(f);
    auto s = register_module("down" + std::to_string(l), std::make_shared<nn::Sequential>());
    s->set_output_16bit(true);  // to the next level and the 16-bit skip concatenation (autocast.h)
    nn::ConvOptions o = down;
    o.bias = l == 0;
    s->add(std::make_shared<nn::Conv>(in, f, o, gen));
    if (l > 0) s->add(std::make_shared<nn::InstanceNorm>(f));
    s->add(std::make_shared<nn::LeakyReLU>(cfg.slope));
    down_.push_back(s);
    in = f;
  }
  // Decoder level l brings the bottom-up features to the size of encoder level l's output.
  for (int l = cfg.depth - 2; l >= 0; --l) {
    auto s = register_module("up" + std::to_string(l), std::make_shared<nn::Sequential>());
    s->set_output_16bit(true);  // to the 16-bit skip concatenation
    s->add(std::make_shared<nn::Upsample>(2));
    s->add(std::make_shared<nn::Conv>(in, filters[l], flat, gen));
    s->add(std::make_shared<nn::InstanceNorm>(filters[l]));
    s->add(std::make_shared<nn::LeakyReLU>(cfg.slope));
    if (cfg.dropout > 0) s->add(std::make_shared<nn::Dropout>(cfg.dropout, dropout_gen));
    up_.push_back(s);
    in = 2 * filters[l];  // after concatenation with the skip
  }
  out_ = register_module("out", std::make_shared<nn::Sequential>());
  out_->add(std::make_shared<nn::Upsample>(2));
  nn::ConvOptions last = flat;
  last.bias = true;
  out_->add(std::make_shared<nn::Conv>(in, cfg.out_channels, last, gen));
  out_->add(std::make_shared<nn::Tanh>());
  nn::set_upsample_conv_fusion(*this, cfg.polyphase_upsampling);
}

Tensor Pix2PixGenerator::forward(const Tensor& labels) {
  check_unet_input("Pix2PixGenerator", labels, cfg_.dims, cfg_.label_channels, cfg_.depth);
  std::vector<Tensor> skips;
  Tensor h = labels;
  for (auto& d : down_) {
    h = (*d)(h);  // 16-bit under autocast, the first level's biased conv too (autocast.h, rule 1b)
    skips.push_back(h);
  }
  for (size_t i = 0; i < up_.size(); ++i) h = concat({(*up_[i])(h), skips[skips.size() - 2 - i]}, 1);
  Tensor y = (*out_)(h);
  set_output_shape(y.shape());
  return y;
}

std::string Pix2PixGenerator::describe() const {
  return fmt::format("Pix2PixGenerator({}-D, {} label channels -> {}, base {}, depth {}, dropout {})", cfg_.dims,
                     cfg_.label_channels, cfg_.out_channels, cfg_.base_filters, cfg_.depth, cfg_.dropout);
}

}  // namespace pn::models
