#include "experiments/train/maskgan_training.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "autograd/grad_mode.h"
#include "autograd/ops/elementwise.h"
#include "data/distance_transform.h"
#include "data/folder_dataset.h"
#include "data/montage.h"
#include "data/nifti_io.h"
#include "data/pipeline.h"
#include "data/tensor_bridge.h"
#include "experiments/run/checkpoint_dir.h"
#include "experiments/config/config_presets.h"
#include "experiments/config/config_validate.h"
#include "experiments/config/dataset_config.h"
#include "experiments/train/lesion_sources.h"
#include "experiments/train/maskgan_selection.h"
#include "experiments/run/csv_table.h"
#include "experiments/run/progress.h"
#include "experiments/train/seg_training.h"
#include "experiments/train/training_loop.h"
#include "models/gan_losses.h"
#include "models/lesion_wgan.h"
#include "nn/data_parallel.h"
#include "nn/optim.h"
#include "nn/weight_average.h"

namespace pn::experiments {

namespace fs = std::filesystem;
using cli::Progress;

namespace {

models::LesionGanConfig gan_config(const Config& cfg) {
  models::LesionGanConfig c;
  const auto grid = cfg.integers("data.grid");
  const auto base = cfg.integers("maskgan.base_shape");
  c.z_dim = cfg.integer("maskgan.latent_dim");
  c.start = {base[0], base[1], base[2]};
  c.gen_filters = cfg.integers("maskgan.gen_filters");
  c.mask_size = {grid[0], grid[1], grid[2]};
  c.critic_filters = cfg.integers("maskgan.critic_filters");
  c.critic_dense = cfg.integer("maskgan.critic_dense");
  c.out_kernel = static_cast<int>(cfg.integer("maskgan.out_kernel"));
  c.minibatch_std = cfg.boolean("maskgan.minibatch_std");
  c.slope = cfg.number("maskgan.leaky_slope");
  return c;
}

// maskgan.generator_lr, or maskgan.lr when it is 0 (one rate for both networks, the paper's).
double generator_lr(const Config& cfg) {
  const double g = cfg.number("maskgan.generator_lr");
  return g > 0 ? g : cfg.number("maskgan.lr");
}

// Adam for an optimiser that steps `updates_per_step` times per training step of a run of
// `run_steps`: constant learning rate, or, with maskgan.lr_decay_start = f < 1, constant
// until f of the run and then linear to 0 at its end (nn::LrSchedule, counted in the
// optimiser's own steps, which checkpoints keep, so a resumed run continues the schedule).
// run_steps = 0: no schedule (an optimiser built only to load a checkpoint into).
// `lr` is maskgan.lr, or the generator's own rate (generator_lr()).
nn::AdamOptions gan_adam(const Config& cfg, double lr, int64_t run_steps = 0, int64_t updates_per_step = 1) {
  nn::AdamOptions o{lr, cfg.number("maskgan.beta1"), cfg.number("maskgan.beta2")};
  const double f = cfg.number("maskgan.lr_decay_start");
  if (f < 1 && run_steps > 0) {
    o.schedule.kind = nn::LrSchedule::Kind::LinearDecay;
    o.schedule.total_steps = run_steps * updates_per_step;
    o.schedule.decay_start = static_cast<int64_t>(std::llround(f * static_cast<double>(run_steps))) * updates_per_step;
  }
  return o;
}

// The training masks, sparse (a dense SOOP set on the paper's grid would take 3 GB): the
// lesion voxels' linear indices on the study grid (x fastest: the generator's [D, H, W]
// layout), masks with >= maskgan.min_lesion_voxels voxels only.
struct TrainingMasks {
  std::vector<std::vector<int64_t>> voxels;
  size_t considered = 0;  // masks read, before the size filter
  std::string source;     // for the log
};

TrainingMasks load_masks(const Config& cfg) {
  TrainingMasks tm;
  const int64_t min_voxels = cfg.integer("maskgan.min_lesion_voxels");
  const LesionSourceSpec spec = maskgan_mask_source(cfg);
  if (spec.real()) {
    const data::LesionSet set = load_lesion_source(spec, study_mni_grid(cfg), lesion_set_options(cfg, min_voxels));
    for (size_t i : set.train()) tm.voxels.push_back(set.masks[i].voxels);
    tm.considered = set.masks.size() + set.dropped.size();
    tm.source = fmt::format("{}: {} of {} masks with >= {} voxels on the grid, {} of them held out for evaluation",
                            spec.description, set.masks.size(), tm.considered, min_voxels, set.held_out().size());
  } else {
    const auto pipe = seg_pipeline(cfg, false);
    const data::FolderDataset ds = open_checked_dataset(cfg, cfg.string("data.train_dir"), "data.train_dir", {}, &pipe);
    tm.considered = ds.size();
    for (size_t i = 0; i < ds.size(); ++i) {
      const data::Sample s = data::preprocess(ds.load(i), pipe, 0);
      std::vector<int64_t> v;
      for (size_t x = 0; x < s.target.data.size(); ++x)
        if (s.target.data[x] != 0) v.push_back(static_cast<int64_t>(x));
      if (static_cast<int64_t>(v.size()) >= min_voxels) tm.voxels.push_back(std::move(v));
    }
    tm.source = fmt::format("the masks of data.train_dir ({}): {} of {} with >= {} lesion voxels",
                            cfg.string("data.train_dir"), tm.voxels.size(), tm.considered, min_voxels);
  }
  PN_CHECK(!tm.voxels.empty(), "maskgan train: no training mask has >= {} lesion voxels on the {} grid "
           "(maskgan.min_lesion_voxels; masks from {})", min_voxels, shape_str(cfg.integers("data.grid")), tm.source);
  return tm;
}

// Masks idx as [batch, 1, D, H, W] in the generator's tanh range: {-1, 1} with margin 1 (the
// paper's binary masks), else truncated signed distances (data/distance_transform.h,
// maskgan.distance_margin), positive on the lesion either way.
Tensor mask_batch(const TrainingMasks& tm, const std::vector<int64_t>& idx, const std::vector<int64_t>& grid,
                  double margin) {
  const int64_t per = grid[0] * grid[1] * grid[2];
  std::vector<float> v(idx.size() * static_cast<size_t>(per), -1.f);
  for (size_t b = 0; b < idx.size(); ++b) {
    float* out = v.data() + b * static_cast<size_t>(per);
    for (int64_t x : tm.voxels[static_cast<size_t>(idx[b])]) out[x] = 1.f;
    if (margin <= 1) continue;
    std::vector<bool> lesion(static_cast<size_t>(per));
    for (int64_t x = 0; x < per; ++x) lesion[static_cast<size_t>(x)] = out[x] > 0;
    const std::vector<float> sd = data::signed_distance_mask(lesion, {grid[2], grid[1], grid[0]}, margin);
    std::copy(sd.begin(), sd.end(), out);
  }
  return Tensor::from_vector(v, {static_cast<int64_t>(idx.size()), 1, grid[0], grid[1], grid[2]});
}

// Position p of an endless stream of seeded permutations of 0..n-1 (permutation k =
// epoch_order(n, seed, k + 1)): every mask once per n draws, whatever the epoch length.
class MaskStream {
 public:
  MaskStream(int64_t n, uint64_t seed) : n_(n), seed_(seed) {}
  int64_t at(int64_t p) {
    if (p / n_ != cached_) cached_ = p / n_, order_ = nn::epoch_order(n_, seed_, cached_ + 1);
    return order_[static_cast<size_t>(p % n_)];
  }

 private:
  int64_t n_;
  uint64_t seed_;
  int64_t cached_ = -1;
  std::vector<int64_t> order_;
};

}  // namespace

LesionSourceSpec maskgan_mask_source(const Config& cfg) {
  return resolve_lesion_source("maskgan.masks", cfg.string("maskgan.masks"), "train_dir");
}

data::Grid maskgan_mask_grid(const Config& cfg) {
  if (maskgan_mask_source(cfg).real()) return study_mni_grid(cfg);
  const auto grid = cfg.integers("data.grid");
  const auto spacing = cfg.numbers("data.spacing");
  return data::Grid::centred({grid[2], grid[1], grid[0]}, {spacing[2], spacing[1], spacing[0]});
}

int remove_small_components(data::LabelVolume& mask, int64_t min_voxels) {
  const auto& d = mask.dims;
  std::vector<int32_t> label(mask.data.size(), 0);
  std::vector<int64_t> stack, members;
  int kept = 0, next = 0;
  for (int64_t start = 0; start < static_cast<int64_t>(mask.data.size()); ++start) {
    if (!mask.data[start] || label[start]) continue;
    label[start] = ++next;
    stack = {start};
    members.clear();
    while (!stack.empty()) {
      const int64_t v = stack.back();
      stack.pop_back();
      members.push_back(v);
      const int64_t i = v % d[0], j = (v / d[0]) % d[1], k = v / (d[0] * d[1]);
      const int64_t nb[6][3] = {{i - 1, j, k}, {i + 1, j, k}, {i, j - 1, k}, {i, j + 1, k}, {i, j, k - 1}, {i, j, k + 1}};
      for (const auto& n : nb) {
        if (!mask.inside(n[0], n[1], n[2])) continue;
        const int64_t u = mask.index(n[0], n[1], n[2]);
        if (mask.data[u] && !label[u]) label[u] = next, stack.push_back(u);
      }
    }
    if (static_cast<int64_t>(members.size()) < min_voxels)
      for (int64_t v : members) mask.data[v] = 0;
    else
      ++kept;
  }
  return kept;
}

MaskCut mask_cut(const Config& cfg) {
  return {cfg.number("maskgan.threshold"), cfg.number("maskgan.peak_cut"), cfg.integer("maskgan.min_component_voxels")};
}

double mask_threshold(const double* values, size_t count, const MaskCut& cut) {
  if (cut.peak_cut <= 0 || count == 0) return cut.threshold;
  // t_n = min(t, max_v f_n(v) - peak_cut): only a mask whose peak is under t + peak_cut moves.
  return std::min(cut.threshold, *std::max_element(values, values + count) - cut.peak_cut);
}

data::LabelVolume binary_mask(const double* values, const data::Grid& grid, const MaskCut& cut) {
  data::LabelVolume m;
  static_cast<data::Grid&>(m) = grid;
  m.data.resize(static_cast<size_t>(grid.numel()));
  const double threshold = mask_threshold(values, m.data.size(), cut);
  for (size_t j = 0; j < m.data.size(); ++j) m.data[j] = values[j] > threshold;
  remove_small_components(m, cut.min_component_voxels);
  return m;
}

namespace {

// The generator, the critic, their optimisers and the random generators of a mask GAN run.
struct MaskGan {
  models::LesionGanConfig config;
  Generator init, noise;  // weights; latents and interpolation weights (per sample)
  models::LesionGenerator g;
  models::LesionCritic k;
  // maskgan.ema_decay > 0: the moving average of g's weights (nn/weight_average.h), which
  // sampling uses; built after g and k so that their initial weights do not depend on it.
  std::unique_ptr<models::LesionGenerator> g_ema;
  // maskgan.select_samples > 0: the weights of the best-scoring epoch's sampled generator
  // (experiments/train/maskgan_selection.h), which sampling then uses.
  std::unique_ptr<models::LesionGenerator> g_selected;
  MaskGan(const Config& cfg, uint64_t seed)
      : config(gan_config(cfg)), init(seed), noise(seed + 1), g(config, init), k(config, init) {
    Generator unused(seed);  // the copies' initial weights are overwritten (moving average, selection)
    if (cfg.number("maskgan.ema_decay") > 0) g_ema = std::make_unique<models::LesionGenerator>(config, unused);
    if (cfg.integer("maskgan.select_samples") > 0)
      g_selected = std::make_unique<models::LesionGenerator>(config, unused);
  }
  // The modules a checkpoint holds (generator_ema and generator_selected only when kept).
  std::vector<std::pair<std::string, nn::Module*>> modules() {
    std::vector<std::pair<std::string, nn::Module*>> mods{{"generator", &g}, {"critic", &k}};
    if (g_ema) mods.push_back({"generator_ema", g_ema.get()});
    if (g_selected) mods.push_back({"generator_selected", g_selected.get()});
    return mods;
  }
  // The generator that training's selection measures: what sampling uses by default, but
  // for the selected copy itself.
  models::LesionGenerator& measured() { return g_ema ? *g_ema : g; }
};

// The share of a batch of generated masks ([N, 1, D, H, W], tanh outputs) with no voxel above
// the threshold: what sampling would throw away as empty (before speck removal).
double empty_fraction(const Tensor& masks, double threshold) {
  const std::vector<double> v = masks.detach().to_vector();
  const size_t n = static_cast<size_t>(masks.size(0)), per = v.size() / n;
  size_t empty = 0;
  for (size_t b = 0; b < n; ++b)
    empty += std::none_of(v.begin() + b * per, v.begin() + (b + 1) * per, [&](double x) { return x > threshold; });
  return static_cast<double>(empty) / static_cast<double>(n);
}

// One WGAN-GP iteration on this rank's real masks: critic_steps critic steps (fresh fakes
// and interpolation weights each), then one generator step. Returns the step metrics: the
// critic loss, the generator loss (with the weighted mask presence penalty, if any), the
// Wasserstein estimate, the gradient penalty (critic values averaged over its steps) and the
// share of the generator step's masks that come out empty at maskgan.threshold.
struct MaskGanStep {
  TrainingLoop& loop;
  MaskGan& m;
  nn::Adam &og, &ok;
  nn::DataParallel &dp_g, &dp_k;
  nn::GradScaler &sg, &sk;  // fp16 loss scaling of the generator's and the critic's steps
  int64_t critic_steps;
  double gp_weight;
  double presence_weight, threshold, min_voxels;  // maskgan.presence_weight, .threshold, .min_lesion_voxels
  int64_t presence_samples;  // maskgan.presence_samples: latents per sample for the penalty (1: the step's own)
  bool presence_on_peak;     // maskgan.presence_kind = "peak" (models/gan_losses.h), else "volume"
  Tensor latents(int64_t n) { return Tensor::randn({n, m.config.z_dim}, m.noise, DType::Float32, loop.device()); }
  // The masks the presence penalty sees: the generator step's own, or presence_samples fresh
  // latents per sample (the penalty is an expectation over z; one draw a step rarely lands
  // in the part of latent space that maps to nothing).
  Tensor presence_masks(const Tensor& fake) {
    if (presence_samples <= 1) return fake;
    const AutocastScope mixed = loop.autocast();
    return m.g.forward(latents(fake.size(0) * presence_samples));
  }
  // maskgan.presence_kind's penalty on the masks it sees, in float32 (the generator's tanh
  // output is float32 in every precision).
  Tensor presence_loss(const Tensor& fake) {
    const Tensor masks = presence_masks(fake).to(DType::Float32);
    return presence_on_peak ? models::mask_peak_presence_loss(masks, threshold)
                            : models::mask_presence_loss(masks, threshold, min_voxels);
  }
  std::vector<double> operator()(const Tensor& real) {
    const int64_t batch = real.size(0);
    auto critic = [this](const Tensor& x) { return m.k.forward(x); };
    double sums[3] = {0, 0, 0};  // critic loss, Wasserstein estimate, gradient penalty
    for (int64_t s = 0; s < critic_steps; ++s) {
      ok.zero_grad();
      models::WganGpCriticLoss lc;
      {
        // run.precision: the networks' convolutions in bf16/fp16, the penalty in float32
        // (its input gradient comes back float32 through the recorded casts).
        const AutocastScope mixed = loop.autocast();
        Tensor fake = m.g.forward(latents(batch)).detach();
        Tensor eps = Tensor::rand({batch, 1, 1, 1, 1}, m.noise, DType::Float32, loop.device());
        // fp16: the penalty's inner backward scaled by the critic's loss scale, too.
        lc = models::wgan_gp_critic_loss(critic, real, fake, eps, gp_weight, sk.enabled() ? sk.scale() : 1.0);
      }
      sk.scale(lc.loss).backward();
      dp_k.average_gradients();
      sk.step(ok);
      sums[0] += lc.loss.item(), sums[1] += lc.wasserstein.item(), sums[2] += lc.penalty.item();
    }
    og.zero_grad();
    Tensor loss_g, fake;
    {
      const AutocastScope mixed = loop.autocast();
      fake = m.g.forward(latents(batch));
      loss_g = models::wgan_generator_loss(m.k.forward(fake));
    }
    if (presence_weight > 0) loss_g = loss_g + mul_scalar(presence_loss(fake), presence_weight);
    sg.scale(loss_g).backward();
    dp_g.average_gradients();
    sg.step(og);
    const double cs = static_cast<double>(critic_steps);
    return {sums[0] / cs, loss_g.item(), sums[1] / cs, sums[2] / cs, empty_fraction(fake, threshold)};
  }
};

SelectionSampling selection_sampling(const Config& cfg) {
  SelectionSampling s;
  s.samples = cfg.integer("maskgan.select_samples");
  s.seed = static_cast<uint64_t>(cfg.integer("run.seed")) + 2;  // not the weights' (seed) nor the noise's (seed + 1)
  s.cut = mask_cut(cfg);
  s.temperature = cfg.number("maskgan.temperature");
  return s;
}

// The evaluate hook of maskgan.select_samples > 0 (rank 0, after every epoch): scores the
// sampled generator and copies its weights into generator_selected when no earlier epoch
// scored lower. Build it before loop.resume(), which then loads the kept copy; a resumed
// run measures that copy again at its first epoch end, to know the score to beat.
std::function<std::vector<double>(int64_t)> selection_hook(const Config& cfg, const TrainingMasks& masks, MaskGan& m,
                                                           TrainingLoop& loop) {
  auto selector = std::make_shared<MaskSelector>(masks.voxels, maskgan_mask_grid(cfg), selection_sampling(cfg));
  auto copy = std::make_shared<nn::WeightAverage>(m.measured(), *m.g_selected, 0.0);  // decay 0: a copy
  auto best = std::make_shared<std::optional<double>>();
  return [selector, copy, best, &m, &loop](int64_t epoch) {
    if (!*best && epoch > 1) *best = selector->measure(*m.g_selected, loop.device()).total();
    const SelectionScore s = selector->measure(m.measured(), loop.device());
    if (!*best || s.total() < **best) *best = s.total(), copy->reset();
    return std::vector<double>{s.empty, s.ks_volume, s.ks_components, s.ks_extent, s.total()};
  };
}

// "; sampling uses epoch K's generator (selection score x)" from metrics.csv (rank 0).
std::string selected_epoch_note(const fs::path& run_dir) {
  const CsvTable t = read_csv((run_dir / "metrics.csv").string());
  const std::vector<double> score = t.numbers("select_score");
  if (score.empty()) return "";
  const size_t best = static_cast<size_t>(std::min_element(score.begin(), score.end()) - score.begin());
  return fmt::format("; sampling uses the generator of epoch {} (selection score {:.3f}, maskgan.select_samples)",
                     t.numbers("epoch")[best], score[best]);
}

MaskGanResult train_mask_gan(TrainingLoop& loop, const Config& cfg) {
  // Rank 0 first: a cold load of a real set fills the cache the other ranks then read.
  TrainingMasks masks;
  if (loop.root()) masks = load_masks(cfg);
  loop.host().barrier();
  if (!loop.root()) masks = load_masks(cfg);
  const int64_t batch = cfg.integer("maskgan.batch"), critic_steps = cfg.integer("maskgan.critic_steps");
  const double gp_weight = cfg.number("maskgan.gp_weight");
  const uint64_t seed = static_cast<uint64_t>(cfg.integer("run.seed"));
  MaskGan m(cfg, seed);
  for (auto& [name, mod] : m.modules()) loop.place(*mod);
  const int64_t n = static_cast<int64_t>(masks.voxels.size());
  const int64_t run_steps = cfg.integer("maskgan.epochs") * loop.plan(n, cfg.integer("maskgan.steps_per_epoch"), "masks");
  nn::Adam og(m.g.named_parameters(), gan_adam(cfg, generator_lr(cfg), run_steps, 1)),
      ok(m.k.named_parameters(), gan_adam(cfg, cfg.number("maskgan.lr"), run_steps, critic_steps));
  nn::DataParallel dp_g(loop.tensors(), {&m.g}), dp_k(loop.tensors(), {&m.k});
  nn::GradScaler sg(loop.scaler_options()), sk(loop.scaler_options());
  std::optional<nn::WeightAverage> ema;  // every rank averages its own (identical) generator
  if (m.g_ema) ema.emplace(m.g, *m.g_ema, cfg.number("maskgan.ema_decay"));
  loop.track({m.modules(), {{"opt_g", &og}, {"opt_c", &ok}}, {{"init", &m.init}, {"noise", &m.noise}},
              {{"opt_g", &sg}, {"opt_c", &sk}}});
  loop.add_noise(m.noise);
  if (loop.root() && !loop.done())
    std::printf("maskgan train: %s\nmaskgan train: grid %s; generator %lld, critic %lld parameters\n",
                masks.source.c_str(), shape_str(m.config.mask_size).c_str(), (long long)m.g.num_parameters(),
                (long long)m.k.num_parameters());
  TrainerHooks hooks;
  if (m.g_selected) hooks.evaluate = selection_hook(cfg, masks, m, loop);
  loop.resume();
  MaskGanStep step{loop, m, og, ok, dp_g, dp_k, sg, sk, critic_steps, gp_weight, cfg.number("maskgan.presence_weight"),
                   cfg.number("maskgan.threshold"), static_cast<double>(cfg.integer("maskgan.min_lesion_voxels")),
                   cfg.integer("maskgan.presence_samples"), cfg.string("maskgan.presence_kind") == "peak"};
  MaskStream stream(n, seed);
  const auto grid = cfg.integers("data.grid");
  const double margin = cfg.number("maskgan.distance_margin");
  hooks.step = [&](const StepContext& c) {
    // This rank's slice of the global batch, drawn from the stream of permutations.
    const int64_t base = (c.global_step * loop.ranks() + loop.rank()) * batch;
    std::vector<int64_t> idx;
    for (int64_t b = 0; b < batch; ++b) idx.push_back(stream.at(base + b));
    std::vector<double> metrics = step(loop.to_device(mask_batch(masks, idx, grid, margin)));
    if (ema) ema->update(c.global_step);
    return metrics;
  };
  loop.run(hooks);
  MaskGanResult result;
  result.run_dir = loop.run_dir().string();
  result.training_masks = n;
  const std::vector<double> last = loop.last_metrics();
  if (last.size() >= 5) result.last_wasserstein = last[2];  // the step metrics, then any selection ones
  loop.finish(fmt::format("Wasserstein estimate {:.4f} in the last epoch{}", result.last_wasserstein,
                          m.g_selected && loop.root() ? selected_epoch_note(loop.run_dir()) : ""));
  return result;
}

}  // namespace

MaskGanResult maskgan_train(const Config& cfg, const RunDirOptions& run_opt) {
  std::vector<std::string> selection;
  if (cfg.integer("maskgan.select_samples") > 0)
    selection = {"select_empty", "select_ks_volume", "select_ks_components", "select_ks_extent", "select_score"};
  LoopSpec spec{"maskgan train", "maskgan", {"critic_loss", "generator_loss", "wasserstein", "gradient_penalty", "empty_fraction"},
                selection, cfg.integer("maskgan.epochs"), cfg.integer("maskgan.batch"), "maskgan.batch"};
  TrainingLoop loop(cfg, spec, run_opt);
  return loop.guard([&] { return train_mask_gan(loop, cfg); });
}

const std::vector<std::string>& maskgan_sampling_keys() {
  static const std::vector<std::string> keys{"maskgan.threshold", "maskgan.peak_cut", "maskgan.temperature",
                                             "maskgan.min_component_voxels",
                                             "maskgan.sample_ema", "maskgan.sample_selected"};
  return keys;
}

SampledWeights sampled_weights(const Config& cfg) {
  if (cfg.integer("maskgan.select_samples") > 0 && cfg.boolean("maskgan.sample_selected")) return SampledWeights::Selected;
  if (cfg.number("maskgan.ema_decay") > 0 && cfg.boolean("maskgan.sample_ema")) return SampledWeights::Average;
  return SampledWeights::Last;
}

const char* sampled_weights_name(SampledWeights w) {
  switch (w) {
    case SampledWeights::Selected: return "the selected epoch's weights";
    case SampledWeights::Average: return "the moving average";
    case SampledWeights::Last: break;
  }
  return "the last weights";
}

void check_sampling_overrides(const std::vector<std::string>& overrides) {
  const auto& keys = maskgan_sampling_keys();
  for (const auto& s : overrides) {
    const std::string key = s.substr(0, s.find('='));
    PN_CHECK(std::find(keys.begin(), keys.end(), key) != keys.end(),
             "maskgan: '{}' cannot change how a trained generator is sampled; only {} may be set here (train again "
             "for anything else)", s, fmt::join(keys, ", "));
  }
}

Config maskgan_sampling_config(const std::string& run_dir, const std::vector<std::string>& overrides) {
  check_sampling_overrides(overrides);
  Config cfg = run_config(run_dir);
  for (const auto& s : overrides) cfg.set(s);
  validate_config(cfg);
  return cfg;
}

std::vector<data::LabelVolume> maskgan_generate(const std::string& run_dir, int64_t count, uint64_t seed,
                                                std::vector<data::Volume>* soft, size_t soft_max, Device device,
                                                const std::vector<std::string>& sampling, int64_t* cut_below_peak) {
  const Config cfg = maskgan_sampling_config(run_dir, sampling);
  PN_CHECK(count > 0, "maskgan: the number of masks must be positive, got {}", count);
  MaskGan gan(cfg, seed);
  nn::Adam og(gan.g.named_parameters(), gan_adam(cfg, generator_lr(cfg))),
      ok(gan.k.named_parameters(), gan_adam(cfg, cfg.number("maskgan.lr")));
  load_newest_checkpoint(run_dir, "maskgan", {gan.modules(), {{"opt_g", &og}, {"opt_c", &ok}}, {}});
  const SampledWeights which = sampled_weights(cfg);
  models::LesionGenerator& g = which == SampledWeights::Selected  ? *gan.g_selected
                               : which == SampledWeights::Average ? *gan.g_ema
                                                                  : gan.g;
  g.to(device);
  g.eval();
  const auto& gc = gan.config;
  Generator& gen = gan.init;  // latents follow the initial weights' draws, as they always have
  const data::Grid mask_grid = maskgan_mask_grid(cfg);
  const MaskCut cut = mask_cut(cfg);
  const double temperature = cfg.number("maskgan.temperature");
  if (cut_below_peak) *cut_below_peak = 0;
  std::vector<data::LabelVolume> masks;
  for (int64_t i = 0; i < count; ++i) {
    std::vector<double> v;
    {
      NoGrad ng;
      v = g.forward((Tensor::randn({1, gc.z_dim}, gen) * temperature).to(device)).to_vector();
    }
    PN_CHECK(static_cast<int64_t>(v.size()) == mask_grid.numel(), "maskgan: the generator of {} makes {} voxels a "
             "mask, the mask grid {}x{}x{} has {}", run_dir, v.size(), mask_grid.dims[0], mask_grid.dims[1],
             mask_grid.dims[2], mask_grid.numel());
    // This mask's threshold, found once (a pass over its voxels) and then applied as fixed.
    MaskCut own = cut;
    own.threshold = mask_threshold(v.data(), v.size(), cut);
    own.peak_cut = 0;
    if (cut_below_peak && own.threshold < cut.threshold) ++*cut_below_peak;
    data::LabelVolume m = binary_mask(v.data(), mask_grid, own);
    if (soft && soft->size() < soft_max) {
      data::Volume img;
      static_cast<data::Grid&>(img) = m.grid();
      img.data.assign(v.begin(), v.end());
      soft->push_back(std::move(img));
    }
    masks.push_back(std::move(m));
  }
  return masks;
}

std::vector<int64_t> maskgan_sample(const std::string& run_dir, const std::string& out_dir, int64_t count,
                                    uint64_t seed, Device device, const std::vector<std::string>& sampling) {
  std::vector<data::Volume> soft;
  auto masks = maskgan_generate(run_dir, count, seed, &soft, 6, device, sampling);
  fs::create_directories(out_dir);
  std::vector<int64_t> volumes;
  Progress prog("sample", count, "mask");
  for (size_t i = 0; i < masks.size(); ++i) {
    int64_t vox = 0;
    for (int32_t x : masks[i].data) vox += x;
    volumes.push_back(vox);
    data::write_labels(masks[i], (fs::path(out_dir) / fmt::format("mask_{:04d}.nii.gz", i)).string());
    prog.advance(1, fmt::format("{} voxels", vox));
  }
  prog.finish();
  std::vector<data::MontageCase> cases;
  for (size_t i = 0; i < soft.size(); ++i) cases.push_back({&soft[i], nullptr, &masks[i]});
  data::write_montage_png((fs::path(out_dir) / "montage.png").string(), cases);
  std::printf("wrote %lld masks and montage.png to %s\n", (long long)count, out_dir.c_str());
  return volumes;
}

}  // namespace pn::experiments
