#include "experiments/train/seg_training.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "autograd/grad_mode.h"
#include "autograd/ops/concat.h"
#include "autograd/ops/loss.h"
#include "autograd/ops/softmax.h"
#include "data/montage.h"
#include "data/nifti_io.h"
#include "data/dataset_layout.h"
#include "data/lesion_stats.h"
#include "data/resample.h"
#include "data/tensor_bridge.h"
#include "experiments/metrics/case_metrics_csv.h"
#include "experiments/run/checkpoint_dir.h"
#include "experiments/config/config_presets.h"
#include "experiments/config/config_validate.h"
#include "experiments/config/dataset_config.h"
#include "experiments/train/mixed_order.h"
#include "experiments/run/progress.h"
#include "experiments/metrics/seg_metrics.h"
#include "experiments/train/training_loop.h"
#include "models/seg_losses.h"
#include "models/unet.h"
#include "nn/data_parallel.h"
#include "nn/optim.h"
#include "nn/safetensors.h"

namespace pn::experiments {

namespace fs = std::filesystem;
using cli::Progress;

// segment.memory_format: "auto" is channels-last on the CPU, where it was measured faster at
// the paper's size (README, "Channels-last convolutions"), and channels-first on CUDA devices,
// where it has not been measured yet, and with synchronised batch norm (channels-first only).
bool unet_channels_last(const Config& cfg, Device device) {
  const std::string format = cfg.string("segment.memory_format");
  if (format != "auto") return format == "channels_last";
  return device.is_cpu() && !cfg.boolean("segment.sync_batch_norm");
}

namespace {

models::UNetConfig unet_config(const Config& cfg, Device device) {
  check_unet_grid(cfg);
  return {3,
          input_channels(cfg),
          2,
          cfg.integer("segment.base_filters"),
          static_cast<int>(cfg.integer("segment.depth")),
          unet_channels_last(cfg, device)};
}

// Probabilities of the lesion class [D, H, W] (float) for one preprocessed sample.
std::vector<float> lesion_probabilities(models::SegmentationUNet& net, const data::Sample& s) {
  NoGrad ng;
  const int64_t channels = 1 + static_cast<int64_t>(s.more_channels.size());
  Tensor x = data::sample_tensor(s).reshape({1, channels, s.image.dims[2], s.image.dims[1], s.image.dims[0]}).to(net.device());
  Tensor p = narrow(softmax(net.forward(x), 1), 1, 1, 1);
  auto v = p.to_vector();
  return {v.begin(), v.end()};
}

Grid3 grid3_of(const data::Grid& g) {
  return {{g.dims[2], g.dims[1], g.dims[0]}, {g.spacing[2], g.spacing[1], g.spacing[0]}};
}

std::vector<uint8_t> mask_bytes(const data::LabelVolume& m) {
  std::vector<uint8_t> out(m.data.size());
  for (size_t i = 0; i < out.size(); ++i) out[i] = m.data[i] != 0;
  return out;
}

struct TestScores {
  double soft = 0, hard = 0;
};

// Mean soft and hard Dice of the lesion class over the volumes of a dataset (the paper's
// per-epoch test measurement; lesion-free volumes count with Dice 1 if nothing is found).
TestScores score_dataset(models::SegmentationUNet& net, const data::FolderDataset& ds,
                         const data::PipelineOptions& pipe, double threshold) {
  TestScores t;
  net.eval();
  for (size_t i = 0; i < ds.size(); ++i) {
    data::Sample s = data::preprocess(ds.load(i), pipe, 0);
    auto prob = lesion_probabilities(net, s);
    auto truth = mask_bytes(s.target);
    auto pred = threshold_mask(prob.data(), static_cast<int64_t>(prob.size()), threshold);
    t.soft += soft_dice(prob.data(), truth.data(), static_cast<int64_t>(prob.size()));
    t.hard += hard_dice(confusion(pred.data(), truth.data(), static_cast<int64_t>(pred.size())));
  }
  net.train();
  t.soft /= static_cast<double>(ds.size());
  t.hard /= static_cast<double>(ds.size());
  return t;
}

}  // namespace

data::PairSuffixes seg_suffixes(const Config& cfg) { return dataset_spec(cfg, "").suffixes; }

data::PipelineOptions seg_pipeline(const Config& cfg, bool augment) {
  data::PipelineOptions p;
  const auto grid = cfg.integers("data.grid");       // D, H, W
  const auto spacing = cfg.numbers("data.spacing");  // D, H, W (mm)
  const auto slices = cfg.integers("data.slices");   // first, last (inclusive), on the resampled grid
  p.size = {grid[2], grid[1], grid[0]};
  p.spacing = data::Vec3{spacing[2], spacing[1], spacing[0]};
  p.slice_begin = slices[0];
  p.slice_end = slices[1] + 1;
  p.clip_percentile = cfg.number("data.clip_percentile");
  p.augment = augment;
  return p;
}

namespace {

// The training volumes of an experiment (clinical, synthetic or pooled) and the test set.
struct SegData {
  std::optional<data::FolderDataset> clinical, synthetic, train, test, holdout;
  std::string description;  // for the log
  int64_t n_clinical = 0, n_synthetic = 0;
};

SegData load_seg_data(const Config& cfg, const SegExperiment& exp) {
  PN_CHECK(exp.clinical || !exp.synthetic_dir.empty(), "segment train: no training data (neither clinical nor synthetic)");
  // Every case read and checked before the first step (data.skip_bad_cases).
  const data::PipelineOptions pipe = seg_pipeline(cfg, false);
  SegData d;
  std::vector<std::pair<const data::FolderDataset*, size_t>> parts;
  if (exp.clinical) {
    d.clinical.emplace(open_checked_dataset(cfg, cfg.string("data.train_dir"), "data.train_dir", {}, &pipe));
    PN_CHECK(exp.clinical_cases <= static_cast<int64_t>(d.clinical->size()),
             "segment train: {} clinical cases asked for, {} has {}", exp.clinical_cases, cfg.string("data.train_dir"),
             d.clinical->size());
    parts.emplace_back(&*d.clinical, static_cast<size_t>(exp.clinical_cases));
  }
  if (!exp.synthetic_dir.empty()) {
    d.synthetic.emplace(open_checked_dataset(cfg, exp.synthetic_dir, "synthetic database", {}, &pipe));
    parts.emplace_back(&*d.synthetic, 0);
  }
  d.train.emplace(data::FolderDataset::pooled(parts));
  d.test.emplace(open_checked_dataset(cfg, cfg.string("data.test_dir"), "data.test_dir", {}, &pipe));
  if (fs::is_directory(cfg.string("data.holdout_dir")))
    d.holdout.emplace(open_checked_dataset(cfg, cfg.string("data.holdout_dir"), "data.holdout_dir", {}, &pipe));
  d.n_synthetic = d.synthetic ? static_cast<int64_t>(d.synthetic->size()) : 0;
  d.n_clinical = static_cast<int64_t>(d.train->size()) - d.n_synthetic;
  const double mix_ratio = cfg.number("segment.mix_ratio");
  d.description = exp.synthetic_dir.empty() ? "clinical"
                  : !exp.clinical           ? "synthetic"
                  : mix_ratio >= 0 ? fmt::format("clinical + synthetic, {:.0f}% synthetic per batch", 100 * mix_ratio)
                                   : "clinical + synthetic, pooled";
  return d;
}

// The batch loader of the global batch (each rank takes its slice): a shuffled pass, or
// clinical and synthetic volumes mixed at segment.mix_ratio, or a fixed step budget.
std::unique_ptr<data::BatchLoader> seg_loader(const Config& cfg, const SegData& d, int64_t global_batch) {
  data::BatchLoader::Options lo;
  lo.batch = static_cast<int>(global_batch);
  lo.drop_last = true;  // every step holds a whole global batch, whatever the rank count
  lo.seed = static_cast<uint64_t>(cfg.integer("run.seed"));
  const double mix_ratio = cfg.number("segment.mix_ratio");
  const int64_t steps_per_epoch = cfg.integer("segment.steps_per_epoch");
  data::BatchLoader::CaseOrder order;
  if (mix_ratio >= 0 || steps_per_epoch > 0)
    order = [=, nc = d.n_clinical, ns = d.n_synthetic, seed = lo.seed](int epoch) {
      return mixed_epoch_order(nc, ns, mix_ratio, global_batch, steps_per_epoch, seed, epoch);
    };
  return std::make_unique<data::BatchLoader>(*d.train, seg_pipeline(cfg, cfg.boolean("segment.augment")), lo, order);
}

// The conventional protocol: the final model, once, on volumes it never saw. Rank 0;
// heldout_metrics.csv is written afresh (a resumed evaluation does not add rows twice).
double heldout_evaluation(TrainingLoop& loop, models::SegmentationUNet& net, const Config& cfg,
                          const data::FolderDataset& ds) {
  const auto pipe = seg_pipeline(cfg, false);
  const double threshold = cfg.number("segment.threshold");
  const fs::path csv_path = loop.training_run().dir().heldout_metrics_path();
  fs::remove(csv_path);
  CsvAppender csv(csv_path.string(), case_metrics_columns());
  net.eval();
  double sum = 0;
  int positive = 0;
  // The first few lesion-positive volumes with truth and prediction, for the montage.
  std::vector<std::pair<data::Sample, data::LabelVolume>> shown;
  for (size_t i = 0; i < ds.size(); ++i) {
    loop.check_stop("the held-out evaluation");
    data::Sample s = data::preprocess(ds.load(i), pipe, 0);
    auto prob = lesion_probabilities(net, s);
    auto truth = mask_bytes(s.target);
    CaseMetrics m = evaluate_case(prob.data(), truth.data(), grid3_of(s.image), threshold);
    csv.append(case_metrics_row(s.id, m));
    if (m.lesion_positive) sum += m.hard_dice, ++positive;
    if (m.lesion_positive && shown.size() < 4) {
      data::LabelVolume pred = data::LabelVolume::zeros_on(s.target);
      for (size_t v = 0; v < prob.size(); ++v) pred.data[v] = prob[v] >= threshold;
      shown.emplace_back(std::move(s), std::move(pred));
    }
  }
  if (!shown.empty()) {
    std::vector<data::MontageCase> cases;
    for (const auto& [s, pred] : shown) cases.push_back({&s.image, nullptr, &s.target, &pred});
    data::write_montage_png((loop.run_dir() / "heldout_montage.png").string(), cases);
  }
  const double dice = positive > 0 ? sum / positive : -1;
  std::printf("held-out: %zu volumes, mean hard Dice %.4f over %d lesion-positive ones\n", ds.size(), dice, positive);
  return dice;
}

// Fine-tuning starts from another run's final weights (its optimiser state is not taken).
void init_from_run(models::SegmentationUNet& net, const Config& cfg, const std::string& run_dir) {
  nn::Adam scratch(net.named_parameters(), nn::AdamOptions{cfg.number("segment.lr")});
  load_newest_checkpoint(run_dir, "segment train (fine-tuning from)", {{{"unet", &net}}, {{"adam", &scratch}}, {}});
}

SegTrainResult train_segmentation(TrainingLoop& loop, const Config& cfg, const SegExperiment& exp) {
  SegData d = load_seg_data(cfg, exp);
  Generator gen(static_cast<uint64_t>(cfg.integer("run.seed")));
  models::SegmentationUNet net(unet_config(cfg, loop.device()), gen);
  loop.place(net);
  nn::Adam opt(net.named_parameters(), nn::AdamOptions{cfg.number("segment.lr")});
  nn::DataParallel dp(loop.tensors(), {&net});
  if (cfg.boolean("segment.sync_batch_norm")) nn::enable_sync_batch_norm(net, loop.tensors());
  if (loop.root() && !loop.done() && !exp.init_from.empty()) init_from_run(net, cfg, exp.init_from);
  nn::GradScaler scaler(loop.scaler_options());  // fp16 loss scaling (run.precision)
  loop.track({{{"unet", &net}}, {{"adam", &opt}}, {{"init", &gen}}, {{"adam", &scaler}}});
  const int64_t steps = loop.plan(static_cast<int64_t>(d.train->size()), cfg.integer("segment.steps_per_epoch"),
                                  "volumes");
  auto loader = seg_loader(cfg, d, cfg.integer("segment.batch") * loop.ranks());
  PN_CHECK(loader->batches_per_epoch() == steps, "segment train: the loader has {} batches per epoch, the plan {}",
           loader->batches_per_epoch(), steps);
  if (loop.root() && !loop.done())
    std::printf("segment train: %zu training (%s) and %zu test volumes, U-Net %lld parameters, activations %s\n",
                d.train->size(), d.description.c_str(), d.test->size(), (long long)net.num_parameters(),
                net.config().channels_last ? "channels-last" : "channels-first");
  loop.resume();
  const auto test_pipe = seg_pipeline(cfg, false);
  const models::SegLoss loss_kind = models::parse_seg_loss(cfg.string("segment.loss"));  // models/seg_losses.h
  net.train();
  TrainerHooks hooks;
  hooks.start_epoch = [&](int64_t e, int64_t first) { loader->start_epoch(static_cast<int>(e), first); };
  hooks.step = [&](const StepContext& c) {
    auto b = loader->next();
    PN_CHECK(b.has_value(), "segment train: the data ran out at step {} of epoch {}", c.step + 1, c.epoch);
    Tensor x = loop.to_device(nn::rank_slice(b->image, loop.rank(), loop.ranks()));
    Tensor t = loop.to_device(nn::rank_slice(b->target, loop.rank(), loop.ranks()));
    opt.zero_grad();
    Tensor loss;
    {
      const AutocastScope mixed = loop.autocast();  // run.precision: autograd/autocast.h
      loss = models::segmentation_loss(loss_kind, net.forward(x), t);
    }
    scaler.scale(loss).backward();
    dp.average_gradients();
    scaler.step(opt);
    return std::vector<double>{loss.item()};
  };
  hooks.evaluate = [&](int64_t) {
    const TestScores ts = score_dataset(net, *d.test, test_pipe, cfg.number("segment.threshold"));
    return std::vector<double>{ts.soft, ts.hard};
  };
  loop.run(hooks);
  SegTrainResult result;
  result.run_dir = loop.run_dir().string();
  if (!loop.root()) return result;
  const std::vector<double> last = loop.last_metrics();  // train loss, test soft Dice, test hard Dice
  if (last.size() == 3) result.final_test_soft_dice = last[1];
  if (!loop.done() && d.holdout) result.heldout_hard_dice = heldout_evaluation(loop, net, cfg, *d.holdout);
  loop.finish(fmt::format("test soft Dice {:.4f}, held-out hard Dice {:.4f}", result.final_test_soft_dice,
                          result.heldout_hard_dice));
  return result;
}

}  // namespace

SegTrainResult segment_train(const Config& cfg, const RunDirOptions& run_opt, const SegExperiment& exp) {
  LoopSpec spec{"segment train", "segment", {"train_loss"}, {"test_soft_dice", "test_hard_dice"},
                cfg.integer(exp.epochs_key), cfg.integer("segment.batch"), "segment.batch"};
  TrainingLoop loop(cfg, spec, run_opt);
  return loop.guard([&] { return train_segmentation(loop, cfg, exp); });
}

namespace {

// The hard mask of one case on its own grid (the case's image grid), from the model.
data::LabelVolume predict_case(models::SegmentationUNet& net, const data::Case& in, const data::PipelineOptions& pipe,
                               double threshold) {
  const data::Sample s = data::preprocess(in, pipe, 0);
  const auto prob = lesion_probabilities(net, s);
  data::LabelVolume pred = data::LabelVolume::zeros_on(s.image);
  for (size_t i = 0; i < prob.size(); ++i) pred.data[i] = prob[i] >= threshold;
  // Back onto the input's grid: input voxel -> world -> study-grid voxel, nearest.
  const data::Mat4 to_study = data::mat4_mul(data::mat4_inverse(s.image.affine), in.image.affine);
  data::LabelVolume out = data::sample_nearest(pred, to_study, in.image.dims, 0);
  static_cast<data::Grid&>(out) = in.image.grid();
  return out;
}

}  // namespace

int segment_predict(const std::string& run_dir, const std::string& input_dir, const std::string& out_dir,
                    Device device) {
  const Config cfg = run_config(run_dir);
  Generator gen(1);
  models::SegmentationUNet net(unet_config(cfg, device), gen);
  nn::Adam opt(net.named_parameters(), nn::AdamOptions{cfg.number("segment.lr")});
  load_newest_checkpoint(run_dir, "segment predict", {{{"unet", &net}}, {{"adam", &opt}}, {}});
  net.to(device);
  net.eval();  // batch norm with the running statistics, as in the run's own held-out evaluation
  // Images alone are cases: masks beside them are neither needed nor read.
  const data::FolderScan scan = data::scan_dataset(dataset_spec(cfg, input_dir, {.masks = false}));
  PN_CHECK(!scan.cases.empty(), "segment predict: {}",
           data::problems_text(fmt::format("{} ({})", input_dir, scan.layout_description),
                               scan.problems.empty() ? std::vector<std::string>{"no case found"} : scan.problems));
  std::printf("segment predict: %s: %s, %zu case(s)\n", input_dir.c_str(), scan.layout_description.c_str(),
              scan.cases.size());
  if (!scan.ignored.empty())  // e.g. images named without the run's suffix: said, not silently passed over
    std::fprintf(stderr, "segment predict: %zu NIfTI file(s) of %s are no case's image and are not predicted (e.g. "
                 "%s); images are <case>_%s.nii(.gz) (the run's data.image_suffix)\n", scan.ignored.size(),
                 input_dir.c_str(), scan.ignored[0].c_str(), scan.channels[0].c_str());
  std::vector<std::string> failed = scan.problems;  // cases the scan could not complete
  fs::create_directories(out_dir);
  const auto pipe = seg_pipeline(cfg, false);
  const double threshold = cfg.number("segment.threshold");
  std::string table = csv_line({"case", "status", "predicted_ml", "components", "input", "output", "problem"});
  Progress prog("predict", static_cast<int64_t>(scan.cases.size()), "volume");
  for (data::CaseFiles c : scan.cases) {
    c.mask.clear();
    const std::string out = (fs::path(out_dir) / (c.id + "_pred.nii.gz")).string();
    try {
      const data::LabelVolume pred = predict_case(net, data::load_case(c), pipe, threshold);
      data::write_labels(pred, out);
      const data::LesionStats st = data::lesion_stats(pred);
      table += csv_line({c.id, "ok", csv_number(st.volume_ml), std::to_string(st.components), c.image(), out, ""});
    } catch (const pn::Error& e) {
      // One unreadable case does not stop the others; the exit status reports it.
      failed.push_back(e.what());
      table += csv_line({c.id, "failed", "", "", c.image(), "", e.what()});
    }
    prog.advance(1, c.id);
  }
  prog.finish();
  const std::string csv_path = (fs::path(out_dir) / "predictions.csv").string();
  nn::write_file_atomic(csv_path, table);
  std::printf("wrote %zu of %zu masks to %s; predicted volumes and components per case: %s\n",
              scan.cases.size() - (failed.size() - scan.problems.size()), scan.cases.size(), out_dir.c_str(),
              csv_path.c_str());
  if (!failed.empty())
    std::fprintf(stderr, "%s\n", data::problems_text("segment predict: not predicted", failed).c_str());
  return static_cast<int>(failed.size());
}

namespace {

// A prediction and its truth must lie on one world grid; a prediction on another grid is
// resampled onto the truth's (nearest) when allowed, else it is a problem.
constexpr double kGridToleranceMm = 0.01;

std::optional<data::LabelVolume> on_truth_grid(data::LabelVolume pred, const std::string& pred_file,
                                               const data::LabelVolume& truth, const std::string& truth_file,
                                               bool resample, std::vector<std::string>& problems) {
  const double diff = pred.dims == truth.dims ? data::mat4_max_diff(pred.affine, truth.affine) : -1;
  if (diff >= 0 && diff <= kGridToleranceMm) return pred;
  const std::string where = fmt::format("{} lies on {}, its truth {} on {}{}", pred_file, data::grid_string(pred),
                                        truth_file, data::grid_string(truth),
                                        diff >= 0 ? fmt::format(" (affines differ by up to {:.3g} mm)", diff) : "");
  const double overlap = data::field_of_view_overlap(pred, truth);
  if (!resample || overlap < 0.5) {
    problems.push_back(where + (resample ? fmt::format(": they overlap in only {:.0f} % of the truth's field of view; "
                                                       "check that the prediction belongs to this case", 100 * overlap)
                                         : ": predict on the truth's own images (segment predict writes masks on "
                                           "the input's grid), or pass --resample to resample predictions onto the "
                                           "truth's grid (nearest neighbour)"));
    return std::nullopt;
  }
  std::printf("%s: resampled onto the truth's grid\n", where.c_str());
  return data::resample_onto(pred, truth);
}

}  // namespace

void segment_eval(const std::string& pred_dir, const data::DatasetSpec& truth_spec, const std::string& csv_path,
                  bool resample) {
  data::DatasetSpec spec = truth_spec;
  spec.masks_required = true;
  const data::FolderScan scan = data::scan_dataset(spec);
  const std::string what = fmt::format("segment eval: truth {} ({})", spec.dir, scan.layout_description);
  PN_CHECK(!scan.cases.empty() && scan.problems.empty(), "{}",
           data::problems_text(what, scan.problems.empty() ? std::vector<std::string>{"no case found"} : scan.problems));
  std::printf("%s, %zu case(s)\n", what.c_str(), scan.cases.size());
  std::vector<std::string> problems;
  std::string table = csv_line(case_metrics_columns());
  double dice = 0, fp = 0;
  int positive = 0, negative = 0;
  for (const auto& c : scan.cases) {
    const std::string p = (fs::path(pred_dir) / (c.id + "_pred.nii.gz")).string();
    try {
      PN_CHECK(fs::exists(p), "{}: no prediction for case {} (segment predict writes <case>_pred.nii.gz)", p, c.id);
      const data::LabelVolume truth = data::read_mask(c.mask);
      const auto pred = on_truth_grid(data::read_mask(p), p, truth, c.mask, resample, problems);
      if (!pred) continue;
      std::vector<float> prob(pred->data.begin(), pred->data.end());
      const auto t = mask_bytes(truth);
      const CaseMetrics m = evaluate_case(prob.data(), t.data(), grid3_of(truth), 0.5);
      table += csv_line(case_metrics_row(c.id, m));
      if (m.lesion_positive) dice += m.hard_dice, ++positive;
      else fp += m.fp_volume_ml, ++negative;
    } catch (const pn::Error& e) {
      problems.push_back(e.what());
    }
  }
  PN_CHECK(problems.empty(), "{}\n  nothing written to {}", data::problems_text(what, problems), csv_path);
  nn::write_file_atomic(csv_path, table);  // a new file each time: never rows added to an old one
  std::printf("%zu cases: mean hard Dice %.4f over %d lesion-positive, mean false-positive volume %.3f ml over %d "
              "lesion-free; per case: %s\n", scan.cases.size(), positive ? dice / positive : 0.0, positive,
              negative ? fp / negative : 0.0, negative, csv_path.c_str());
}

}  // namespace pn::experiments
