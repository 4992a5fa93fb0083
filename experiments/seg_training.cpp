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
#include "experiments/run_threads.h"
#include "experiments/seg_metrics.h"
#include "experiments/training_run.h"
#include "models/unet.h"
#include "nn/communicator.h"
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
  Tensor x = data::to_tensor(s.image).reshape({1, 1, s.image.dims[2], s.image.dims[1], s.image.dims[0]});
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

// Every rank must continue from the same optimiser state: rank 0's, after a resume.
void broadcast_optimizer(nn::Communicator& comm, nn::Optimizer& opt) {
  if (comm.size() == 1) return;
  for (auto& [name, t] : opt.named_state()) {
    Tensor h = t;
    comm.broadcast(h.raw(), h.numel() * static_cast<int64_t>(dtype_size(h.dtype())), 0);
  }
  int64_t steps = opt.steps();
  comm.broadcast(&steps, sizeof steps, 0);
  opt.set_steps(steps);
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

SegTrainResult segment_train(const Config& cfg, const RunDirOptions& run_opt, const SegExperiment& exp) {
  apply_thread_setting(cfg);
  auto comm = nn::world_communicator();
  nn::check_same_on_all_ranks(*comm, "the resolved configuration", cfg.to_toml());
  const bool root = comm->is_root();
  const int64_t epochs = cfg.integer(exp.epochs_key), batch = cfg.integer("segment.batch");
  const double threshold = cfg.number("segment.threshold");
  const auto suffixes = seg_suffixes(cfg);
  PN_CHECK(exp.clinical || !exp.synthetic_dir.empty(), "segment train: no training data (neither clinical nor synthetic)");
  std::vector<std::pair<const data::FolderDataset*, size_t>> parts_of_train;
  std::optional<data::FolderDataset> clinical, synthetic;
  if (exp.clinical) {
    clinical.emplace(cfg.string("data.train_dir"), suffixes);
    PN_CHECK(exp.clinical_cases <= static_cast<int64_t>(clinical->size()),
             "segment train: {} clinical cases asked for, {} has {}", exp.clinical_cases, cfg.string("data.train_dir"),
             clinical->size());
    parts_of_train.emplace_back(&*clinical, static_cast<size_t>(exp.clinical_cases));
  }
  if (!exp.synthetic_dir.empty()) {
    synthetic.emplace(exp.synthetic_dir, suffixes);
    parts_of_train.emplace_back(&*synthetic, 0);
  }
  data::FolderDataset train = data::FolderDataset::pooled(parts_of_train);
  data::FolderDataset test(cfg.string("data.test_dir"), suffixes);

  Generator gen(static_cast<uint64_t>(cfg.integer("run.seed")));
  models::SegmentationUNet net(unet_config(cfg), gen);
  nn::Adam opt(net.named_parameters(), nn::AdamOptions{cfg.number("segment.lr")});
  nn::CheckpointParts parts{{{"unet", &net}}, {{"adam", &opt}}};
  nn::DataParallel dp(comm, {&net});
  if (cfg.boolean("segment.sync_batch_norm")) nn::enable_sync_batch_norm(net, comm);

  // Fine-tuning starts from another run's final weights (its optimiser state is not taken).
  if (!exp.init_from.empty()) {
    auto latest = CheckpointDir(fs::path(exp.init_from) / run_files::kCheckpoints).latest();
    PN_CHECK(latest.has_value(), "segment train: {} (to fine-tune from) has no checkpoint", exp.init_from);
    nn::Adam scratch(net.named_parameters(), nn::AdamOptions{cfg.number("segment.lr")});
    nn::load_checkpoint(latest->string(), {{{"unet", &net}}, {{"adam", &scratch}}});
  }
  // Rank 0 owns the run folder; the others follow its resume point.
  std::unique_ptr<TrainingRun> run;
  int64_t done_epochs = 0, step = 0;
  if (root) {
    run = std::make_unique<TrainingRun>(cfg, "segment", run_opt,
                                        std::vector<std::string>{"train_loss", "test_soft_dice", "test_hard_dice"});
    if (!run->done()) done_epochs = run->resume(parts, gen, &step);
    else done_epochs = epochs;
  }
  int64_t sync[2] = {done_epochs, step};
  comm->broadcast(sync, sizeof sync, 0);
  done_epochs = sync[0], step = sync[1];
  dp.broadcast_state();
  broadcast_optimizer(*comm, opt);

  SegTrainResult result;
  if (root) result.run_dir = run->dir().path().string();
  data::BatchLoader::Options lo;
  lo.batch = static_cast<int>(batch * comm->size());  // the global batch; each rank takes its share
  lo.drop_last = comm->size() > 1;
  lo.seed = static_cast<uint64_t>(cfg.integer("run.seed"));
  const double mix_ratio = cfg.number("segment.mix_ratio");
  const int64_t steps_per_epoch = cfg.integer("segment.steps_per_epoch");
  data::BatchLoader::CaseOrder order;
  if (mix_ratio >= 0 || steps_per_epoch > 0) {
    const auto n_clinical = static_cast<int64_t>(clinical ? train.size() - (synthetic ? synthetic->size() : 0) : 0);
    const auto n_synthetic = static_cast<int64_t>(train.size()) - n_clinical;
    order = [=, global = lo.batch, seed = lo.seed](int epoch) {
      return mixed_epoch_order(n_clinical, n_synthetic, mix_ratio, global, steps_per_epoch, seed, epoch);
    };
  }
  data::BatchLoader loader(train, seg_pipeline(cfg, cfg.boolean("segment.augment")), lo, order);
  const auto test_pipe = seg_pipeline(cfg, false);
  if (root && done_epochs < epochs)
    std::printf("segment train: %zu training (%s) and %zu test volumes, %lld epochs of %lld steps, %d rank(s), U-Net "
                "%lld parameters\n", train.size(),
                exp.synthetic_dir.empty() ? "clinical"
                : !exp.clinical           ? "synthetic"
                : mix_ratio >= 0          ? fmt::format("clinical + synthetic, {:.0f}% synthetic per batch", 100 * mix_ratio).c_str()
                                          : "clinical + synthetic, pooled",
                test.size(), (long long)epochs, (long long)loader.batches_per_epoch(), comm->size(),
                (long long)net.num_parameters());
  net.train();
  for (int64_t e = done_epochs + 1; e <= epochs; ++e) {
    std::optional<Progress> prog;  // rank 0 reports
    if (root) prog.emplace(fmt::format("epoch {}/{}", e, epochs), loader.batches_per_epoch(), "step");
    loader.start_epoch(static_cast<int>(e));
    double loss_sum = 0;
    int64_t n = 0;
    while (auto b = loader.next()) {
      Tensor x = nn::rank_slice(b->image, comm->rank(), comm->size());
      Tensor t = nn::rank_slice(b->target, comm->rank(), comm->size());
      opt.zero_grad();
      Tensor loss = soft_dice_loss(softmax(net.forward(x), 1), t, 1);
      PN_CHECK(std::isfinite(loss.item()), "segment train: the loss is {} at epoch {}, step {} (lower segment.lr?)",
               loss.item(), e, n + 1);
      loss.backward();
      dp.average_gradients();
      opt.step();
      ++step;
      loss_sum += dp.average(loss.item());
      ++n;
      if (root) prog->advance(1, fmt::format("loss {:.4f}", loss_sum / static_cast<double>(n)));
    }
    if (root) {
      prog->finish();
      const TestScores ts = score_dataset(net, test, test_pipe, threshold);
      result.final_test_soft_dice = ts.soft;
      std::printf("epoch %lld: train loss %.4f, test soft Dice %.4f, hard Dice %.4f\n", (long long)e,
                  loss_sum / std::max<int64_t>(n, 1), ts.soft, ts.hard);
      run->end_epoch(e, epochs, {loss_sum / std::max<int64_t>(n, 1), ts.soft, ts.hard}, parts, gen, step);
    }
  }
  if (!root) return result;
  // The conventional protocol: the final model, once, on volumes it never saw.
  const std::string holdout = cfg.string("data.holdout_dir");
  if (!run->done() && fs::is_directory(holdout)) {
    data::FolderDataset ds(holdout, suffixes);
    CsvAppender csv(run->dir().heldout_metrics_path().string(), case_metrics_columns());
    net.eval();
    double sum = 0;
    int positive = 0;
    // The first few lesion-positive volumes with truth and prediction, for the montage.
    std::vector<std::pair<data::Sample, data::LabelVolume>> shown;
    for (size_t i = 0; i < ds.size(); ++i) {
      data::Sample s = data::preprocess(ds.load(i), test_pipe, 0);
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
      data::write_montage_png((run->dir().path() / "heldout_montage.png").string(), cases);
    }
    result.heldout_hard_dice = positive > 0 ? sum / positive : -1;
    std::printf("held-out: %zu volumes, mean hard Dice %.4f over %d lesion-positive ones\n", ds.size(),
                result.heldout_hard_dice, positive);
  }
  if (!run->done())
    run->finish(fmt::format("test soft Dice {:.4f}, held-out hard Dice {:.4f}", result.final_test_soft_dice,
                            result.heldout_hard_dice));
  return result;
}

void segment_predict(const std::string& run_dir, const std::string& input_dir, const std::string& out_dir) {
  const Config cfg = run_config(run_dir);
  Generator gen(1);
  models::SegmentationUNet net(unet_config(cfg), gen);
  nn::Adam opt(net.named_parameters(), nn::AdamOptions{cfg.number("segment.lr")});
  nn::load_checkpoint(newest_checkpoint(run_dir, "segment predict"), {{{"unet", &net}}, {{"adam", &opt}}});
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
