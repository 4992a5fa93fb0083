#include "experiments/config/config_validate.h"

#include <algorithm>

#include "autograd/error.h"
#include "experiments/config/study_plan.h"
#include "experiments/config/training_precision.h"

namespace pn::experiments {

namespace {

struct Checker {
  const Config& c;

  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    PN_FAIL("config: {} = {}: {}", key, format_config_value(c.value(key)), what);
  }
  void positive_int(const std::string& key, int64_t min = 1) const {
    if (c.integer(key) < min) fail(key, fmt::format("must be >= {}", min));
  }
  void range(const std::string& key, double lo, double hi, bool hi_open = false) const {
    double v = c.number(key);
    if (!(v >= lo && (hi_open ? v < hi : v <= hi))) fail(key, fmt::format("must lie in [{}, {}{}", lo, hi, hi_open ? ")" : "]"));
  }
  void positive_float(const std::string& key) const {
    if (!(c.number(key) > 0)) fail(key, "must be > 0");
  }
  void one_of(const std::string& key, std::initializer_list<const char*> words) const {
    const std::string& v = c.string(key);
    for (const char* w : words)
      if (v == w) return;
    fail(key, fmt::format("must be one of: {}", fmt::join(words, ", ")));
  }
  void positive_ints(const std::string& key, size_t len = 0) const {
    auto v = c.integers(key);
    if (len ? v.size() != len : v.empty()) fail(key, len ? fmt::format("needs {} entries", len) : "needs at least one entry");
    if (std::any_of(v.begin(), v.end(), [](int64_t x) { return x < 1; })) fail(key, "entries must be >= 1");
  }
  void adam(const std::string& sec) const {
    positive_float(sec + ".lr");
    range(sec + ".beta1", 0, 1, true);
    range(sec + ".beta2", 0, 1, true);
    positive_int(sec + ".batch");
    positive_int(sec + ".epochs");
  }
};

// run.*: seed, threads, device, precision, checkpoints.
void validate_run(const Checker& k) {
  const Config& c = k.c;
  k.positive_int("run.seed", 0);
  k.positive_int("run.threads", 0);
  k.one_of("run.device", {"auto", "cpu", "cuda"});
  (void)c.boolean("run.deterministic");  // type-checked by the schema; read by select_device
  (void)c.boolean("run.tf32");
  k.one_of("run.conv", {"cudnn", "implicit_gemm"});  // read by select_device (gpu_conv_setting)
  (void)c.boolean("run.cudnn_graphs");  // read by select_device (gpu_math_options)
  (void)training_precision(c);  // run.precision and run.tf32 together: select_device reads them
  k.positive_int("run.checkpoint_every");
  k.positive_int("run.keep_checkpoints");
}

// data.*: layout, channels, grid, spacing, slices, phantom.
void validate_data(const Checker& k) {
  const Config& c = k.c;
  k.one_of("data.layout", {"auto", "pairs", "isles2022"});
  {
    const auto ch = c.strings("data.channels");
    if (ch.empty() || ch[0] != "image")
      k.fail("data.channels", "the first channel is \"image\" (the layout's own image: pairs data.image_suffix, ISLES dwi)");
  }
  k.positive_ints("data.grid", 3);
  auto sp = c.numbers("data.spacing");
  if (sp.size() != 3 || std::any_of(sp.begin(), sp.end(), [](double s) { return !(s > 0); }))
    k.fail("data.spacing", "needs three spacings > 0 (mm, D H W)");
  auto sl = c.integers("data.slices");
  if (sl.size() != 2 || sl[0] < 0 || sl[1] < sl[0]) k.fail("data.slices", "needs [first, last] with 0 <= first <= last");
  k.positive_int("data.classes", 2);
  k.range("data.clip_percentile", 0, 100);
  k.one_of("data.phantom_anatomy", {"auto", "icbm152", "procedural"});
}

// maskgan.*: the WGAN-GP's sizes (its grid must cover data.grid), training and sampling.
void validate_maskgan(const Checker& k) {
  const Config& c = k.c;
  const auto grid = c.integers("data.grid");
  k.positive_int("maskgan.latent_dim");
  k.positive_ints("maskgan.base_shape", 3);
  k.positive_ints("maskgan.gen_filters");
  k.positive_ints("maskgan.critic_filters");
  k.positive_int("maskgan.critic_dense");
  k.positive_int("maskgan.out_kernel");
  if (c.integer("maskgan.out_kernel") % 2 == 0)
    k.fail("maskgan.out_kernel", "must be odd (a 'same' convolution keeps the grid)");
  if (c.boolean("maskgan.minibatch_std") && c.integer("maskgan.batch") < 2)
    k.fail("maskgan.batch", "must be >= 2 with maskgan.minibatch_std = true (the critic's feature is a standard "
                            "deviation over the batch); raise maskgan.batch or set maskgan.minibatch_std = false");
  {
    // The generator's grid (base x 2^ups) is centre-cropped to data.grid, so it must cover it.
    auto base = c.integers("maskgan.base_shape");
    int64_t up = int64_t{1} << c.integers("maskgan.gen_filters").size();
    for (int a = 0; a < 3; ++a)
      if (base[a] * up < grid[a])
        k.fail("maskgan.base_shape", fmt::format("times 2^{} (one x2 per maskgan.gen_filters entry) is smaller than data.grid = {}",
                                                 c.integers("maskgan.gen_filters").size(), format_config_value(grid)));
  }
  k.range("maskgan.leaky_slope", 0, 1);
  k.range("maskgan.gp_weight", 0, 1e9);
  k.range("maskgan.presence_weight", 0, 1e9);
  k.positive_int("maskgan.presence_samples");
  k.one_of("maskgan.presence_kind", {"volume", "peak"});
  k.positive_int("maskgan.critic_steps");
  k.range("maskgan.ema_decay", 0, 1, true);
  (void)c.boolean("maskgan.sample_ema");  // type-checked by the schema; read by maskgan_generate
  (void)c.boolean("maskgan.sample_selected");  // likewise
  k.positive_int("maskgan.select_samples", 0);
  k.range("maskgan.distance_margin", 1, 1e6);
  k.adam("maskgan");
  k.range("maskgan.lr_decay_start", 0, 1);
  k.range("maskgan.generator_lr", 0, 1);
  k.positive_int("maskgan.min_lesion_voxels", 0);
  k.range("maskgan.threshold", -1, 1);
  k.range("maskgan.peak_cut", 0, 2);
  k.positive_float("maskgan.temperature");
  k.range("maskgan.temperature", 0, 10);
  k.positive_int("maskgan.min_component_voxels", 0);
  k.positive_int("maskgan.samples");
  k.positive_int("maskgan.eval_samples");
  k.positive_int("maskgan.steps_per_epoch", 0);
  k.one_of("maskgan.mirror", {"off", "add", "random"});
  k.range("maskgan.held_out_fraction", 0, 1, true);
  // maskgan.masks and data.phantom_lesions (names or folders) are checked where they are
  // resolved (experiments/train/lesion_sources.h), with the same kind of message.
}

// translate.*: pix2pix, SPADE and their discriminator.
void validate_translate(const Checker& k) {
  const Config& c = k.c;
  if (c.integer("translate.dims") != 2 && c.integer("translate.dims") != 3) k.fail("translate.dims", "must be 2 or 3");
  for (double w : c.numbers("translate.l1_weights"))
    if (!(w >= 0)) k.fail("translate.l1_weights", "weights must be >= 0");
  if (c.numbers("translate.l1_weights").empty() && !c.boolean("translate.with_spade"))
    k.fail("translate.l1_weights", "is empty and translate.with_spade = false: the study needs at least one translation model");
  k.adam("translate");
  k.range("translate.instance_noise", 0, 1e9);
  k.positive_int("translate.pix2pix.base_filters");
  k.positive_int("translate.pix2pix.kernel");
  k.range("translate.pix2pix.dropout", 0, 1, true);
  k.range("translate.pix2pix.leaky_slope", 0, 1);
  k.positive_int("translate.pix2pix.depth_2d");
  k.positive_int("translate.pix2pix.depth_3d");
  k.one_of("translate.pix2pix.upsample", {"polyphase", "plain"});  // read by make_translator
  k.positive_int("translate.spade.latent_dim");
  k.positive_ints("translate.spade.filters");
  k.positive_int("translate.spade.out_kernel");
  k.one_of("translate.spade.affine", {"joint", "separate"});  // read by make_translator
  k.positive_ints("translate.discriminator.filters");
  k.positive_int("translate.discriminator.kernel");
  k.range("translate.discriminator.leaky_slope", 0, 1);
}

// synthesize.* and segment.*.
void validate_segment(const Checker& k) {
  const Config& c = k.c;
  k.positive_int("synthesize.count");
  k.one_of("synthesize.placement", {"tissue", "keep"});

  k.positive_int("segment.base_filters");
  k.positive_int("segment.depth");  // against data.grid: check_unet_grid, by the U-Net's users
  k.positive_int("segment.batch");
  k.positive_float("segment.lr");
  k.one_of("segment.loss", {"soft_dice", "dice_ce", "batch_dice"});  // models/seg_losses.h
  k.positive_int("segment.epochs");
  k.positive_int("segment.epochs_synthetic");
  k.positive_int("segment.epochs_small");
  if (double m = c.number("segment.mix_ratio"); m >= 0 && m > 1)
    k.fail("segment.mix_ratio", "must be < 0 (pool the sets) or a synthetic share in [0, 1]");
  k.positive_int("segment.steps_per_epoch", 0);
  (void)c.boolean("segment.sync_batch_norm");
  k.one_of("segment.memory_format", {"auto", "channels_first", "channels_last"});  // read by unet_channels_last
  if (c.boolean("segment.sync_batch_norm") && c.string("segment.memory_format") == "channels_last")
    k.fail("segment.memory_format", "\"channels_last\" cannot go with segment.sync_batch_norm = true (the "
           "synchronised statistics take channels-first activations); set one of them back");
  k.positive_ints("segment.finetune_cases");
  k.range("segment.threshold", 0, 1, true);
  k.positive_int("segment.report_last_epochs");
}

}  // namespace

void check_unet_grid(const Config& c) {
  const auto grid = c.integers("data.grid");
  const int64_t f = int64_t{1} << c.integer("segment.depth");
  for (int64_t g : grid)
    if (g % f != 0)
      Checker{c}.fail("segment.depth", fmt::format("needs every data.grid size divisible by 2^depth = {} (the U-Net "
                                                   "halves the grid depth times); data.grid = {}: change one of them",
                                                   f, format_config_value(grid)));
}

void validate_config(const Config& c) {
  const Checker k{c};
  validate_run(k);
  validate_data(k);
  validate_maskgan(k);
  validate_translate(k);
  validate_segment(k);
  k.positive_int("study.seeds");
  for (const auto& loss : c.strings("study.loss_comparison"))
    if (loss != "soft_dice" && loss != "dice_ce" && loss != "batch_dice")
      k.fail("study.loss_comparison", fmt::format("'{}' is not a loss; the losses are: soft_dice, dice_ce, batch_dice", loss));
  k.positive_int("study.phantom_holdout");
  k.positive_int("study.phantom_holdout_free", 0);
  // Model names (translate.*) must agree with segment.finetune_models: building the grid checks it.
  (void)segmentation_grid(c);
}

}  // namespace pn::experiments
