#include "models/patchgan.h"

#include "autograd/ops/conv.h"

namespace pn::models {

PatchGan::PatchGan(const PatchGanConfig& cfg, Generator& gen, Generator& noise_gen) : cfg_(cfg), noise_gen_(noise_gen) {
  PN_CHECK(cfg.dims == 2 || cfg.dims == 3, "PatchGan: dims must be 2 or 3, got {}", cfg.dims);
  PN_CHECK(cfg.filters.size() >= 2, "PatchGan: needs at least one stride-2 and one stride-1 level");
  PN_CHECK(cfg.instance_noise >= 0, "PatchGan: instance noise sigma must be >= 0, got {}", cfg.instance_noise);
  int64_t in = cfg.image_channels + cfg.label_channels;
  const size_t n = cfg.filters.size();
  for (size_t l = 0; l <= n; ++l) {
    const bool last = l == n;
    const int stride = l + 1 < n ? 2 : 1;  // all but the last filter level halve the size
    const int64_t f = last ? 1 : cfg.filters[l];
    auto s = register_module(std::to_string(l), std::make_shared<nn::Sequential>());
    s->set_output_16bit(!last);  // 16-bit activations on to the next level (autograd/autocast.h)
    const bool norm = !last && l > 0;  // no bias in front of a norm: it would cancel it
    s->add(std::make_shared<nn::Conv>(in, f,
                                      nn::ConvOptions{.dims = cfg.dims,
                                                      .kernel = cfg.kernel,
                                                      .stride = stride,
                                                      .padding = 1,
                                                      .bias = !norm,
                                                      .init = nn::Init::normal002()},
                                      gen));
    if (norm) s->add(std::make_shared<nn::InstanceNorm>(f));
    if (!last) s->add(std::make_shared<nn::LeakyReLU>(cfg.slope));
    layers_.push_back(s);
    in = f;
  }
}

Tensor PatchGan::forward(const Tensor& image, const Tensor& labels) {
  PN_CHECK(image.dim() == cfg_.dims + 2 && image.size(1) == cfg_.image_channels,
           "PatchGan: expects an image [N, {}, spatial x{}], got {}", cfg_.image_channels, cfg_.dims, image.desc());
  PN_CHECK(labels.dim() == image.dim() && labels.size(1) == cfg_.label_channels,
           "PatchGan: expects labels [N, {}, ...] on the image's grid, got {} for image {}", cfg_.label_channels,
           labels.desc(), image.desc());
  Tensor img = image;
  if (is_training() && cfg_.instance_noise > 0)
    img = image + Tensor::randn(image.shape(), noise_gen_, image.dtype(), image.device()) * cfg_.instance_noise;
  Tensor h = concat({img, labels}, 1);
  for (auto& l : layers_) h = (*l)(h);
  set_output_shape(h.shape());
  return h;
}

std::string PatchGan::describe() const {
  return fmt::format("PatchGan({}-D, {} + {} channels, instance noise {})", cfg_.dims, cfg_.image_channels,
                     cfg_.label_channels, cfg_.instance_noise);
}

}  // namespace pn::models
