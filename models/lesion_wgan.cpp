#include "models/lesion_wgan.h"

#include "autograd/ops/concat.h"
#include "autograd/ops/conv.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/reduce.h"

namespace pn::models {

LesionGenerator::LesionGenerator(const LesionGanConfig& cfg, Generator& gen) : cfg_(cfg) {
  PN_CHECK(cfg.start.size() == 3 && cfg.mask_size.size() == 3, "LesionGenerator: start and mask_size must be 3-D");
  PN_CHECK(!cfg.gen_filters.empty(), "LesionGenerator: needs at least one filter level");
  PN_CHECK(cfg.out_kernel > 0 && cfg.out_kernel % 2 == 1, "LesionGenerator: out_kernel {} must be odd and positive "
           "(a 'same' convolution)", cfg.out_kernel);
  const int64_t mult = int64_t{1} << cfg.gen_filters.size();
  for (int d = 0; d < 3; ++d)
    PN_CHECK(cfg.start[d] * mult >= cfg.mask_size[d], "LesionGenerator: start {} x 2^{} is smaller than the mask {}",
             shape_str(cfg.start), cfg.gen_filters.size(), shape_str(cfg.mask_size));
  fc_ = register_module("fc", std::make_shared<nn::Linear>(
                                  cfg.z_dim, cfg.gen_filters[0] * cfg.start[0] * cfg.start[1] * cfg.start[2], gen,
                                  nn::Init::normal002()));
  int64_t in = cfg.gen_filters[0];
  for (size_t i = 0; i < cfg.gen_filters.size(); ++i) {
    auto s = register_module("block" + std::to_string(i), std::make_shared<nn::Sequential>());
    s->set_output_16bit(true);  // 16-bit activations on to the next block (autograd/autocast.h)
    s->add(std::make_shared<nn::Conv>(
        in, cfg.gen_filters[i],
        nn::ConvOptions{
            .dims = 3, .kernel = 3, .stride = 1, .padding = 1, .bias = false, .init = nn::Init::normal002()},
        gen));
    s->add(std::make_shared<nn::InstanceNorm>(cfg.gen_filters[i]));
    // The activation before the nearest upsampling: the same values (one copies, the other
    // maps elementwise), on 8x fewer elements, and next to the norm so that the Sequential
    // fuses the two. Neither layer has parameters: checkpoint names are unchanged.
    s->add(std::make_shared<nn::LeakyReLU>(cfg.slope));
    s->add(std::make_shared<nn::Upsample>(2));
    blocks_.push_back(s);
    in = cfg.gen_filters[i];
  }
  out_ = register_module(
      "out", std::make_shared<nn::Conv>(
                 in, 1,
                 nn::ConvOptions{
                     .dims = 3, .kernel = cfg.out_kernel, .stride = 1, .padding = cfg.out_kernel / 2, .bias = true,
                     .init = nn::Init::normal002()},
                 gen));
}

Tensor LesionGenerator::forward(const Tensor& z) {
  PN_CHECK(z.dim() == 2 && z.size(1) == cfg_.z_dim, "LesionGenerator: expects z [N, {}], got {}", cfg_.z_dim, z.desc());
  Tensor h = (*fc_)(z).reshape({z.size(0), cfg_.gen_filters[0], cfg_.start[0], cfg_.start[1], cfg_.start[2]});
  for (auto& b : blocks_) h = (*b)(h);
  Tensor y = center_crop(tanh((*out_)(h)), cfg_.mask_size);
  set_output_shape(y.shape());
  return y;
}

std::string LesionGenerator::describe() const {
  return fmt::format("LesionGenerator(z {}, start {}, mask {})", cfg_.z_dim, shape_str(cfg_.start),
                     shape_str(cfg_.mask_size));
}

Tensor append_minibatch_std(const Tensor& h) {
  PN_CHECK(h.dim() == 2 && h.size(0) >= 2,
           "LesionCritic: the minibatch standard deviation needs a batch of at least 2 feature rows [N, F], got {} "
           "(set maskgan.batch >= 2 or maskgan.minibatch_std = false)",
           h.desc());
  const int64_t n = h.size(0);
  Tensor centred = sub(h, mean(h, {0}, true));
  Tensor sd = sqrt(add_scalar(mean(square(centred), {0}, true), 1e-8));  // [1, F]
  Tensor s = expand(mean(sd, {1}, true), {n, 1});
  return concat({h, s}, 1);
}

LesionCritic::LesionCritic(const LesionGanConfig& cfg, Generator& gen) : cfg_(cfg) {
  PN_CHECK(cfg.mask_size.size() == 3 && !cfg.critic_filters.empty(), "LesionCritic: needs a 3-D mask size and filters");
  int64_t in = 1;
  Shape size = cfg.mask_size;
  for (size_t i = 0; i < cfg.critic_filters.size(); ++i) {
    auto s = register_module("block" + std::to_string(i), std::make_shared<nn::Sequential>());
    s->add(std::make_shared<nn::Conv>(in, cfg.critic_filters[i],
                                      nn::ConvOptions{.dims = 3,
                                                      .kernel = 5,
                                                      .stride = 2,
                                                      .padding = 0,
                                                      .bias = true,
                                                      .init = nn::Init::normal002(),
                                                      .same = true},
                                      gen));
    s->add(std::make_shared<nn::LeakyReLU>(cfg.slope));
    // Under a 16-bit autocast scope the blocks hand 16-bit activations on, the last one float32
    // to the dense layers (autograd/autocast.h, rules 1b and 2).
    s->set_output_16bit(i + 1 < cfg.critic_filters.size());
    blocks_.push_back(s);
    in = cfg.critic_filters[i];
    for (auto& v : size) v = (v + 1) / 2;  // "same" with stride 2: ceil(in / 2)
  }
  const int64_t flat = in * size[0] * size[1] * size[2] + (cfg.minibatch_std ? 1 : 0);
  dense_ = register_module("dense", std::make_shared<nn::Linear>(flat, cfg.critic_dense, gen, nn::Init::normal002()));
  score_ = register_module("score", std::make_shared<nn::Linear>(cfg.critic_dense, 1, gen, nn::Init::normal002()));
}

Tensor LesionCritic::forward(const Tensor& mask) {
  Shape want{mask.dim() > 0 ? mask.size(0) : 0, 1};
  want.insert(want.end(), cfg_.mask_size.begin(), cfg_.mask_size.end());
  PN_CHECK(mask.shape() == want, "LesionCritic: expects masks {}, got {}", shape_str(want), mask.desc());
  Tensor h = mask;
  for (auto& b : blocks_) h = (*b)(h);
  h = h.flatten(1);
  if (cfg_.minibatch_std) h = append_minibatch_std(h);
  Tensor y = (*score_)(leaky_relu((*dense_)(h), cfg_.slope));
  set_output_shape(y.shape());
  return y;
}

std::string LesionCritic::describe() const {
  return fmt::format("LesionCritic(mask {}, {} levels, dense {}{})", shape_str(cfg_.mask_size),
                     cfg_.critic_filters.size(), cfg_.critic_dense, cfg_.minibatch_std ? ", minibatch std" : "");
}

}  // namespace pn::models
