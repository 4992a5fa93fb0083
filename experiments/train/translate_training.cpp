#include "experiments/train/translate_training.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>

#include "autograd/grad_mode.h"
#include "autograd/ops/concat.h"
#include "data/label_scheme.h"
#include "data/nifti_io.h"
#include "data/pipeline.h"
#include "data/tensor_bridge.h"
#include "experiments/run/checkpoint_dir.h"
#include "experiments/config/config_presets.h"
#include "experiments/config/dataset_config.h"
#include "experiments/run/progress.h"
#include "experiments/train/seg_training.h"
#include "experiments/train/training_loop.h"
#include "models/gan_losses.h"
#include "models/patchgan.h"
#include "models/pix2pix.h"
#include "models/spade_generator.h"
#include "nn/data_parallel.h"
#include "nn/optim.h"
#include "nn/safetensors.h"

namespace pn::experiments {

namespace fs = std::filesystem;
using cli::Progress;

namespace {

// A translator: its module (for checkpoints and data parallelism) and how it maps a
// one-hot label batch to images (SPADE draws its latent from the generator).
struct Translator {
  std::shared_ptr<nn::Module> module;
  std::function<Tensor(const Tensor& labels, Generator& gen)> generate;
  int dims = 2;
  double l1 = 10;
  std::string upsampling;  // pix2pix's decoder (translate.pix2pix.upsample); empty for SPADE
  std::string affine;      // SPADE's gamma / beta convolutions (translate.spade.affine); empty for pix2pix
};

Translator make_translator(const Config& cfg, const std::string& model, Generator& gen, Generator& dropout_gen) {
  const int64_t classes = cfg.integer("data.classes");
  const auto grid = cfg.integers("data.grid");
  Translator t;
  if (model == "spade") {
    models::SpadeConfig c;
    c.dims = 2;
    c.out_size = {grid[1], grid[2]};
    c.z_dim = cfg.integer("translate.spade.latent_dim");
    c.label_channels = classes;
    c.filters = cfg.integers("translate.spade.filters");
    c.out_kernel = static_cast<int>(cfg.integer("translate.spade.out_kernel"));
    t.affine = cfg.string("translate.spade.affine");
    c.joint_affine = t.affine == "joint";
    auto g = std::make_shared<models::SpadeGenerator>(c, gen);
    t.module = g;
    t.generate = [g, z = c.z_dim](const Tensor& labels, Generator& r) {
      return g->forward(Tensor::randn({labels.size(0), z}, r, DType::Float32, labels.device()), labels);
    };
    t.l1 = cfg.numbers("translate.l1_weights").at(0);
    return t;
  }
  PN_CHECK(model.rfind("pix2pix", 0) == 0 && model.size() > 7,
           "translate: unknown model '{}' (use pix2pixN with N the L1 weight, e.g. pix2pix10, or spade)", model);
  t.l1 = std::stod(model.substr(7));
  t.dims = static_cast<int>(cfg.integer("translate.dims"));
  models::Pix2PixConfig c;
  c.dims = t.dims;
  c.label_channels = classes;
  c.base_filters = cfg.integer("translate.pix2pix.base_filters");
  c.max_filters = 8 * c.base_filters;
  c.depth = static_cast<int>(cfg.integer(t.dims == 2 ? "translate.pix2pix.depth_2d" : "translate.pix2pix.depth_3d"));
  c.kernel = static_cast<int>(cfg.integer("translate.pix2pix.kernel"));
  c.dropout = cfg.number("translate.pix2pix.dropout");
  c.slope = cfg.number("translate.pix2pix.leaky_slope");
  t.upsampling = cfg.string("translate.pix2pix.upsample");
  c.polyphase_upsampling = t.upsampling == "polyphase";
  auto g = std::make_shared<models::Pix2PixGenerator>(c, gen, dropout_gen);
  t.module = g;
  t.generate = [g](const Tensor& labels, Generator&) { return g->forward(labels); };
  return t;
}

std::shared_ptr<models::PatchGan> make_discriminator(const Config& cfg, int dims, Generator& gen, Generator& noise) {
  models::PatchGanConfig c;
  c.dims = dims;
  c.label_channels = cfg.integer("data.classes");
  c.filters = cfg.integers("translate.discriminator.filters");
  c.kernel = static_cast<int>(cfg.integer("translate.discriminator.kernel"));
  c.slope = cfg.number("translate.discriminator.leaky_slope");
  c.instance_noise = cfg.number("translate.instance_noise");
  return std::make_shared<models::PatchGan>(c, gen, noise);
}

nn::AdamOptions adam(const Config& cfg) {
  return {cfg.number("translate.lr"), cfg.number("translate.beta1"), cfg.number("translate.beta2")};
}

}  // namespace

namespace {

// The translator, the discriminator, their optimisers and the random generators of a run.
struct TranslationGan {
  Generator init, dropout, instance_noise, latent;  // weights; pix2pix dropout; PatchGAN noise; SPADE's z
  Translator t;
  std::shared_ptr<models::PatchGan> d;
  TranslationGan(const Config& cfg, const std::string& model, uint64_t seed)
      : init(seed), dropout(seed + 1), instance_noise(seed + 2), latent(seed + 3) {
    t = make_translator(cfg, model, init, dropout);
    d = make_discriminator(cfg, t.dims, init, instance_noise);
  }
};

// One discriminator step (real pairs -> 1, generated pairs -> 0) and one generator step
// (the updated discriminator should call its images real; L1 to the truth), least squares.
struct TranslationStep {
  TranslationGan& gan;
  nn::Adam &og, &od;
  nn::DataParallel &dp_g, &dp_d;
  nn::GradScaler &sg, &sd;  // fp16 loss scaling of each network's step
  Precision precision;      // run.precision: the forward passes and losses under autocast
  std::vector<double> operator()(const Tensor& labels, const Tensor& real) {
    od.zero_grad();
    Tensor loss_d;
    {
      const AutocastScope mixed(precision);
      Tensor fake = gan.t.generate(labels, gan.latent).detach();
      loss_d = models::lsgan_discriminator_loss(gan.d->forward(real, labels), gan.d->forward(fake, labels));
    }
    sd.scale(loss_d).backward();
    dp_d.average_gradients();
    sd.step(od);
    og.zero_grad();
    models::TranslationGeneratorLoss lg;
    {
      const AutocastScope mixed(precision);
      Tensor fake = gan.t.generate(labels, gan.latent);
      lg = models::translation_generator_loss(gan.d->forward(fake, labels), fake, real, gan.t.l1);
    }
    sg.scale(lg.loss).backward();
    dp_g.average_gradients();
    sg.step(og);
    return {loss_d.item(), lg.gan.item(), lg.l1.item()};
  }
};

// What a 2-D epoch visits, for the plan's log line: every grid slice, or the data.slices
// ones when the grid pads around them.
std::string slices_2d_note(const data::PipelineOptions& pipe, size_t volumes) {
  const auto [first, last] = data::data_slices(pipe);
  if (last - first == pipe.size[2]) return fmt::format("2-D slices ({} volumes)", volumes);
  return fmt::format("2-D slices ({} volumes; slices {} to {} of the {}-slice grid hold the data.slices range, the "
                     "padding around them is left out)", volumes, first, last - 1, pipe.size[2]);
}

TranslateResult train_translation(TrainingLoop& loop, const Config& cfg, const std::string& model) {
  TranslationGan gan(cfg, model, static_cast<uint64_t>(cfg.integer("run.seed")));
  loop.place(*gan.t.module);
  loop.place(*gan.d);
  nn::Adam og(gan.t.module->named_parameters(), adam(cfg)), od(gan.d->named_parameters(), adam(cfg));
  nn::DataParallel dp_g(loop.tensors(), {gan.t.module.get()}), dp_d(loop.tensors(), {gan.d.get()});
  nn::GradScaler sg(loop.scaler_options()), sd(loop.scaler_options());
  loop.track({{{"generator", gan.t.module.get()}, {"discriminator", gan.d.get()}}, {{"opt_g", &og}, {"opt_d", &od}},
              {{"init", &gan.init}, {"dropout", &gan.dropout}, {"instance_noise", &gan.instance_noise},
               {"latent", &gan.latent}},
              {{"opt_g", &sg}, {"opt_d", &sd}}});
  for (Generator* g : {&gan.dropout, &gan.instance_noise, &gan.latent}) loop.add_noise(*g);

  data::PipelineOptions pipe = seg_pipeline(cfg, cfg.boolean("translate.augment"));
  pipe.labels_target = true;
  const data::FolderDataset train =
      open_checked_dataset(cfg, cfg.string("data.train_dir"), "data.train_dir", {.labels = true}, &pipe);
  data::BatchLoader::Options lo;
  lo.batch = static_cast<int>(cfg.integer("translate.batch") * loop.ranks());
  lo.slices_2d = gan.t.dims == 2;
  lo.drop_last = true;  // every step holds a whole global batch, whatever the rank count
  lo.seed = static_cast<uint64_t>(cfg.integer("run.seed"));
  data::BatchLoader loader(train, pipe, lo);
  const int64_t slices = gan.t.dims == 2 ? loader.slices_per_volume() : 1;
  const int64_t steps = loop.plan(static_cast<int64_t>(train.size()) * slices, 0,
                                  gan.t.dims == 2 ? slices_2d_note(pipe, train.size()) : "volumes");
  PN_CHECK(loader.batches_per_epoch() == steps, "translate train: the loader has {} batches per epoch, the plan {}",
           loader.batches_per_epoch(), steps);
  if (loop.root() && !loop.done()) {
    nn::write_file_atomic((loop.run_dir() / "model.txt").string(), model + "\n");  // for `translate sample`
    std::printf("translate train %s: %zu volumes (%s), L1 weight %g; generator %lld, discriminator %lld parameters%s\n",
                model.c_str(), train.size(), gan.t.dims == 2 ? "2-D slices" : "3-D", gan.t.l1,
                (long long)gan.t.module->num_parameters(), (long long)gan.d->num_parameters(),
                gan.t.upsampling.empty() ? ("; SPADE gamma / beta convolutions " + gan.t.affine).c_str()
                                         : ("; decoder upsampling " + gan.t.upsampling).c_str());
  }
  loop.resume();
  TranslationStep step{gan, og, od, dp_g, dp_d, sg, sd, loop.precision()};
  TrainerHooks hooks;
  hooks.start_epoch = [&](int64_t e, int64_t first) { loader.start_epoch(static_cast<int>(e), first); };
  hooks.step = [&](const StepContext& c) {
    auto b = loader.next();
    PN_CHECK(b.has_value(), "translate train: the data ran out at step {} of epoch {}", c.step + 1, c.epoch);
    return step(loop.to_device(nn::rank_slice(b->target, loop.rank(), loop.ranks())),
                loop.to_device(nn::rank_slice(b->image, loop.rank(), loop.ranks())));
  };
  loop.run(hooks);
  TranslateResult result;
  result.run_dir = loop.run_dir().string();
  const std::vector<double> last = loop.last_metrics();
  if (last.size() == 3) result.last_l1 = last[2];
  loop.finish(fmt::format("{}: L1 {:.4f} in the last epoch", model, result.last_l1));
  return result;
}

}  // namespace

TranslateResult translate_train(const Config& cfg, const std::string& model, const RunDirOptions& run_opt) {
  LoopSpec spec{"translate train", "translate-" + model, {"d_loss", "g_gan_loss", "g_l1"}, {},
                cfg.integer("translate.epochs"), cfg.integer("translate.batch"), "translate.batch"};
  TrainingLoop loop(cfg, spec, run_opt);
  return loop.guard([&] { return train_translation(loop, cfg, model); });
}

struct TrainedTranslator::Impl {
  Config cfg;
  std::string model;
  Generator gen, dropout_gen, noise_gen;
  Translator t;
  std::shared_ptr<models::PatchGan> d;
  Impl(const std::string& run_dir, uint64_t seed, Device device)
      : gen(seed), dropout_gen(seed + 1), noise_gen(seed + 2) {
    cfg = run_config(run_dir);
    std::ifstream f(fs::path(run_dir) / "model.txt");
    PN_CHECK(static_cast<bool>(f >> model), "translate: {} has no model.txt (not a `translate train` run folder?)",
             run_dir);
    t = make_translator(cfg, model, gen, dropout_gen);
    d = make_discriminator(cfg, t.dims, gen, noise_gen);
    nn::Adam og(t.module->named_parameters(), adam(cfg)), od(d->named_parameters(), adam(cfg));
    load_newest_checkpoint(run_dir, "translate", {{{"generator", t.module.get()}, {"discriminator", d.get()}},
                                                  {{"opt_g", &og}, {"opt_d", &od}}, {}});
    t.module->to(device);
    t.module->eval();
  }
};

TrainedTranslator::TrainedTranslator(const std::string& run_dir, uint64_t seed, Device device)
    : impl_(std::make_unique<Impl>(run_dir, seed, device)) {}
TrainedTranslator::~TrainedTranslator() = default;
const std::string& TrainedTranslator::model() const { return impl_->model; }
const Config& TrainedTranslator::config() const { return impl_->cfg; }

data::Volume TrainedTranslator::generate(const data::LabelVolume& labels) {
  const int classes = static_cast<int>(impl_->cfg.integer("data.classes"));
  Tensor oh = data::one_hot(labels, classes).to(impl_->t.module->device());  // [C, D, H, W]
  const int64_t depth = oh.size(1), h = oh.size(2), w = oh.size(3);
  std::vector<double> img;
  {
    NoGrad ng;
    Translator& t = impl_->t;
    if (t.dims == 3) {
      img = t.generate(oh.reshape({1, classes, depth, h, w}), impl_->gen).to_vector();
    } else {
      std::vector<Tensor> slices;
      for (int64_t z = 0; z < depth; ++z)
        slices.push_back(t.generate(narrow(oh, 1, z, 1).reshape({1, classes, h, w}), impl_->gen));
      img = concat(slices, 0).to_vector();
    }
  }
  data::Volume out;
  static_cast<data::Grid&>(out) = labels.grid();
  out.header.datatype = 16;  // float32 intensities in [-1, 1], whatever the label file held
  out.header.scl_slope = out.header.scl_inter = 0;
  out.data.assign(img.begin(), img.end());
  return out;
}

data::LabelVolume labels_on_study_grid(const Config& cfg, const std::string& path) {
  data::Case c;
  c.id = fs::path(path).filename().string();
  c.labels = data::read_label_map(path, load_options(cfg));
  static_cast<data::Grid&>(c.image) = c.labels->grid();
  c.image.data.assign(static_cast<size_t>(c.labels->numel()), 0.f);
  static_cast<data::Grid&>(c.mask) = c.labels->grid();
  c.mask.data.assign(static_cast<size_t>(c.labels->numel()), 0);
  data::PipelineOptions pipe = seg_pipeline(cfg, false);
  pipe.labels_target = true;
  pipe.normalisation = data::Normalisation::None;
  return data::preprocess(c, pipe, 0).target;
}

void translate_sample(const std::string& run_dir, const std::string& labels_dir, const std::string& out_dir,
                      uint64_t seed, Device device) {
  TrainedTranslator tr(run_dir, seed, device);
  const auto sfx = seg_suffixes(tr.config());
  std::vector<fs::path> maps;
  for (const auto& e : fs::directory_iterator(labels_dir)) {
    const std::string n = e.path().filename().string();
    if (n.find("_" + sfx.labels + ".nii") != std::string::npos) maps.push_back(e.path());
  }
  std::sort(maps.begin(), maps.end());
  PN_CHECK(!maps.empty(), "translate sample: no `<case>_{}.nii(.gz)` label maps in {}", sfx.labels, labels_dir);
  fs::create_directories(out_dir);
  Progress prog("translate", static_cast<int64_t>(maps.size()), "volume");
  for (const auto& p : maps) {
    const std::string name = p.filename().string();
    const std::string id = name.substr(0, name.find("_" + sfx.labels + ".nii"));
    data::Volume out = tr.generate(labels_on_study_grid(tr.config(), p.string()));
    data::write_nifti(out, (fs::path(out_dir) / (id + "_" + sfx.image + ".nii.gz")).string());
    prog.advance(1, id);
  }
  prog.finish();
  std::printf("wrote %zu images to %s\n", maps.size(), out_dir.c_str());
}

}  // namespace pn::experiments
