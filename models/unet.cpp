#include "models/unet.h"

#include "autograd/ops/conv.h"
#include "models/input_check.h"

namespace pn::models {

DoubleConv::DoubleConv(int dims, int64_t in, int64_t out, Generator& gen) {
  set_output_16bit(true);  // to the 16-bit max-pool and skip concatenation (autograd/autocast.h)
  nn::ConvOptions o{dims, 3, 1, 1, /*bias=*/false, nn::Init::he_normal()};
  add(std::make_shared<nn::Conv>(in, out, o, gen));
  add(std::make_shared<nn::BatchNorm>(out));
  add(std::make_shared<nn::ReLU>());
  add(std::make_shared<nn::Conv>(out, out, o, gen));
  add(std::make_shared<nn::BatchNorm>(out));
  add(std::make_shared<nn::ReLU>());
}

UpConv::UpConv(int dims, int64_t in, int64_t out, Generator& gen) {
  set_output_16bit(true);  // to the 16-bit skip concatenation (autograd/autocast.h)
  add(std::make_shared<nn::ConvTranspose>(
      in, out,
      nn::ConvOptions{
          .dims = dims, .kernel = 2, .stride = 2, .padding = 0, .bias = false, .init = nn::Init::he_normal()},
      gen));
  add(std::make_shared<nn::BatchNorm>(out));
  add(std::make_shared<nn::ReLU>());
}

SegmentationUNet::SegmentationUNet(const UNetConfig& cfg, Generator& gen) : cfg_(cfg) {
  PN_CHECK(cfg.dims == 2 || cfg.dims == 3, "SegmentationUNet: dims must be 2 or 3, got {}", cfg.dims);
  PN_CHECK(cfg.depth >= 1 && cfg.base_filters >= 1 && cfg.classes >= 1 && cfg.in_channels >= 1,
           "SegmentationUNet: depth, base_filters, classes and in_channels must be positive");
  int64_t in = cfg.in_channels, f = cfg.base_filters;
  std::vector<int64_t> filters;
  for (int l = 0; l < cfg.depth; ++l, f *= 2) {
    filters.push_back(f);
    down_.push_back(register_module("down" + std::to_string(l), std::make_shared<DoubleConv>(cfg.dims, in, f, gen)));
    in = f;
  }
  pool_ = register_module("pool", std::make_shared<nn::MaxPool>(2));
  bottleneck_ = register_module("bottleneck", std::make_shared<DoubleConv>(cfg.dims, in, 2 * in, gen));
  in = 2 * in;
  for (int l = cfg.depth - 1; l >= 0; --l) {
    up_.push_back(register_module("up" + std::to_string(l), std::make_shared<UpConv>(cfg.dims, in, filters[l], gen)));
    up_conv_.push_back(register_module("upconv" + std::to_string(l),
                                       std::make_shared<DoubleConv>(cfg.dims, 2 * filters[l], filters[l], gen)));
    in = filters[l];
  }
  head_ = register_module(
      "head",
      std::make_shared<nn::Conv>(
          in, cfg.classes,
          nn::ConvOptions{
              .dims = cfg.dims, .kernel = 1, .stride = 1, .padding = 0, .bias = true, .init = nn::Init::he_normal()},
          gen));
  if (cfg.channels_last) nn::set_memory_format(*this, MemoryFormat::channels_last);
}

Tensor SegmentationUNet::forward(const Tensor& x) {
  check_unet_input("SegmentationUNet", x, cfg_.dims, cfg_.in_channels, cfg_.depth);
  std::vector<Tensor> skips;
  Tensor h = cfg_.channels_last ? to_channels_last(x) : x;
  const int channel_axis = cfg_.channels_last ? x.dim() - 1 : 1;
  for (auto& d : down_) {
    h = (*d)(h);
    skips.push_back(h);
    h = pool_->forward(h);
  }
  h = (*bottleneck_)(h);
  for (size_t i = 0; i < up_.size(); ++i) {
    h = (*up_[i])(h);
    h = (*up_conv_[i])(concat({skips[skips.size() - 1 - i], h}, channel_axis));
  }
  h = (*head_)(h);
  if (cfg_.channels_last) h = to_channels_first(h);
  set_output_shape(h.shape());
  return h;
}

std::string SegmentationUNet::describe() const {
  return fmt::format("SegmentationUNet({}-D, in {}, classes {}, base {}, depth {}{})", cfg_.dims, cfg_.in_channels,
                     cfg_.classes, cfg_.base_filters, cfg_.depth, cfg_.channels_last ? ", channels-last" : "");
}

}  // namespace pn::models
