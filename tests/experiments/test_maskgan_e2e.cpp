// `maskgan train | sample` end to end at a tiny size on phantom masks written by the test
// (a run stopped and crashed at random steps resumes bit for bit), and the speck removal
// that sampling applies.
#include <doctest/doctest.h>

#include <csignal>
#include <filesystem>
#include <unistd.h>

#include <fmt/format.h>

#include "data/nifti_io.h"
#include "data/phantom.h"
#include "experiments/config/config_presets.h"
#include "experiments/run/csv_table.h"
#include "experiments/train/lesion_eval.h"
#include "experiments/train/lesion_sources.h"
#include "experiments/train/maskgan_selection.h"
#include "experiments/train/maskgan_training.h"
#include "data/lesion_masks.h"
#include "data/lesion_set.h"
#include "data/shared_data.h"
#include "nn/checkpoint.h"
#include "tests/experiments/error_text.h"
#include "tests/experiments/resume_check.h"

using namespace pn;
using namespace pn::experiments;
namespace fs = std::filesystem;

TEST_CASE("remove_small_components keeps large 6-connected components only") {
  data::LabelVolume m;
  static_cast<data::Grid&>(m) = data::Grid::centred({6, 5, 4});
  m.data.assign(static_cast<size_t>(m.numel()), 0);
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < 2; ++j) m.data[m.index(i, j, 0)] = 1;  // 6 voxels
  m.data[m.index(5, 4, 3)] = 1;                                     // a single speck
  m.data[m.index(4, 3, 3)] = 1;                                     // diagonal to it: not 6-connected
  CHECK(remove_small_components(m, 2) == 1);
  int64_t left = 0;
  for (int32_t v : m.data) left += v;
  CHECK(left == 6);
  CHECK(m.data[m.index(5, 4, 3)] == 0);
}

TEST_CASE("binary_mask cuts a mask whose peak is weak below its peak (maskgan.peak_cut)") {
  const data::Grid grid = data::Grid::centred({4, 4, 4});
  std::vector<double> f(64, -0.9);
  f[21] = -0.2;  // the peak
  f[22] = -0.3;  // within 0.2 of it, 6-connected to it
  f[25] = -0.35;
  f[26] = -0.45;  // more than 0.2 below the peak
  auto voxels = [](const data::LabelVolume& m) {
    std::vector<size_t> on;
    for (size_t j = 0; j < m.data.size(); ++j)
      if (m.data[j]) on.push_back(j);
    return on;
  };
  // Off (0), the mask stays empty; cut 0.2: the voxels above -0.2 - 0.2 = -0.4.
  CHECK(voxels(binary_mask(f.data(), grid, {0.0, 0.0, 0})).empty());
  CHECK(voxels(binary_mask(f.data(), grid, {0.0, 0.2, 0})) == std::vector<size_t>{21, 22, 25});
  // The per-mask threshold obeys speck removal like the fixed one: 3 voxels under 4 go.
  CHECK(voxels(binary_mask(f.data(), grid, {0.0, 0.2, 4})).empty());
  // A threshold below the cut's bar is kept: min(t, peak - cut).
  CHECK(voxels(binary_mask(f.data(), grid, {-0.5, 0.2, 0})) == std::vector<size_t>{21, 22, 25, 26});
  // min(t, peak - cut): a peak of 0.1 under t + cut = 0.2 lowers the bar to -0.1 ...
  f[40] = 0.1;
  f[41] = -0.05;
  CHECK(voxels(binary_mask(f.data(), grid, {0.0, 0.2, 0})) == std::vector<size_t>{40, 41});
  // ... and a peak of 0.5 leaves it at t.
  f[40] = 0.5;
  CHECK(voxels(binary_mask(f.data(), grid, {0.0, 0.2, 0})) == std::vector<size_t>{40});
}

namespace {
int64_t lesion_voxels(const std::vector<data::LabelVolume>& masks) {
  int64_t n = 0;
  for (const auto& m : masks)
    for (int32_t v : m.data) n += v;
  return n;
}

// Sampling keys may differ from the trained run's (threshold, temperature, speck size);
// other keys are refused.
void check_sampling_overrides(const std::string& run) {
  std::vector<data::Volume> plain, same, hot;
  maskgan_generate(run, 2, 5, &plain, 2);
  maskgan_generate(run, 2, 5, &same, 2, Device::cpu(), {"maskgan.temperature=1"});
  maskgan_generate(run, 2, 5, &hot, 2, Device::cpu(), {"maskgan.temperature=3"});
  REQUIRE(plain.size() == 2);
  CHECK(same[1].data == plain[1].data);  // temperature 1: z as drawn
  CHECK(hot[1].data != plain[1].data);   // 3 z: another generator input
  // tanh lies in (-1, 1): threshold 1 leaves nothing, -1 (specks kept) nearly everything.
  CHECK(lesion_voxels(maskgan_generate(run, 2, 5, nullptr, 0, Device::cpu(),
                                      {"maskgan.threshold=1", "maskgan.peak_cut=0"})) == 0);
  const auto full = maskgan_generate(run, 2, 5, nullptr, 0, Device::cpu(),
                                     {"maskgan.threshold=-1", "maskgan.min_component_voxels=0"});
  CHECK(lesion_voxels(full) > 2 * full[0].numel() * 9 / 10);
  // Threshold 1 with a peak cut: every mask is cut just below its own maximum, so none is empty.
  for (const auto& m : maskgan_generate(run, 2, 5, nullptr, 0, Device::cpu(),
                                        {"maskgan.threshold=1", "maskgan.peak_cut=0.01", "maskgan.min_component_voxels=0"}))
    CHECK(lesion_voxels({m}) > 0);
  CHECK_ERROR_HAS(maskgan_generate(run, 1, 5, nullptr, 0, Device::cpu(), {"maskgan.epochs=3"}),
                  "'maskgan.epochs=3' cannot change how a trained generator is sampled",
                  "maskgan.threshold, maskgan.peak_cut, maskgan.temperature, maskgan.min_component_voxels");
  CHECK_ERROR_HAS(maskgan_generate(run, 1, 5, nullptr, 0, Device::cpu(), {"maskgan.temperature=0"}),
                  "maskgan.temperature", "must be > 0");
  CHECK_ERROR_HAS(maskgan_generate(run, 1, 5, nullptr, 0, Device::cpu(), {"maskgan.peak_cut=-0.1"}),
                  "maskgan.peak_cut");
}

// maskgan.minibatch_std: the gradient penalty differentiates through the batch feature
// twice; sampling builds the same critic to load the checkpoint. A batch of 1 is refused.
void check_minibatch_std_run(const fs::path& root, const ConfigRequest& req) {
  ConfigRequest mbstd = req;
  mbstd.sets.insert(mbstd.sets.end(), {"maskgan.minibatch_std=true", "maskgan.epochs=1", "maskgan.batch=1"});
  CHECK_ERROR_HAS(resolve_config(mbstd), "maskgan.batch = 1: must be >= 2 with maskgan.minibatch_std = true");
  mbstd.sets.push_back("maskgan.batch=2");
  RunDirOptions bo;
  bo.out = (root / "mbstd").string();
  CHECK(std::isfinite(maskgan_train(resolve_config(mbstd), bo).last_wasserstein));
  const CsvTable mb = read_csv((root / "mbstd" / "metrics.csv").string());
  CHECK(std::isfinite(mb.numbers("gradient_penalty").back()));
  CHECK(mb.numbers("gradient_penalty").back() > 0);
  // The key reached the critic: its dense layer has one more input (8 x 2x4x4 features + 1).
  const auto ck = nn::read_checkpoint((root / "mbstd" / "checkpoints" / "epoch-000001.safetensors").string());
  REQUIRE(ck.find("critic.dense.weight"));
  CHECK(ck.find("critic.dense.weight")->shape() == Shape{8, 8 * 2 * 4 * 4 + 1});
  CHECK(maskgan_sample((root / "mbstd").string(), (root / "mbstd_samples").string(), 2, 4).size() == 2);
}
// maskgan.presence_weight: the mask presence penalty joins the generator's loss and changes
// its training; maskgan.presence_samples gives it latents of its own. The logged empty_fraction is the share of the generator step's masks with no
// voxel above maskgan.threshold: every one at threshold 1 (tanh < 1), none at -1.
void check_presence_weight(const fs::path& root, const ConfigRequest& req) {
  auto run = [&](const std::string& name, const char* threshold, const char* weight, const char* samples = "1",
                 const char* kind = "volume") {
    ConfigRequest r = req;
    r.sets.insert(r.sets.end(), {"maskgan.epochs=1", std::string("maskgan.threshold=") + threshold,
                                 std::string("maskgan.presence_weight=") + weight,
                                 std::string("maskgan.presence_samples=") + samples,
                                 std::string("maskgan.presence_kind=") + kind});
    RunDirOptions o;
    o.out = (root / name).string();
    maskgan_train(resolve_config(r), o);
    CHECK(read_csv((root / name / "metrics.csv").string()).numbers("empty_fraction").back() ==
          (std::string(threshold) == "1" ? 1.0 : 0.0));
    return nn::read_checkpoint((root / name / "checkpoints" / "epoch-000001.safetensors").string());
  };
  const auto plain = run("presence0", "1", "0"), pushed = run("presence50", "1", "50");
  CHECK(plain.find("generator.out.weight")->to_vector() != pushed.find("generator.out.weight")->to_vector());
  CHECK(plain.find("critic.dense.weight")->to_vector() != pushed.find("critic.dense.weight")->to_vector());
  // maskgan.presence_samples: the penalty on 3 fresh latents per sample moves the generator
  // otherwise; without the penalty the key changes nothing.
  const auto wide = run("presence50x3", "1", "50", "3");
  CHECK(wide.find("generator.out.weight")->to_vector() != pushed.find("generator.out.weight")->to_vector());
  CHECK(run("presence0x3", "1", "0", "3").find("generator.out.weight")->to_vector() ==
        plain.find("generator.out.weight")->to_vector());
  run("all_lesion", "-1", "0");
  // maskgan.presence_kind = "peak": the soft-maximum penalty moves the generator otherwise
  // than the soft-volume one at the same weight, and nothing without a weight.
  CHECK(run("presence50peak", "1", "50", "1", "peak").find("generator.out.weight")->to_vector() !=
        pushed.find("generator.out.weight")->to_vector());
  CHECK(run("presence0peak", "1", "0", "1", "peak").find("generator.out.weight")->to_vector() ==
        plain.find("generator.out.weight")->to_vector());
  ConfigRequest unknown = req;
  unknown.sets.push_back("maskgan.presence_kind=max");
  CHECK_ERROR_HAS(resolve_config(unknown), "maskgan.presence_kind");
  ConfigRequest negative = req;
  negative.sets.push_back("maskgan.presence_weight=-1");
  CHECK_ERROR_HAS(resolve_config(negative), "maskgan.presence_weight");
  ConfigRequest none = req;
  none.sets.push_back("maskgan.presence_samples=0");
  CHECK_ERROR_HAS(resolve_config(none), "maskgan.presence_samples = 0: must be >= 1");
}
// maskgan.ema_decay: the averaged generator is checkpointed beside the trained one, leaves
// training untouched (the generator of a run without it is the same, bit for bit), and is
// what sampling uses unless maskgan.sample_ema = false. maskgan.out_kernel: odd sizes only.
void check_ema_run(const fs::path& ema_run, const ConfigRequest& req) {
  ConfigRequest even = req;
  even.sets.push_back("maskgan.out_kernel=4");
  CHECK_ERROR_HAS(resolve_config(even), "maskgan.out_kernel = 4: must be odd");
  Config plain = resolve_config(req);
  plain.set("maskgan.ema_decay=0");
  RunDirOptions o;
  o.out = (ema_run.parent_path() / "no_ema").string();
  maskgan_train(plain, o);
  const auto newest = [](const fs::path& run) {
    return nn::read_checkpoint((run / "checkpoints" / "epoch-000002.safetensors").string());
  };
  const auto with = newest(ema_run), without = newest(o.out);
  REQUIRE(with.find("generator_ema.fc.weight"));
  CHECK(with.find("generator.out.weight")->shape() == Shape{1, 4, 3, 3, 3});  // maskgan.out_kernel
  CHECK(!without.find("generator_ema.fc.weight"));
  CHECK(with.find("generator.fc.weight")->to_vector() == without.find("generator.fc.weight")->to_vector());
  CHECK(with.find("generator_ema.fc.weight")->to_vector() != with.find("generator.fc.weight")->to_vector());
  std::vector<data::Volume> averaged, last, plain_run;
  maskgan_generate(ema_run.string(), 2, 5, &averaged, 2);
  maskgan_generate(ema_run.string(), 2, 5, &last, 2, Device::cpu(), {"maskgan.sample_ema=false"});
  maskgan_generate(o.out, 2, 5, &plain_run, 2);
  REQUIRE(averaged.size() == 2);
  CHECK(last[1].data == plain_run[1].data);  // the last weights, and the same latents
  CHECK(averaged[1].data != last[1].data);
}
// maskgan.distance_margin: the critic learns from truncated signed distances (the small
// preset's margin 3) instead of binary masks (margin 1, data/distance_transform.h), so the
// same seed trains other weights; a margin under one voxel is refused.
void check_distance_margin(const fs::path& root, const ConfigRequest& req) {
  auto run = [&](const std::string& name, const char* margin) {
    ConfigRequest r = req;
    r.sets.insert(r.sets.end(), {"maskgan.epochs=1", std::string("maskgan.distance_margin=") + margin});
    RunDirOptions o;
    o.out = (root / name).string();
    maskgan_train(resolve_config(r), o);
    return nn::read_checkpoint((root / name / "checkpoints" / "epoch-000001.safetensors").string());
  };
  const auto binary = run("margin1", "1"), distance = run("margin3", "3");
  ConfigRequest plain = req;
  plain.sets.push_back("maskgan.epochs=1");
  RunDirOptions o;
  o.out = (root / "margin_default").string();
  maskgan_train(resolve_config(plain), o);
  const auto preset = nn::read_checkpoint((root / "margin_default" / "checkpoints" / "epoch-000001.safetensors").string());
  CHECK(distance.find("critic.dense.weight")->to_vector() == preset.find("critic.dense.weight")->to_vector());  // small's 3
  CHECK(binary.find("critic.dense.weight")->to_vector() != distance.find("critic.dense.weight")->to_vector());
  ConfigRequest below = req;
  below.sets.push_back("maskgan.distance_margin=0.5");
  CHECK_ERROR_HAS(resolve_config(below), "maskgan.distance_margin = 0.5");
}
// maskgan.lr_decay_start: both learning rates constant until that fraction of the run's
// steps, then linear to 0 (the critic's schedule counted in its critic_steps updates per
// step). Over 2 epochs from 0.5, epoch 1 trains as the constant run and epoch 2 does not;
// a run stopped mid-decay and resumed ends as the straight one; outside [0, 1] refused.
void check_lr_decay(const fs::path& root, const ConfigRequest& req) {
  auto train = [&](const std::string& name, const char* start, int64_t stop_after) {
    ConfigRequest r = req;
    r.sets.insert(r.sets.end(), {"maskgan.steps_per_epoch=2", "maskgan.critic_steps=2",
                                 std::string("maskgan.lr_decay_start=") + start});
    RunDirOptions o;
    o.out = (root / name).string();
    if (stop_after > 0) {
      o.after_step = [stop_after](int64_t done) {
        if (done == stop_after) std::raise(SIGTERM);
      };
      CHECK_THROWS_AS(maskgan_train(resolve_config(r), o), Interrupted);
      o.after_step = {};
    }
    maskgan_train(resolve_config(r), o);
    return [root, name](int epoch, const std::string& tensor) {
      const auto c = nn::read_checkpoint((root / name / "checkpoints" / fmt::format("epoch-{:06d}.safetensors", epoch)).string());
      return c.find(tensor)->to_vector();
    };
  };
  const auto constant = train("lr_constant", "1", 0), decayed = train("lr_decay", "0.5", 0);
  for (const char* t : {"generator.fc.weight", "critic.dense.weight"}) {
    INFO(t);
    CHECK(decayed(1, t) == constant(1, t));
    CHECK(decayed(2, t) != constant(2, t));
  }
  const auto resumed = train("lr_decay_resumed", "0.5", 3);  // stopped after the decay's first step
  CHECK(resumed(2, "critic.dense.weight") == decayed(2, "critic.dense.weight"));
  CHECK(resumed(2, "generator.out.weight") == decayed(2, "generator.out.weight"));
  ConfigRequest above = req;
  above.sets.push_back("maskgan.lr_decay_start=1.5");
  CHECK_ERROR_HAS(resolve_config(above), "maskgan.lr_decay_start = 1.5");
}
// maskgan.generator_lr: the generator's own rate, the critic keeping maskgan.lr. After one
// step (one critic update, then one generator update) the critic is the one-rate run's and
// the generator is not; a generator_lr equal to maskgan.lr is the default 0, bit for bit.
void check_generator_lr(const fs::path& root, const ConfigRequest& req) {
  auto train = [&](const std::string& name, const char* generator_lr) {
    ConfigRequest r = req;
    r.sets.insert(r.sets.end(), {"maskgan.epochs=1", "maskgan.steps_per_epoch=1", "maskgan.critic_steps=1",
                                 "maskgan.lr=2e-4", std::string("maskgan.generator_lr=") + generator_lr});
    RunDirOptions o;
    o.out = (root / name).string();
    maskgan_train(resolve_config(r), o);
    return nn::read_checkpoint((root / name / "checkpoints" / "epoch-000001.safetensors").string());
  };
  const auto one = train("glr_default", "0"), same = train("glr_same", "2e-4"), faster = train("glr_faster", "1e-3");
  for (const char* t : {"generator.fc.weight", "generator.out.weight", "critic.dense.weight"}) {
    INFO(t);
    CHECK(same.find(t)->to_vector() == one.find(t)->to_vector());
  }
  CHECK(faster.find("critic.dense.weight")->to_vector() == one.find("critic.dense.weight")->to_vector());
  CHECK(faster.find("generator.out.weight")->to_vector() != one.find("generator.out.weight")->to_vector());
  ConfigRequest negative = req;
  negative.sets.push_back("maskgan.generator_lr=-1e-4");
  CHECK_ERROR_HAS(resolve_config(negative), "maskgan.generator_lr");
}
// Sampling a run that kept generator_selected: its masks unless maskgan.sample_selected =
// false (the moving average's; the same only when the last epoch won), and the rule that
// names what was sampled.
void check_selected_sampling(const std::string& run, bool last_epoch_won) {
  std::vector<data::Volume> selected, averaged;
  maskgan_generate(run, 2, 5, &selected, 2);
  maskgan_generate(run, 2, 5, &averaged, 2, Device::cpu(), {"maskgan.sample_selected=false"});
  REQUIRE(selected.size() == 2);
  CHECK((selected[1].data == averaged[1].data) == last_epoch_won);
  CHECK(sampled_weights(maskgan_sampling_config(run, {})) == SampledWeights::Selected);
  CHECK(sampled_weights(maskgan_sampling_config(run, {"maskgan.sample_selected=false"})) == SampledWeights::Average);
  CHECK(sampled_weights(maskgan_sampling_config(run, {"maskgan.sample_selected=false", "maskgan.sample_ema=false"})) ==
        SampledWeights::Last);
  CHECK(std::string(sampled_weights_name(SampledWeights::Selected)) == "the selected epoch's weights");
}
// maskgan.select_samples: after every epoch the sampled generator (here the moving average)
// is scored; generator_selected holds the weights of the lowest-scoring epoch, sampling uses
// them unless maskgan.sample_selected = false, and a run stopped after an epoch and resumed
// keeps the score to beat (its selection ends as the straight run's).
void check_selection_run(const fs::path& root, const ConfigRequest& req) {
  ConfigRequest r = req;
  r.sets.insert(r.sets.end(), {"maskgan.epochs=4", "maskgan.steps_per_epoch=3", "maskgan.select_samples=6",
                               "run.keep_checkpoints=4"});
  const Config cfg = resolve_config(r);
  auto train = [&](const std::string& name, int64_t stop_after) {
    RunDirOptions o;
    o.out = (root / name).string();
    if (stop_after > 0) {
      o.after_step = [stop_after](int64_t done) {
        if (done == stop_after) std::raise(SIGTERM);
      };
      CHECK_THROWS_AS(maskgan_train(cfg, o), Interrupted);
      o.after_step = {};
    }
    const double wasserstein = maskgan_train(cfg, o).last_wasserstein;
    const CsvTable t = read_csv((root / name / "metrics.csv").string());
    CHECK(wasserstein == doctest::Approx(t.numbers("wasserstein").back()));  // the selection columns come after
    return t;
  };
  const CsvTable m = train("selected", 0);
  const std::vector<double> score = m.numbers("select_score");
  REQUIRE(score.size() == 4);
  for (size_t e = 0; e < 4; ++e)
    CHECK(score[e] == doctest::Approx(m.numbers("select_empty")[e] + m.numbers("select_ks_volume")[e] +
                                      m.numbers("select_ks_components")[e] + m.numbers("select_ks_extent")[e]));
  const size_t best = static_cast<size_t>(std::min_element(score.begin(), score.end()) - score.begin());
  const auto checkpoint = [&](const std::string& run, size_t epoch) {
    return nn::read_checkpoint((root / run / "checkpoints" / fmt::format("epoch-{:06d}.safetensors", epoch)).string());
  };
  const auto last = checkpoint("selected", 4), chosen = checkpoint("selected", best + 1);
  int compared = 0;  // every tensor of the kept copy is the chosen epoch's moving average
  for (const auto& [name, t] : last.tensors) {
    if (name.rfind("generator_selected.", 0) != 0) continue;
    INFO(name);
    REQUIRE(chosen.find("generator_ema." + name.substr(19)));
    CHECK(t.to_vector() == chosen.find("generator_ema." + name.substr(19))->to_vector());
    ++compared;
  }
  CHECK(compared >= 4);
  CHECK(last.find("generator_selected.fc.weight")->to_vector() != chosen.find("generator.fc.weight")->to_vector());
  check_selected_sampling((root / "selected").string(), best == 3);
  // Stop after an epoch whose best is not beaten by the next one: a resume that forgot the
  // score to beat would copy the next epoch's weights.
  for (size_t e = 1; e < 4; ++e) {
    if (*std::min_element(score.begin(), score.begin() + static_cast<long>(e)) > score[e]) continue;
    const CsvTable resumed = train("selected_resumed", static_cast<int64_t>(e) * 3);  // 3 steps an epoch
    CHECK(resumed.numbers("select_score") == score);
    CHECK(checkpoint("selected_resumed", 4).find("generator_selected.out.weight")->to_vector() ==
          last.find("generator_selected.out.weight")->to_vector());
    return;
  }
  MESSAGE("every epoch improved on the ones before: the resume check had nothing to tell apart");
}
}  // namespace

TEST_CASE("maskgan train and sample on tiny phantom masks") {
  const fs::path root = fs::temp_directory_path() / fmt::format("pn_maskgan_e2e_{}", ::getpid());
  fs::remove_all(root);
  fs::create_directories(root / "train");
  data::PhantomOptions opt;
  opt.size = {32, 32, 8};
  opt.min_lesion_ml = 5;  // lesions that survive the coarse grid
  for (int i = 0; i < 3; ++i) {
    auto s = data::make_phantom_subject(opt, data::phantom_subject_seed(9, i, true), true);
    const std::string base = (root / "train" / fmt::format("s{}", i)).string();
    data::write_nifti(s.image, base + "_dwi.nii.gz");
    data::write_labels(s.mask, base + "_msk.nii.gz");
  }
  ConfigRequest req;
  req.preset = "small";
  req.sets = {"data.train_dir=" + (root / "train").string(), "data.grid=8,16,16", "data.spacing=14.4,16,16",
              "data.slices=0,7", "maskgan.latent_dim=8", "maskgan.base_shape=2,4,4", "maskgan.gen_filters=4,4",
              "maskgan.critic_filters=4,8", "maskgan.critic_dense=8", "maskgan.epochs=2", "maskgan.min_lesion_voxels=1",
              "maskgan.masks=train_dir", "run.threads=1"};
  RunDirOptions ro;
  ro.out = (root / "run").string();
  auto r = maskgan_train(resolve_config(req), ro);
  CHECK(r.training_masks >= 1);
  CHECK(std::isfinite(r.last_wasserstein));
  const CsvTable m = read_csv((root / "run" / "metrics.csv").string());
  CHECK(m.rows.size() == 2);
  CHECK(m.has("gradient_penalty"));
  auto vols = maskgan_sample((root / "run").string(), (root / "samples").string(), 3, 4);
  CHECK(vols.size() == 3);
  CHECK(fs::exists(root / "samples" / "montage.png"));
  auto mask = data::read_labels((root / "samples" / "mask_0002.nii.gz").string(), 2);
  CHECK(mask.dims == data::Dims3{16, 16, 8});
  check_sampling_overrides((root / "run").string());
  // Mixed precision (run.precision): the critic's gradient penalty differentiates through
  // its bf16 convolutions (double backward) and is itself computed in float32; fp16 steps
  // through loss scalers.
  for (const char* precision : {"bf16", "fp16"}) {
    INFO(precision);
    ConfigRequest mixed = req;
    mixed.sets.push_back(std::string("run.precision=") + precision);
    mixed.sets.push_back("maskgan.epochs=1");
    RunDirOptions mo;
    mo.out = (root / precision).string();
    auto rm = maskgan_train(resolve_config(mixed), mo);
    CHECK(std::isfinite(rm.last_wasserstein));
    const CsvTable mm = read_csv((root / precision / "metrics.csv").string());
    CHECK(std::isfinite(mm.numbers("gradient_penalty").back()));
    CHECK(mm.numbers("gradient_penalty").back() > 0);
  }
  check_minibatch_std_run(root, req);
  check_presence_weight(root, req);
  check_selection_run(root, req);
  check_distance_margin(root, req);
  check_lr_decay(root, req);
  check_generator_lr(root, req);
  fs::remove_all(root);
}

namespace {
// Without maskgan.peak_cut (`plain`, its text `plain_md`) no mask is cut. Threshold 1 (no tanh
// output crosses it) with a peak cut: every mask is cut below its peak, none is empty, and the
// comparison's text says so.
void check_peak_cut_report(const fs::path& root, const LesionComparison& plain, const std::string& plain_md) {
  CHECK(plain.generated_cut == 0);
  CHECK(plain_md.find("peaked too low") == std::string::npos);
  const LesionComparison cut = compare_generated_lesions(
      (root / "maskgan").string(), 5, 3, Device::cpu(),
      {"maskgan.threshold=1", "maskgan.peak_cut=0.05", "maskgan.min_component_voxels=0"});
  CHECK(cut.generated_cut == 5);
  CHECK(cut.generated_empty == 0);
  const std::string md = write_lesion_comparison(cut, root / "eval-cut");
  CHECK(md.find("5 peaked too low and were cut below the threshold") != std::string::npos);
  CHECK(md.find("threshold 1, or each mask's maximum - 0.05 where lower") != std::string::npos);
}
}  // namespace

TEST_CASE("maskgan on a folder of masks in MNI space: sparse batches, fixed steps, held-out split, generator EMA, evaluation") {
  const fs::path root = fs::temp_directory_path() / fmt::format("pn_maskgan_folder_{}", ::getpid());
  fs::remove_all(root);
  fs::create_directories(root / "masks");
  ConfigRequest req;
  req.preset = "small";
  req.sets = {"run.root=" + root.string(), "data.grid=8,16,16", "data.spacing=14.4,16,16", "data.slices=0,7",
              "maskgan.latent_dim=8", "maskgan.base_shape=2,4,4", "maskgan.gen_filters=4,4", "maskgan.critic_filters=4,8",
              "maskgan.critic_dense=8", "maskgan.epochs=2", "maskgan.steps_per_epoch=3", "maskgan.batch=2",
              "maskgan.min_lesion_voxels=2", "maskgan.threshold=-0.5", "maskgan.held_out_fraction=0.5",
              "maskgan.masks=" + (root / "masks").string(), "maskgan.ema_decay=0.9", "maskgan.out_kernel=3",
              "run.threads=1"};
  const Config cfg = resolve_config(req);
  // Twelve boxes on the study grid in MNI space, left and right, of growing size; one too
  // small for min_lesion_voxels.
  const data::Grid grid = study_mni_grid(cfg);
  for (int i = 0; i < 12; ++i) {
    std::vector<int64_t> vox;
    const int64_t r = i == 0 ? 0 : 1 + i % 3, x0 = i % 2 ? 3 : 9, y0 = 5 + i % 4, z0 = 3;
    for (int64_t z = z0; z <= z0 + (r > 1); ++z)
      for (int64_t y = y0; y <= y0 + r; ++y)
        for (int64_t x = x0; x <= x0 + r; ++x) vox.push_back(x + grid.dims[0] * (y + grid.dims[1] * z));
    std::sort(vox.begin(), vox.end());
    data::write_labels(data::mask_from_voxels(grid, vox), (root / "masks" / fmt::format("m{:02d}.nii.gz", i)).string());
  }
  CHECK(maskgan_mask_source(cfg).real());
  CHECK(maskgan_mask_grid(cfg).affine == grid.affine);
  RunDirOptions ro;
  ro.out = (root / "maskgan").string();
  auto r = maskgan_train(cfg, ro);
  const auto set = data::load_lesion_set((root / "masks").string(), grid, lesion_set_options(cfg, 2));
  CHECK(set.dropped.size() == 1);
  CHECK(r.training_masks == static_cast<int64_t>(set.train().size()));
  REQUIRE(!set.held_out().empty());
  CHECK(read_csv((root / "maskgan" / "metrics.csv").string()).rows.size() == 2);
  CHECK(fs::exists(root / "cache"));  // the transferred set is cached under run.root
  // Stopped by SIGTERM, resumed, crashed, resumed: bit for bit the straight run (6 steps).
  auto train = [&](const fs::path& dir, pn::test::AfterStep after) {
    RunDirOptions o;
    o.out = dir.string();
    o.after_step = std::move(after);
    maskgan_train(cfg, o);
  };
  pn::test::check_interrupted_run_matches(train, root / "maskgan", root / "interrupted", 6);
  check_ema_run(root / "maskgan", req);

  const LesionComparison c = compare_generated_lesions((root / "maskgan").string(), 5, 3);
  CHECK(c.real.size() == set.held_out().size());
  CHECK(c.generated.size() + static_cast<size_t>(c.generated_empty) == 5);
  const std::string md = write_lesion_comparison(c, root / "eval");
  CHECK(md.find("| volume (ml): median [quartiles] |") != std::string::npos);
  CHECK(md.find(fmt::format("real (n = {})", c.real.size())) != std::string::npos);
  CHECK(md.find("(the moving average; seed 3;") != std::string::npos);  // maskgan.ema_decay = 0.9
  for (const char* f : {"lesion_comparison.md", "lesion_stats.csv", "figures/lesion_volume.png", "montage.png"})
    CHECK_MESSAGE(fs::exists(root / "eval" / f), f);
  check_peak_cut_report(root, c, md);
  const CsvTable t = read_csv((root / "eval" / "lesion_stats.csv").string());
  CHECK(t.rows.size() == c.real.size() + c.generated.size());
  fs::remove_all(root);
}

TEST_CASE("MaskSelector scores generated masks: empty share plus three KS distances to the reference") {
  const data::Grid grid = data::Grid::centred({8, 8, 4});
  // Reference: a 1-voxel mask, a 2x2x1 block, and two separate voxels.
  const std::vector<std::vector<int64_t>> reference{{0}, {9, 10, 17, 18}, {0, 63}};
  const MaskSelector sel(reference, grid, SelectionSampling{});
  std::vector<data::LabelVolume> same;
  for (const auto& v : reference) same.push_back(data::mask_from_voxels(grid, v));
  const SelectionScore exact = sel.score(same);
  CHECK(exact.total() == 0);
  // One empty mask more: a quarter of the masks empty, the rest as the reference.
  same.push_back(data::mask_from_voxels(grid, {}));
  CHECK(sel.score(same).empty == doctest::Approx(0.25));
  CHECK(sel.score(same).total() == doctest::Approx(0.25));
  // Two single voxels: volumes {1, 1} against {1, 4, 2} voxels -> KS 2/3; components {1, 1}
  // against {1, 1, 2} -> 1/3; extent 1 voxel against {1, 2, 8} -> 2/3.
  const SelectionScore specks = sel.score({data::mask_from_voxels(grid, {5}), data::mask_from_voxels(grid, {40})});
  CHECK(specks.empty == 0);
  CHECK(specks.ks_volume == doctest::Approx(2.0 / 3));
  CHECK(specks.ks_components == doctest::Approx(1.0 / 3));
  CHECK(specks.ks_extent == doctest::Approx(2.0 / 3));
  // Nothing but empty masks: as far as the score goes.
  CHECK(sel.score({data::mask_from_voxels(grid, {})}).total() == 4);
  CHECK_ERROR_HAS(MaskSelector({}, grid, SelectionSampling{}), "no training masks");
}

TEST_CASE("ks_distance: the largest gap between two empirical CDFs") {
  CHECK(ks_distance({1, 2, 3}, {1, 2, 3}) == 0);
  CHECK(ks_distance({1, 2}, {3, 4}) == 1);
  CHECK(ks_distance({1, 2, 3, 4}, {3, 4, 5, 6}) == doctest::Approx(0.5));
  CHECK(ks_distance({1, 5}, {2, 3, 4, 6}) == doctest::Approx(0.5));  // the gap is largest early, on [1, 2)
  CHECK(ks_distance({2, 2, 2}, {2}) == 0);                            // ties step both CDFs together
  CHECK(ks_distance({}, {1}) == 0);
}

TEST_CASE("lesion sources: fallback word, folders, named sets, clear errors") {
  CHECK(!resolve_lesion_source("maskgan.masks", "train_dir", "train_dir").real());
  const auto tmp = fs::temp_directory_path();
  const auto spec = resolve_lesion_source("maskgan.masks", tmp.string(), "train_dir");
  REQUIRE(spec.dirs.size() == 1);
  CHECK(spec.dirs[0] == tmp.string());
  CHECK_ERROR_HAS(resolve_lesion_source("maskgan.masks", "/no/such/folder", "train_dir"), "maskgan.masks = /no/such/folder");
  if (data::shared_data_path("soop/lesions")) {
    CHECK(resolve_lesion_source("k", "auto", "procedural").real());
    CHECK(resolve_lesion_source("k", "soop+lesymap", "procedural").dirs.size() == 2);
  } else {
    MESSAGE("no shared/data here: named sets must fail, auto must fall back");
    CHECK(!resolve_lesion_source("k", "auto", "procedural").real());
    CHECK_ERROR_HAS(resolve_lesion_source("k", "soop", "procedural"), "not at hand");
  }
}
