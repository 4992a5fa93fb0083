#include "bench/gpu_check/gpu_check_nets.h"

#include <functional>
#include <stdexcept>
#include <vector>

#include "autograd/engine.h"
#include "autograd/generator.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/loss.h"
#include "autograd/ops/reduce.h"
#include "autograd/ops/softmax.h"
#include "bench/gpu_check/gpu_check.h"
#include "experiments/config/config_presets.h"
#include "models/gan_losses.h"
#include "models/lesion_wgan.h"
#include "models/patchgan.h"
#include "models/pix2pix.h"
#include "models/spade_generator.h"
#include "models/unet.h"
#include "nn/optim.h"

namespace pn::gpu_check {

namespace {

using json = nlohmann::json;

const experiments::Config& paper() {
  static const experiments::Config cfg = experiments::load_preset("paper");
  return cfg;
}

void check_scale(const std::string& scale) {
  if (scale != "paper" && scale != "small" && scale != "tiny")
    throw std::invalid_argument("gpu_check: unknown size '" + scale + "' (use paper, small or tiny)");
}

// The GAN losses are the trainers' own (models/gan_losses.h).

// [n, classes, spatial...] one-hot of a uniformly random class per voxel.
Tensor random_one_hot(int64_t n, int64_t classes, const Shape& spatial, Generator& gen) {
  int64_t vox = 1;
  for (int64_t s : spatial) vox *= s;
  std::vector<float> v(static_cast<size_t>(n * classes * vox), 0.0f);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t i = 0; i < vox; ++i)
      v[static_cast<size_t>((b * classes + static_cast<int64_t>(gen.below(static_cast<uint64_t>(classes)))) * vox + i)] = 1;
  Shape shape{n, classes};
  shape.insert(shape.end(), spatial.begin(), spatial.end());
  return Tensor::from_vector(v, shape);
}

// A mask in the generator's range: -1 or 1 per voxel, by a fair coin.
Tensor random_mask(const Shape& shape, Generator& gen) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = gen.below(2) ? 1.0f : -1.0f;
  return Tensor::from_vector(v, shape);
}

Shape spatial_of(const int64_t* grid, int dims) {
  return dims == 3 ? Shape{grid[0], grid[1], grid[2]} : Shape{grid[1], grid[2]};
}

void add_state(nn::NamedTensors& out, const std::string& prefix, const nn::Module& m) {
  for (auto& [name, t] : m.named_parameters()) out.emplace_back(prefix + name, t.detach());
  for (auto& [name, t] : m.named_buffers()) out.emplace_back(prefix + name, t.detach());
}

json adam_json(const nn::AdamOptions& a) { return {{"lr", a.lr}, {"beta1", a.beta1}, {"beta2", a.beta2}, {"eps", a.eps}}; }

// ---- segmentation U-Net + soft Dice + Adam ----------------------------------------------
// channels_last: the same step with the U-Net's activations N[D]HWC (net "unet_cl").
class UNetCheck final : public NetCheck {
 public:
  UNetCheck(const std::string& scale, bool channels_last) : size_(unet_size(scale)), channels_last_(channels_last) {
    adam_.lr = paper().number("segment.lr");
    const models::UNetConfig c{.dims = 3,
                               .in_channels = size_.in_channels,
                               .classes = size_.classes,
                               .base_filters = size_.base_filters,
                               .depth = size_.depth,
                               .channels_last = channels_last};
    net_ = std::make_shared<models::SegmentationUNet>(c, gen_);
    const Shape sp = spatial_of(size_.grid, 3);
    x_ = Tensor::randn({size_.batch, size_.in_channels, sp[0], sp[1], sp[2]}, gen_);
    target_ = random_one_hot(size_.batch, size_.classes, sp, gen_);
  }
  json config() const override {
    return {{"net", channels_last_ ? "unet_cl" : "unet"}, {"channels_last", channels_last_}, {"dims", 3}, {"in_channels", size_.in_channels}, {"classes", size_.classes},
            {"base_filters", size_.base_filters}, {"depth", size_.depth}, {"batch", size_.batch},
            {"grid", {size_.grid[0], size_.grid[1], size_.grid[2]}}, {"dice_class", 1}, {"adam", adam_json(adam_)},
            {"parameters", net_->num_parameters()}};
  }
  nn::NamedTensors initial_state() const override {
    nn::NamedTensors out;
    add_state(out, "net.", *net_);
    out.emplace_back("in.x", x_);
    out.emplace_back("in.target", target_);
    return out;
  }
  void to(Device d) override {
    net_->to(d);
    x_ = x_.to(d), target_ = target_.to(d);
    opt_ = std::make_unique<nn::Adam>(net_->named_parameters(), adam_);
  }
  void iteration(StepRecord* r) override {
    opt_->zero_grad();
    Tensor loss;
    {
      const AutocastScope mixed = autocast();
      loss = soft_dice_loss(softmax(net_->forward(x_), 1), target_, 1);
    }
    scaler(0).scale(loss).backward();
    if (r) r->loss("net", loss), r->grads("net.", *net_, unscale(0));
    scaler(0).step(*opt_);
  }

 private:
  UNetSize size_;
  bool channels_last_;
  nn::AdamOptions adam_;
  Generator gen_{11};
  std::shared_ptr<models::SegmentationUNet> net_;
  Tensor x_, target_;
  std::unique_ptr<nn::Adam> opt_;
};

// ---- pix2pix or SPADE + conditional PatchGAN, least squares + lambda L1 ----------------------
class TranslatorCheck final : public NetCheck {
 public:
  TranslatorCheck(const std::string& kind, const std::string& scale) : kind_(kind) {
    const auto& cfg = paper();
    adam_ = {cfg.number("translate.lr"), cfg.number("translate.beta1"), cfg.number("translate.beta2")};
    l1_weight_ = cfg.numbers("translate.l1_weights").at(0);
    batch_ = cfg.integer("translate.batch");
    classes_ = scale == "tiny" ? 5 : cfg.integer("data.classes");
    const auto g = cfg.integers("data.grid");
    const int64_t full[3] = {g[0], g[1], g[2]}, small[3] = {16, 32, 32}, tiny[3] = {8, 8, 8};
    const int64_t* grid = scale == "paper" ? full : scale == "small" ? small : tiny;
    dc_.label_channels = classes_;
    dc_.filters = scale == "paper" ? cfg.integers("translate.discriminator.filters")
                                   : scale == "small" ? std::vector<int64_t>{8, 16, 32} : std::vector<int64_t>{4, 8};
    dc_.kernel = static_cast<int>(cfg.integer("translate.discriminator.kernel"));
    dc_.slope = cfg.number("translate.discriminator.leaky_slope");
    if (kind == "pix2pix") make_pix2pix(scale, grid);
    else make_spade(scale, grid);
    d_ = std::make_shared<models::PatchGan>(dc_, gen_, aux_);
    labels_ = random_one_hot(batch_, classes_, spatial_, gen_);
    Shape image{batch_, 1};
    image.insert(image.end(), spatial_.begin(), spatial_.end());
    real_ = tanh(Tensor::randn(image, gen_));
    z_d_ = Tensor::randn({batch_, z_dim_}, gen_);
    z_g_ = Tensor::randn({batch_, z_dim_}, gen_);
  }
  json config() const override {
    json c = {{"net", kind_}, {"batch", batch_}, {"label_channels", classes_}, {"spatial", spatial_},
              {"l1_weight", l1_weight_}, {"adam", adam_json(adam_)}, {"parameters", g_->num_parameters()},
              {"d_parameters", d_->num_parameters()},
              {"d", {{"dims", dc_.dims}, {"filters", dc_.filters}, {"kernel", dc_.kernel}, {"slope", dc_.slope}}}};
    if (kind_ == "pix2pix")
      c["g"] = {{"dims", pc_.dims}, {"base_filters", pc_.base_filters}, {"max_filters", pc_.max_filters},
                {"depth", pc_.depth}, {"kernel", pc_.kernel}, {"slope", pc_.slope}, {"dropout", pc_.dropout}};
    else
      c["g"] = {{"dims", 2}, {"z_dim", sc_.z_dim}, {"filters", sc_.filters}, {"hidden", sc_.hidden},
                {"out_kernel", sc_.out_kernel}, {"slope", sc_.slope}};
    return c;
  }
  nn::NamedTensors initial_state() const override {
    nn::NamedTensors out;
    add_state(out, "g.", *g_);
    add_state(out, "d.", *d_);
    out.emplace_back("in.labels", labels_);
    out.emplace_back("in.real", real_);
    if (kind_ == "spade") out.emplace_back("in.z_d", z_d_), out.emplace_back("in.z_g", z_g_);
    return out;
  }
  void to(Device d) override {
    g_->to(d), d_->to(d);
    labels_ = labels_.to(d), real_ = real_.to(d), z_d_ = z_d_.to(d), z_g_ = z_g_.to(d);
    og_ = std::make_unique<nn::Adam>(g_->named_parameters(), adam_);
    od_ = std::make_unique<nn::Adam>(d_->named_parameters(), adam_);
  }
  void iteration(StepRecord* r) override {
    od_->zero_grad();
    Tensor loss_d;
    {
      const AutocastScope mixed = autocast();
      Tensor fake = generate(z_d_).detach();
      loss_d = models::lsgan_discriminator_loss(d_->forward(real_, labels_), d_->forward(fake, labels_));
    }
    scaler(0).scale(loss_d).backward();
    if (r) r->loss("d", loss_d), r->grads("d.", *d_, unscale(0));
    scaler(0).step(*od_);
    if (r) r->weights("d.", *d_);
    og_->zero_grad();
    models::TranslationGeneratorLoss g;
    {
      const AutocastScope mixed = autocast();
      Tensor fake = generate(z_g_);
      g = models::translation_generator_loss(d_->forward(fake, labels_), fake, real_, l1_weight_);
    }
    scaler(1).scale(g.loss).backward();
    if (r) r->loss("g", g.loss), r->loss("g_gan", g.gan), r->loss("g_l1", g.l1), r->grads("g.", *g_, unscale(1));
    scaler(1).step(*og_);
  }

 private:
  void make_pix2pix(const std::string& scale, const int64_t* grid) {
    const auto& cfg = paper();
    pc_.dims = static_cast<int>(cfg.integer("translate.dims"));
    pc_.label_channels = classes_;
    pc_.base_filters = scale == "paper" ? cfg.integer("translate.pix2pix.base_filters") : scale == "small" ? 16 : 4;
    pc_.max_filters = 8 * pc_.base_filters;
    pc_.depth = scale == "paper" ? static_cast<int>(cfg.integer(pc_.dims == 2 ? "translate.pix2pix.depth_2d"
                                                                                : "translate.pix2pix.depth_3d"))
                                 : scale == "small" ? 3 : 2;
    pc_.kernel = static_cast<int>(cfg.integer("translate.pix2pix.kernel"));
    pc_.slope = cfg.number("translate.pix2pix.leaky_slope");
    pc_.dropout = 0;  // PyTorch cannot draw the same dropout masks
    spatial_ = spatial_of(grid, pc_.dims);
    dc_.dims = pc_.dims;
    auto g = std::make_shared<models::Pix2PixGenerator>(pc_, gen_, aux_);
    g_ = g;
    generate = [g, this](const Tensor&) { return g->forward(labels_); };
  }
  void make_spade(const std::string& scale, const int64_t* grid) {
    const auto& cfg = paper();
    sc_.dims = 2;
    spatial_ = spatial_of(grid, 2);
    sc_.out_size = spatial_;
    sc_.label_channels = classes_;
    sc_.z_dim = scale == "paper" ? cfg.integer("translate.spade.latent_dim") : scale == "small" ? 32 : 8;
    sc_.filters = scale == "paper" ? cfg.integers("translate.spade.filters")
                                   : scale == "small" ? std::vector<int64_t>{32, 16, 8} : std::vector<int64_t>{8, 4};
    if (scale != "paper") sc_.hidden = scale == "small" ? 16 : 4;
    sc_.out_kernel = static_cast<int>(cfg.integer("translate.spade.out_kernel"));
    z_dim_ = sc_.z_dim;
    dc_.dims = 2;
    auto g = std::make_shared<models::SpadeGenerator>(sc_, gen_);
    g_ = g;
    generate = [g, this](const Tensor& z) { return g->forward(z, labels_); };
  }

  std::string kind_;
  nn::AdamOptions adam_;
  double l1_weight_ = 10;
  int64_t batch_ = 1, classes_ = 29, z_dim_ = 1;
  Shape spatial_;
  models::Pix2PixConfig pc_;
  models::SpadeConfig sc_;
  models::PatchGanConfig dc_;
  Generator gen_{12}, aux_{13};
  std::shared_ptr<nn::Module> g_;
  std::function<Tensor(const Tensor& z)> generate;
  std::shared_ptr<models::PatchGan> d_;
  Tensor labels_, real_, z_d_, z_g_;
  std::unique_ptr<nn::Adam> og_, od_;
};

// ---- lesion WGAN-GP: critic step with gradient penalty, generator step -----------------------
class WganCheck final : public NetCheck {
 public:
  explicit WganCheck(const std::string& scale) {
    const auto& cfg = paper();
    adam_ = {cfg.number("maskgan.lr"), cfg.number("maskgan.beta1"), cfg.number("maskgan.beta2")};
    gp_weight_ = cfg.number("maskgan.gp_weight");
    batch_ = cfg.integer("maskgan.batch");
    if (scale == "paper") {
      const auto g = cfg.integers("data.grid"), base = cfg.integers("maskgan.base_shape");
      c_.z_dim = cfg.integer("maskgan.latent_dim");
      c_.start = {base[0], base[1], base[2]};
      c_.gen_filters = cfg.integers("maskgan.gen_filters");
      c_.mask_size = {g[0], g[1], g[2]};
      c_.critic_filters = cfg.integers("maskgan.critic_filters");
      c_.critic_dense = cfg.integer("maskgan.critic_dense");
      c_.slope = cfg.number("maskgan.leaky_slope");
    } else if (scale == "small") {
      c_.z_dim = 32, c_.start = {1, 2, 2}, c_.gen_filters = {32, 16, 8, 8}, c_.mask_size = {16, 32, 32};
      c_.critic_filters = {8, 16, 32, 64, 128}, c_.critic_dense = 128;
    } else {
      c_.z_dim = 8, c_.start = {1, 2, 2}, c_.gen_filters = {6, 4}, c_.mask_size = {4, 8, 8};
      c_.critic_filters = {4, 6}, c_.critic_dense = 16;
    }
    g_ = std::make_shared<models::LesionGenerator>(c_, gen_);
    k_ = std::make_shared<models::LesionCritic>(c_, gen_);
    real_ = random_mask({batch_, 1, c_.mask_size[0], c_.mask_size[1], c_.mask_size[2]}, gen_);
    z_d_ = Tensor::randn({batch_, c_.z_dim}, gen_);
    z_g_ = Tensor::randn({batch_, c_.z_dim}, gen_);
    eps_ = Tensor::rand({batch_, 1, 1, 1, 1}, gen_);
  }
  json config() const override {
    return {{"net", "wgan"}, {"batch", batch_}, {"z_dim", c_.z_dim}, {"start", c_.start},
            {"gen_filters", c_.gen_filters}, {"mask_size", c_.mask_size}, {"critic_filters", c_.critic_filters},
            {"critic_dense", c_.critic_dense}, {"slope", c_.slope}, {"gp_weight", gp_weight_},
            {"adam", adam_json(adam_)}, {"parameters", g_->num_parameters()}, {"d_parameters", k_->num_parameters()}};
  }
  nn::NamedTensors initial_state() const override {
    nn::NamedTensors out;
    add_state(out, "g.", *g_);
    add_state(out, "c.", *k_);
    out.emplace_back("in.real", real_);
    out.emplace_back("in.z_d", z_d_);
    out.emplace_back("in.z_g", z_g_);
    out.emplace_back("in.eps", eps_);
    return out;
  }
  void to(Device d) override {
    g_->to(d), k_->to(d);
    real_ = real_.to(d), z_d_ = z_d_.to(d), z_g_ = z_g_.to(d), eps_ = eps_.to(d);
    og_ = std::make_unique<nn::Adam>(g_->named_parameters(), adam_);
    oc_ = std::make_unique<nn::Adam>(k_->named_parameters(), adam_);
  }
  void iteration(StepRecord* r) override {
    oc_->zero_grad();
    models::WganGpCriticLoss c;
    {
      const AutocastScope mixed = autocast();
      Tensor fake = g_->forward(z_d_).detach();
      // fp16: the penalty's inner gradient scaled as the trainer does (models/gan_losses.h).
      const double inner = scaler(0).enabled() ? scaler(0).scale() : 1.0;
      c = models::wgan_gp_critic_loss([this](const Tensor& x) { return k_->forward(x); }, real_, fake, eps_, gp_weight_,
                                      inner);
    }
    scaler(0).scale(c.loss).backward();
    if (r)
      r->loss("c", c.loss), r->loss("c_wasserstein", c.wasserstein), r->loss("c_gp", c.penalty),
          r->grads("c.", *k_, unscale(0));
    scaler(0).step(*oc_);
    if (r) r->weights("c.", *k_);
    og_->zero_grad();
    Tensor loss_g;
    {
      const AutocastScope mixed = autocast();
      loss_g = models::wgan_generator_loss(k_->forward(g_->forward(z_g_)));
    }
    scaler(1).scale(loss_g).backward();
    if (r) r->loss("g", loss_g), r->grads("g.", *g_, unscale(1));
    scaler(1).step(*og_);
  }

 private:
  models::LesionGanConfig c_;
  nn::AdamOptions adam_;
  double gp_weight_ = 10;
  int64_t batch_ = 1;
  Generator gen_{14};
  std::shared_ptr<models::LesionGenerator> g_;
  std::shared_ptr<models::LesionCritic> k_;
  Tensor real_, z_d_, z_g_, eps_;
  std::unique_ptr<nn::Adam> og_, oc_;
};

}  // namespace

UNetSize unet_size(const std::string& scale) {
  check_scale(scale);
  UNetSize s;
  if (scale == "paper") {
    const auto& cfg = paper();
    const auto g = cfg.integers("data.grid");
    s.batch = cfg.integer("segment.batch");
    s.base_filters = cfg.integer("segment.base_filters");
    s.depth = static_cast<int>(cfg.integer("segment.depth"));
    for (int d = 0; d < 3; ++d) s.grid[d] = g[static_cast<size_t>(d)];
  } else if (scale == "small") {
    s.batch = 2, s.base_filters = 8, s.depth = 3;
    s.grid[0] = 16, s.grid[1] = 32, s.grid[2] = 32;
  } else {
    s.batch = 2, s.base_filters = 2, s.depth = 2;
    s.grid[0] = 4, s.grid[1] = 8, s.grid[2] = 8;
  }
  return s;
}

void StepRecord::loss(const std::string& name, const Tensor& value) {
  tensors.emplace_back("loss." + name, value.detach().to(Device::cpu()).reshape({1}));
}

void StepRecord::grads(const std::string& prefix, const nn::Module& m, double unscale) {
  for (auto& [name, p] : m.named_parameters()) {
    PN_CHECK(p.grad().defined(), "gpu_check steps: parameter {}{} got no gradient", prefix, name);
    Tensor g = p.grad().detach().to(Device::cpu());
    tensors.emplace_back("grad." + prefix + name, unscale == 1.0 ? g : g * unscale);
  }
}

void NetCheck::set_precision(Precision p) {
  if (p == Precision::TF32)
    throw std::invalid_argument("gpu_check steps: --precision tf32 is not a step setting (the conv step's --tf32 "
                                "compares TF32); use fp32, bf16 or fp16");
  precision_ = p;
  // PyTorch's GradScaler defaults (growth 2, backoff 0.5, interval 2000), initial scale kGradScale.
  for (auto& s : scalers_) s = nn::GradScaler({.enabled = p == Precision::FP16, .init_scale = kGradScale});
}

void StepRecord::weights(const std::string& prefix, const nn::Module& m) {
  for (auto& [name, p] : m.named_parameters()) tensors.emplace_back("after." + prefix + name, p.detach().to(Device::cpu()));
}

std::unique_ptr<NetCheck> make_net_check(const std::string& net, const std::string& scale) {
  check_scale(scale);
  if (net == "unet" || net == "unet_cl") return std::make_unique<UNetCheck>(scale, net == "unet_cl");
  if (net == "pix2pix" || net == "spade") return std::make_unique<TranslatorCheck>(net, scale);
  if (net == "wgan") return std::make_unique<WganCheck>(scale);
  throw std::invalid_argument("gpu_check steps: unknown network '" + net + "' (use unet, unet_cl, pix2pix, spade or wgan)");
}

}  // namespace pn::gpu_check
