#include "experiments/seg_training.h"

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
#include "data/resample.h"
#include "data/tensor_bridge.h"
#include "experiments/case_metrics_csv.h"
#include "experiments/checkpoint_dir.h"
#include "experiments/config_presets.h"
#include "experiments/mixed_order.h"
#include "experiments/progress.h"
#include "experiments/seg_metrics.h"
#include "experiments/training_loop.h"
#include "models/unet.h"
#include "nn/data_parallel.h"
#include "nn/optim.h"

namespace pn::experiments {

namespace fs = std::filesystem;
using cli::Progress;

namespace {

// "_dwi.nii.gz" -> "dwi".
std::string bare_suffix(std::string s) {
  for (const char* ext : {".nii.gz", ".nii"})
    if (s.size() > std::string(ext).size() && s.ends_with(ext)) s.resize(s.size() - std::string(ext).size());
  if (!s.empty() && s[0] == '_') s.erase(0, 1);
  return s;
}

models::UNetConfig unet_config(const Config& cfg) {
  return {3, 1, 2, cfg.integer("segment.base_filters"), static_cast<int>(cfg.integer("segment.depth"))};
}

// Probabilities of the lesion class [D, H, W] (float) for one preprocessed sample.
std::vector<float> lesion_probabilities(models::SegmentationUNet& net, const data::Sample& s) {
  NoGrad ng;
  Tensor x = data::to_tensor(s.image).reshape({1, 1, s.image.dims[2], s.image.dims[1], s.image.dims[0]}).to(net.device());
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

data::PairSuffixes seg_suffixes(const Config& cfg) {
  return {bare_suffix(cfg.string("data.image_suffix")), bare_suffix(cfg.string("data.mask_suffix")),
          bare_suffix(cfg.string("data.labels_suffix"))};
}

data::PipelineOptions seg_pipeline(const Config& cfg, bool augment) {
  data::PipelineOptions p;
  const auto grid = cfg.integers("data.grid");       // D, H, W
  const auto spacing = cfg.numbers("data.spacing");  // D, H, W (mm)
  const auto slices = cfg.integers("data.slices");   // first, last (inclusive), on the resampled grid
  p.size = {grid[2], grid[1], grid[0]};
  p.spacing = data::Vec3{spacing[2], spacing[1], spacing[0]};
  p.slice_begin = slices[0];
  p.slice_end = slices[1] + 1;
  p.augment = augment;
  return p;
}

namespace {

// The training volumes of an experiment (clinical, synthetic or pooled) and the test set.
struct SegData {
  std::optional<data::FolderDataset> clinical, synthetic, train, test;
  std::string description;  // for the log
  int64_t n_clinical = 0, n_synthetic = 0;
};

SegData load_seg_data(const Config& cfg, const SegExperiment& exp) {
  PN_CHECK(exp.clinical || !exp.synthetic_dir.empty(), "segment train: no training data (neither clinical nor synthetic)");
  const auto suffixes = seg_suffixes(cfg);
  SegData d;
  std::vector<std::pair<const data::FolderDataset*, size_t>> parts;
  if (exp.clinical) {
    d.clinical.emplace(cfg.string("data.train_dir"), suffixes);
    PN_CHECK(exp.clinical_cases <= static_cast<int64_t>(d.clinical->size()),
             "segment train: {} clinical cases asked for, {} has {}", exp.clinical_cases, cfg.string("data.train_dir"),
             d.clinical->size());
    parts.emplace_back(&*d.clinical, static_cast<size_t>(exp.clinical_cases));
  }
  if (!exp.synthetic_dir.empty()) {
    d.synthetic.emplace(exp.synthetic_dir, suffixes);
    parts.emplace_back(&*d.synthetic, 0);
  }
  d.train.emplace(data::FolderDataset::pooled(parts));
  d.test.emplace(cfg.string("data.test_dir"), suffixes);
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
double heldout_evaluation(TrainingLoop& loop, models::SegmentationUNet& net, const Config& cfg) {
  data::FolderDataset ds(cfg.string("data.holdout_dir"), seg_suffixes(cfg));
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
  models::SegmentationUNet net(unet_config(cfg), gen);
  loop.place(net);
  nn::Adam opt(net.named_parameters(), nn::AdamOptions{cfg.number("segment.lr")});
  nn::DataParallel dp(loop.tensors(), {&net});
  if (cfg.boolean("segment.sync_batch_norm")) nn::enable_sync_batch_norm(net, loop.tensors());
  if (loop.root() && !loop.done() && !exp.init_from.empty()) init_from_run(net, cfg, exp.init_from);
  loop.track({{{"unet", &net}}, {{"adam", &opt}}, {{"init", &gen}}});
  const int64_t steps = loop.plan(static_cast<int64_t>(d.train->size()), cfg.integer("segment.steps_per_epoch"),
                                  "volumes");
  auto loader = seg_loader(cfg, d, cfg.integer("segment.batch") * loop.ranks());
  PN_CHECK(loader->batches_per_epoch() == steps, "segment train: the loader has {} batches per epoch, the plan {}",
           loader->batches_per_epoch(), steps);
  if (loop.root() && !loop.done())
    std::printf("segment train: %zu training (%s) and %zu test volumes, U-Net %lld parameters\n", d.train->size(),
                d.description.c_str(), d.test->size(), (long long)net.num_parameters());
  loop.resume();
  const auto test_pipe = seg_pipeline(cfg, false);
  net.train();
  TrainerHooks hooks;
  hooks.start_epoch = [&](int64_t e, int64_t first) { loader->start_epoch(static_cast<int>(e), first); };
  hooks.step = [&](const StepContext& c) {
    auto b = loader->next();
    PN_CHECK(b.has_value(), "segment train: the data ran out at step {} of epoch {}", c.step + 1, c.epoch);
    Tensor x = loop.to_device(nn::rank_slice(b->image, loop.rank(), loop.ranks()));
    Tensor t = loop.to_device(nn::rank_slice(b->target, loop.rank(), loop.ranks()));
    opt.zero_grad();
    Tensor loss = soft_dice_loss(softmax(net.forward(x), 1), t, 1);
    loss.backward();
    dp.average_gradients();
    opt.step();
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
  if (!loop.done() && fs::is_directory(cfg.string("data.holdout_dir")))
    result.heldout_hard_dice = heldout_evaluation(loop, net, cfg);
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

void segment_predict(const std::string& run_dir, const std::string& input_dir, const std::string& out_dir,
                     Device device) {
  const Config cfg = run_config(run_dir);
  Generator gen(1);
  models::SegmentationUNet net(unet_config(cfg), gen);
  nn::Adam opt(net.named_parameters(), nn::AdamOptions{cfg.number("segment.lr")});
  load_newest_checkpoint(run_dir, "segment predict", {{{"unet", &net}}, {{"adam", &opt}}, {}});
  net.to(device);
  net.eval();  // batch norm with the running statistics, as in the run's own held-out evaluation
  const auto suffixes = seg_suffixes(cfg);
  const auto scan = data::scan_folder(input_dir, suffixes);
  PN_CHECK(!scan.cases.empty(), "segment predict: no `<case>_{}.nii(.gz)` images in {}", suffixes.image, input_dir);
  fs::create_directories(out_dir);
  const auto pipe = seg_pipeline(cfg, false);
  const double threshold = cfg.number("segment.threshold");
  Progress prog("predict", static_cast<int64_t>(scan.cases.size()), "volume");
  for (const auto& c : scan.cases) {
    data::Case in;
    in.id = c.id;
    in.image = data::read_nifti(c.image);
    in.mask = data::LabelVolume();
    static_cast<data::Grid&>(in.mask) = in.image.grid();
    in.mask.data.assign(static_cast<size_t>(in.image.numel()), 0);
    data::Sample s = data::preprocess(in, pipe, 0);
    auto prob = lesion_probabilities(net, s);
    data::LabelVolume pred;
    static_cast<data::Grid&>(pred) = s.image.grid();
    pred.data.resize(prob.size());
    for (size_t i = 0; i < prob.size(); ++i) pred.data[i] = prob[i] >= threshold;
    // Back onto the input's grid: input voxel -> world -> study-grid voxel, nearest.
    const data::Mat4 to_study = data::mat4_mul(data::mat4_inverse(s.image.affine), in.image.affine);
    data::LabelVolume out = data::sample_nearest(pred, to_study, in.image.dims, 0);
    static_cast<data::Grid&>(out) = in.image.grid();
    data::write_labels(out, (fs::path(out_dir) / (c.id + "_pred.nii.gz")).string());
    prog.advance(1, c.id);
  }
  prog.finish();
  std::printf("wrote %zu masks to %s\n", scan.cases.size(), out_dir.c_str());
}

void segment_eval(const std::string& pred_dir, const std::string& truth_dir, const data::PairSuffixes& suffixes,
                  const std::string& csv_path) {
  const auto scan = data::scan_folder(truth_dir, suffixes);
  PN_CHECK(!scan.cases.empty(), "segment eval: no cases in {}", truth_dir);
  CsvAppender csv(csv_path, case_metrics_columns());
  double dice = 0, fp = 0;
  int positive = 0, negative = 0;
  for (const auto& c : scan.cases) {
    const std::string p = (fs::path(pred_dir) / (c.id + "_pred.nii.gz")).string();
    PN_CHECK(fs::exists(p), "segment eval: no prediction {} for case {} of {}", p, c.id, truth_dir);
    data::LabelVolume truth = data::read_labels(c.mask, 2), pred = data::read_labels(p, 2);
    PN_CHECK(truth.dims == pred.dims, "segment eval: {} has dims {}x{}x{}, its truth {} has {}x{}x{}", p, pred.dims[0],
             pred.dims[1], pred.dims[2], c.mask, truth.dims[0], truth.dims[1], truth.dims[2]);
    std::vector<float> prob(pred.data.begin(), pred.data.end());
    auto t = mask_bytes(truth);
    CaseMetrics m = evaluate_case(prob.data(), t.data(), grid3_of(truth), 0.5);
    csv.append(case_metrics_row(c.id, m));
    if (m.lesion_positive) dice += m.hard_dice, ++positive;
    else fp += m.fp_volume_ml, ++negative;
  }
  std::printf("%zu cases: mean hard Dice %.4f over %d lesion-positive, mean false-positive volume %.3f ml over %d "
              "lesion-free; per case: %s\n", scan.cases.size(), positive ? dice / positive : 0.0, positive,
              negative ? fp / negative : 0.0, negative, csv_path.c_str());
}

}  // namespace pn::experiments
