// `segment train | predict | eval` end to end at a tiny size on phantom subjects written
// by the test: the run folder's files, a run stopped by a signal and crashed at random steps
// resuming to the same weights and numbers, a held-out evaluation redone without duplicate
// rows, masks predicted on the input's grid, and scores of a perfect prediction.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include <fmt/format.h>

#include "data/nifti_io.h"
#include "data/phantom.h"
#include "experiments/run/checkpoint_dir.h"
#include "experiments/config/config_presets.h"
#include "experiments/config/training_precision.h"
#include "experiments/run/csv_table.h"
#include "experiments/train/seg_training.h"
#include "nn/safetensors.h"
#include "test_util.h"
#include "tests/experiments/resume_check.h"

using namespace pn;
using namespace pn::experiments;
namespace fs = std::filesystem;

namespace {

// Phantom subjects (32 x 32 x 8 voxels of 8 x 8 x 14.4 mm, or `size`) in the
// folder-of-pairs layout.
void write_subjects(const fs::path& dir, int first, int n, bool stroke, data::Dims3 size = {32, 32, 8}) {
  fs::create_directories(dir);
  data::PhantomOptions opt;
  opt.size = size;
  for (int i = first; i < first + n; ++i) {
    auto s = data::make_phantom_subject(opt, data::phantom_subject_seed(5, i, stroke), stroke);
    const std::string base = (dir / fmt::format("{}{}", stroke ? "s" : "h", i)).string();
    data::write_nifti(s.image, base + "_dwi.nii.gz");
    data::write_labels(s.mask, base + "_msk.nii.gz");
    for (float& v : s.image.data) v = 3000 - v;  // an ADC-like second channel
    data::write_nifti(s.image, base + "_adc.nii.gz");
  }
}

Config tiny_config(const fs::path& root, int epochs, const std::vector<std::string>& more = {}) {
  ConfigRequest req;
  req.preset = "small";
  req.sets = more;
  req.sets.insert(req.sets.end(), {"data.train_dir=" + (root / "train").string(), "data.test_dir=" + (root / "test").string(),
              "data.holdout_dir=" + (root / "holdout").string(), "data.grid=8,16,16", "data.spacing=14.4,16,16",
              "data.slices=0,7", "segment.base_filters=4", "segment.depth=2", "segment.batch=2",
              fmt::format("segment.epochs={}", epochs), "segment.augment=false", "run.threads=1"});
  return resolve_config(req);
}

std::string read_file(const fs::path& p) {
  std::ifstream f(p);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("segment train, resume, predict and eval on tiny phantom data") {
  const fs::path root = fs::temp_directory_path() / fmt::format("pn_segment_e2e_{}", ::getpid());
  fs::remove_all(root);
  write_subjects(root / "train", 0, 4, true);
  write_subjects(root / "test", 4, 2, true);
  // The held-out volumes on the study grid (16 x 16 x 8 voxels of 16 x 16 x 14.4 mm).
  write_subjects(root / "holdout", 6, 1, true, {16, 16, 8});
  write_subjects(root / "holdout", 0, 1, false, {16, 16, 8});

  // Straight through 2 epochs.
  RunDirOptions a;
  a.out = (root / "run_a").string();
  auto ra = segment_train(tiny_config(root, 2), a);
  CHECK(fs::exists(root / "run_a" / "DONE"));
  CHECK(fs::exists(root / "run_a" / "config.toml"));
  CHECK(fs::exists(root / "run_a" / "heldout_montage.png"));  // the lesion-positive held-out volume
  const CsvTable ma = read_csv((root / "run_a" / "metrics.csv").string());
  CHECK(ma.rows.size() == 2);
  const CsvTable ha = read_csv((root / "run_a" / "heldout_metrics.csv").string());
  CHECK(ha.rows.size() == 2);
  CHECK(ra.final_test_soft_dice >= 0.0);

  // Stopped by SIGTERM, resumed, crashed, resumed: the same weights, optimiser and
  // generator states, and metrics as the straight run (16 steps: 2 epochs of 8).
  auto train = [&](const fs::path& dir, pn::test::AfterStep after) {
    RunDirOptions o;
    o.out = dir.string();
    o.after_step = std::move(after);
    segment_train(tiny_config(root, 2), o);
  };
  pn::test::check_interrupted_run_matches(train, root / "run_a", root / "run_b", 16);
  CHECK(read_file(root / "run_b" / "DONE") == read_file(root / "run_a" / "DONE"));
  CHECK(read_csv((root / "run_b" / "heldout_metrics.csv").string()).rows.size() == 2);
  // A crash during the held-out evaluation: DONE missing, some rows written. Resumed, it
  // evaluates again without duplicating rows, and reports the last epoch's test Dice.
  fs::remove(root / "run_b" / "DONE");
  std::ofstream(root / "run_b" / "heldout_metrics.csv", std::ios::app) << "s6,1,0.5,0.5,1,1,0,0,0,1,1\n";
  train(root / "run_b", {});
  CHECK(read_file(root / "run_b" / "heldout_metrics.csv") == read_file(root / "run_a" / "heldout_metrics.csv"));
  CHECK(read_file(root / "run_b" / "DONE") == read_file(root / "run_a" / "DONE"));
  CHECK(read_file(root / "run_a" / "DONE").find("test soft Dice 0.0000") == std::string::npos);

  // A changed config is refused, naming the key.
  RunDirOptions b;
  b.out = (root / "run_b").string();
  std::string err;
  try {
    segment_train(tiny_config(root, 3), b);
  } catch (const Error& e) {
    err = e.what();
  }
  CHECK(err.find("segment.epochs") != std::string::npos);

  // Predicting the held-out folder (on the study grid) and scoring it reproduces the
  // run's own held-out metrics: predict runs the model in eval mode.
  CHECK(segment_predict((root / "run_a").string(), (root / "holdout").string(), (root / "pred").string()) == 0);
  segment_eval((root / "pred").string(), {.dir = (root / "holdout").string()}, (root / "pred_eval.csv").string());
  {
    const CsvTable mine = read_csv((root / "pred_eval.csv").string());
    REQUIRE(mine.rows.size() == ha.rows.size());
    for (const char* col : {"case", "hard_dice", "precision", "recall", "fp_volume_ml", "truth_ml", "pred_ml"})
      for (size_t r = 0; r < ha.rows.size(); ++r) CHECK(mine.rows[r][mine.index(col)] == ha.rows[r][ha.index(col)]);
  }

  // Images without masks: one output per input on its own (oblique) grid, a per-case
  // CSV of volumes and components, and a corrupt file reported while the others run.
  fs::create_directories(root / "new");
  auto in = data::read_nifti((root / "holdout" / "s6_dwi.nii.gz").string());
  {  // oblique (15 degrees about z) and shifted
    data::Mat4 r = data::mat4_identity();
    r[0][0] = r[1][1] = std::cos(0.26), r[0][1] = -std::sin(0.26), r[1][0] = std::sin(0.26), r[0][3] = 7;
    in.affine = data::mat4_mul(r, in.affine);
  }
  data::write_nifti(in, (root / "new" / "p1_dwi.nii.gz").string());
  fs::copy_file(root / "holdout" / "h0_dwi.nii.gz", root / "new" / "p2_dwi.nii.gz");
  fs::copy_file(root / "holdout" / "h0_dwi.nii.gz", root / "new" / "p0_dwi.nii.gz");
  fs::resize_file(root / "new" / "p0_dwi.nii.gz", 200);  // an interrupted copy
  CHECK(segment_predict((root / "run_a").string(), (root / "new").string(), (root / "new_pred").string()) == 1);
  auto pred = data::read_labels((root / "new_pred" / "p1_pred.nii.gz").string(), 2);
  CHECK(pred.dims == in.dims);
  CHECK(data::mat4_max_diff(pred.affine, in.affine) < 1e-5);
  CHECK(fs::exists(root / "new_pred" / "p2_pred.nii.gz"));
  CHECK_FALSE(fs::exists(root / "new_pred" / "p0_pred.nii.gz"));
  {
    const CsvTable t = read_csv((root / "new_pred" / "predictions.csv").string());
    REQUIRE(t.rows.size() == 3);
    CHECK(t.rows[0][t.index("status")] == "failed");
    CHECK(t.rows[0][t.index("problem")].find("p0_dwi.nii.gz") != std::string::npos);
    CHECK(t.rows[1][t.index("status")] == "ok");
    int64_t n = 0;
    for (int32_t v : pred.data) n += v;
    CHECK(std::stod(t.rows[1][t.index("predicted_ml")]) == doctest::Approx(n * pred.voxel_volume_ml()));
    CHECK(std::stoi(t.rows[1][t.index("components")]) >= (n > 0 ? 1 : 0));
  }

  // A prediction shifted 50 mm in world space is refused, not scored; with --resample
  // it is resampled onto the truth's grid. The CSV is written anew, never appended to.
  fs::create_directories(root / "shifted");
  for (const char* id : {"s6", "h0"}) {
    auto m = data::read_labels((root / "holdout" / fmt::format("{}_msk.nii.gz", id)).string(), 2);
    m.affine[0][3] += 50;
    data::write_labels(m, (root / "shifted" / fmt::format("{}_pred.nii.gz", id)).string());
  }
  CHECK_THROWS_WITH_AS(segment_eval((root / "shifted").string(), {.dir = (root / "holdout").string()},
                                    (root / "shifted.csv").string()),
                       doctest::Contains("affines differ by up to 50 mm"), Error);
  CHECK_FALSE(fs::exists(root / "shifted.csv"));
  for (int twice = 0; twice < 2; ++twice)
    segment_eval((root / "shifted").string(), {.dir = (root / "holdout").string()}, (root / "shifted.csv").string(), true);
  CHECK(read_csv((root / "shifted.csv").string()).rows.size() == 2);

  // A checkpoint holding NaN (a diverged run) is refused, naming the tensor, instead of
  // predicting empty masks.
  fs::copy(root / "run_a", root / "run_nan", fs::copy_options::recursive);
  const auto newest = CheckpointDir(root / "run_nan" / "checkpoints").list().back().path;
  nn::SafetensorsFile f = nn::load_safetensors(newest.string());
  f.tensors[0].second.data<float>()[0] = NAN;
  f.metadata.erase("checksum");  // as if written so: not corrupt, diverged
  nn::save_safetensors(newest.string(), f.tensors, f.metadata);
  CHECK_THROWS_WITH_AS(segment_predict((root / "run_nan").string(), (root / "holdout").string(),
                                       (root / "pred_nan").string()),
                       doctest::Contains("holds NaN or infinite values"), Error);
  CHECK_FALSE(fs::exists(root / "pred_nan" / "s6_pred.nii.gz"));

  // Eval: the truth scored against itself is perfect.
  fs::create_directories(root / "perfect");
  for (const char* id : {"s6", "h0"})
    fs::copy_file(root / "holdout" / fmt::format("{}_msk.nii.gz", id), root / "perfect" / fmt::format("{}_pred.nii.gz", id));
  segment_eval((root / "perfect").string(), {.dir = (root / "holdout").string()}, (root / "eval.csv").string());
  const CsvTable ev = read_csv((root / "eval.csv").string());
  REQUIRE(ev.rows.size() == 2);
  const size_t dice = ev.index("hard_dice"), fp = ev.index("fp_volume_ml");
  for (const auto& row : ev.rows) {
    if (row[0] == "s6") CHECK(std::stod(row[dice]) == 1.0);
    else CHECK(std::stod(row[fp]) == 0.0);
  }
  fs::remove_all(root);
}

TEST_CASE("segment train pools clinical and synthetic volumes, takes N clinical cases, fine-tunes from a run") {
  const fs::path root = fs::temp_directory_path() / fmt::format("pn_segment_mix_{}", ::getpid());
  fs::remove_all(root);
  write_subjects(root / "train", 0, 4, true);
  write_subjects(root / "test", 4, 1, true);
  write_subjects(root / "synthetic", 10, 2, true);
  // A bad case (a mask holding 2) and a truncated image are found before the first step,
  // both at once; data.skip_bad_cases leaves them out instead.
  write_subjects(root / "train", 20, 2, true);
  {
    auto m = data::read_labels((root / "train" / "s20_msk.nii.gz").string(), 2);
    m.data[7] = 2;
    data::write_labels(m, (root / "train" / "s20_msk.nii.gz").string());
    fs::resize_file(root / "train" / "s21_dwi.nii.gz", 1000);
  }
  {
    RunDirOptions strict;
    strict.out = (root / "strict").string();
    std::string err;
    try {
      segment_train(tiny_config(root, 1), strict);
    } catch (const Error& e) {
      err = e.what();
    }
    CHECK(err.find("2 of 6 case(s) cannot be used") != std::string::npos);
    CHECK(err.find("s20_msk.nii.gz: voxel") != std::string::npos);
    CHECK(err.find("s21_dwi.nii.gz") != std::string::npos);
    CHECK(err.find("data.skip_bad_cases") != std::string::npos);
    CHECK_FALSE(fs::exists(root / "strict" / "checkpoints"));
  }
  Config cfg = tiny_config(root, 1);
  cfg.set("data.skip_bad_cases=true");
  RunDirOptions a, b, c;
  a.out = (root / "mixed").string();
  b.out = (root / "synthetic_only").string();
  c.out = (root / "finetuned").string();
  SegExperiment mixed;
  mixed.synthetic_dir = (root / "synthetic").string();
  mixed.clinical_cases = 2;
  segment_train(cfg, a, mixed);
  CHECK(read_file(root / "mixed" / "log.txt").find("4 training (clinical + synthetic, pooled)") != std::string::npos);
  {  // A fixed synthetic share per batch and a fixed step budget.
    Config ratio_cfg = cfg;
    ratio_cfg.set("segment.mix_ratio=0.5");
    ratio_cfg.set("segment.steps_per_epoch=3");
    RunDirOptions r;
    r.out = (root / "ratio").string();
    segment_train(ratio_cfg, r, mixed);
    const std::string log = read_file(root / "ratio" / "log.txt");
    CHECK(log.find("4 training (clinical + synthetic, 50% synthetic per batch)") != std::string::npos);
    CHECK(log.find("1 epochs of 3 steps") != std::string::npos);
  }
  SegExperiment synthetic_only;
  synthetic_only.clinical = false;
  synthetic_only.synthetic_dir = (root / "synthetic").string();
  segment_train(cfg, b, synthetic_only);
  SegExperiment finetune;
  finetune.clinical_cases = 2;
  finetune.init_from = b.out;
  segment_train(cfg, c, finetune);
  // Starting from the synthetic-only weights changes the result against a fresh start.
  RunDirOptions d;
  d.out = (root / "fresh").string();
  SegExperiment fresh;
  fresh.clinical_cases = 2;
  segment_train(cfg, d, fresh);
  CHECK(read_file(root / "finetuned" / "metrics.csv") != read_file(root / "fresh" / "metrics.csv"));
  SegExperiment too_many;
  too_many.clinical_cases = 9;
  RunDirOptions e;
  e.out = (root / "too_many").string();
  CHECK_THROWS_WITH_AS(segment_train(cfg, e, too_many), doctest::Contains("9 clinical cases asked for"), Error);
  // Two input channels (data.channels): trained, then predicted with both.
  Config two = cfg;
  two.set(R"(data.channels=["image", "adc"])");
  RunDirOptions t;
  t.out = (root / "two_channels").string();
  segment_train(two, t);
  CHECK(read_file(root / "two_channels" / "log.txt").find("<case>_dwi, <case>_adc") != std::string::npos);
  CHECK(segment_predict(t.out, (root / "test").string(), (root / "two_pred").string()) == 0);
  CHECK(fs::exists(root / "two_pred" / "s4_pred.nii.gz"));
  fs::remove_all(root);
}

// The issue's first wall: `segment train` pointed at an ISLES 2022 root (the official
// layout: rawdata/sub-*/ses-*/dwi/, masks under derivatives/) with data.layout = auto
// trains, names the layout it detected in the run's log, and predict and eval read the
// same root.
TEST_CASE("segment train, predict and eval on an ISLES 2022 root (official layout, detected)") {
  const fs::path root = fs::temp_directory_path() / fmt::format("pn_segment_isles_{}", ::getpid());
  fs::remove_all(root);
  data::PhantomOptions opt;
  opt.size = {32, 32, 8};
  for (int n = 1; n <= 4; ++n) {
    const auto s = data::make_phantom_subject(opt, data::phantom_subject_seed(7, n, true), true);
    const std::string sub = fmt::format("sub-strokecase{:04d}", n), stem = sub + "_ses-0001";
    const fs::path dwi = root / "isles" / "rawdata" / sub / "ses-0001" / "dwi";
    const fs::path der = root / "isles" / "derivatives" / sub / "ses-0001";
    fs::create_directories(dwi);
    fs::create_directories(der);
    data::write_nifti(s.image, (dwi / (stem + "_dwi.nii.gz")).string());
    data::write_labels(s.mask, (der / (stem + "_msk.nii.gz")).string());
  }
  const std::string isles = (root / "isles").string();
  ConfigRequest req;
  req.preset = "small";
  req.sets = {"data.train_dir=" + isles, "data.test_dir=" + isles, "data.holdout_dir=" + isles,
              "data.grid=8,16,16", "data.spacing=14.4,16,16", "data.slices=0,7", "segment.base_filters=4",
              "segment.depth=2", "segment.batch=2", "segment.epochs=1", "segment.augment=false", "run.threads=1"};
  RunDirOptions o;
  o.out = (root / "run").string();
  segment_train(resolve_config(req), o);
  CHECK(fs::exists(root / "run" / "DONE"));
  CHECK(read_csv((root / "run" / "metrics.csv").string()).rows.size() == 1);
  const CsvTable held = read_csv((root / "run" / "heldout_metrics.csv").string());
  REQUIRE(held.rows.size() == 4);
  CHECK(held.rows[0][held.index("case")] == "sub-strokecase0001_ses-0001");
  const std::string log = read_file(root / "run" / "log.txt");
  CHECK(log.find("ISLES 2022 (rawdata/sub-*/") != std::string::npos);
  CHECK(log.find("detected") != std::string::npos);

  // Predict on the root (its masks are not needed) and score against it.
  CHECK(segment_predict((root / "run").string(), isles, (root / "pred").string()) == 0);
  CHECK(fs::exists(root / "pred" / "sub-strokecase0003_ses-0001_pred.nii.gz"));
  segment_eval((root / "pred").string(), {.dir = isles}, (root / "eval.csv").string());
  CHECK(read_csv((root / "eval.csv").string()).rows.size() == 4);
  fs::remove_all(root);
}

TEST_CASE("segment train in mixed precision: bf16, and fp16 with its loss scaler checkpointed and resumed exactly") {
  const fs::path root = fs::temp_directory_path() / fmt::format("pn_segment_mixed_{}", ::getpid());
  fs::remove_all(root);
  write_subjects(root / "train", 0, 4, true);
  write_subjects(root / "test", 4, 1, true);
  write_subjects(root / "holdout", 6, 1, true, {16, 16, 8});

  // run.precision and run.tf32 together (compute_device.h).
  CHECK(training_precision(tiny_config(root, 1)) == Precision::FP32);
  CHECK(training_precision(tiny_config(root, 1, {"run.tf32=true"})) == Precision::TF32);
  CHECK(training_precision(tiny_config(root, 1, {"run.precision=tf32"})) == Precision::TF32);
  CHECK_THROWS_WITH_AS(tiny_config(root, 1, {"run.precision=bf16", "run.tf32=true"}),
                       doctest::Contains("run.tf32 = true and run.precision = \"bf16\" conflict"), Error);
  CHECK_THROWS_WITH_AS(tiny_config(root, 1, {"run.precision=fp8"}), doctest::Contains("\"bf16\" or \"fp16\""),
                       Error);

  // bf16: trains, says so in its log, keeps float32 master weights in the checkpoint.
  RunDirOptions a;
  a.out = (root / "bf16").string();
  const auto ra = segment_train(tiny_config(root, 1, {"run.precision=bf16"}), a);
  CHECK(fs::exists(root / "bf16" / "DONE"));
  CHECK(ra.final_test_soft_dice >= 0.0);
  CHECK(read_file(root / "bf16" / "log.txt").find("mixed precision bf16") != std::string::npos);
  const auto newest = experiments::CheckpointDir(root / "bf16" / "checkpoints").latest();
  REQUIRE(newest.has_value());
  for (const auto& [name, t] : nn::load_safetensors(newest->string()).tensors) CHECK(t.dtype() == DType::Float32);

  // fp16: the loss scale in the log line, and a stopped and crashed run resumes to the same
  // checkpoint (its scaler state included) as the straight one (8 steps: 2 epochs of 4).
  auto train = [&](const fs::path& dir, pn::test::AfterStep after) {
    RunDirOptions o;
    o.out = dir.string();
    o.after_step = std::move(after);
    segment_train(tiny_config(root, 2, {"run.precision=fp16", "segment.steps_per_epoch=4"}), o);
  };
  train(root / "fp16_a", {});
  CHECK(read_file(root / "fp16_a" / "log.txt").find("adam loss scale 65536, 0 step(s) skipped") != std::string::npos);
  const auto fp16_ckpt = experiments::CheckpointDir(root / "fp16_a" / "checkpoints").latest();
  REQUIRE(fp16_ckpt.has_value());
  CHECK(nn::load_safetensors(fp16_ckpt->string()).metadata.count("scaler.adam") == 1);
  pn::test::check_interrupted_run_matches(train, root / "fp16_a", root / "fp16_b", 8);
  fs::remove_all(root);
}

TEST_CASE("segment.memory_format: a channels-last U-Net trains to the channels-first numbers within float rounding") {
  const fs::path root = fs::temp_directory_path() / fmt::format("pn_segment_format_{}", ::getpid());
  fs::remove_all(root);
  write_subjects(root / "train", 0, 2, true);
  write_subjects(root / "test", 2, 1, true);
  write_subjects(root / "holdout", 3, 1, true, {16, 16, 8});
  SegTrainResult r[3];
  std::vector<nn::SafetensorsFile> weights;
  const char* formats[] = {"channels_first", "channels_last", "auto"};
  for (int i = 0; i < 3; ++i) {
    RunDirOptions o;
    o.out = (root / formats[i]).string();
    r[i] = segment_train(tiny_config(root, 1, {std::string("segment.memory_format=") + formats[i]}), o);
    for (const auto& e : fs::recursive_directory_iterator(root / formats[i]))
      if (e.path().filename() == "epoch-000001.safetensors") weights.push_back(nn::load_safetensors(e.path().string()));
  }
  CHECK(std::abs(r[1].final_test_soft_dice - r[0].final_test_soft_dice) < 1e-3);
  // The same function, but not the same arithmetic: oneDNN's channels-last kernels and the
  // channels-last norms sum in other orders, so the weights differ in their last digits (were
  // the key ignored, the two runs would be bit for bit the same).
  REQUIRE(weights.size() == 3);
  double most = 0, auto_vs_last = 0;
  for (const auto& [name, t] : weights[0].tensors) {
    if (name.find("unet.") != 0) continue;
    const Tensor *last = weights[1].find(name), *automatic = weights[2].find(name);
    REQUIRE((last != nullptr && automatic != nullptr));
    most = std::max(most, test::max_abs_diff(*last, t));
    auto_vs_last = std::max(auto_vs_last, test::max_abs_diff(*automatic, *last));
  }
  CHECK(most > 0);
  CHECK(most < 1e-3);
  CHECK(auto_vs_last == 0);  // "auto" on the CPU is channels-last
  // "auto" elsewhere: channels-first on a CUDA device and with synchronised batch norm.
  const Config automatic = tiny_config(root, 1, {"segment.memory_format=auto"});
  CHECK(unet_channels_last(automatic, Device::cpu()));
  CHECK_FALSE(unet_channels_last(automatic, Device::cuda()));
  CHECK_FALSE(unet_channels_last(tiny_config(root, 1, {"segment.memory_format=auto", "segment.sync_batch_norm=true"}),
                                 Device::cpu()));
  CHECK(unet_channels_last(tiny_config(root, 1, {"segment.memory_format=channels_last"}), Device::cuda()));
  CHECK_FALSE(unet_channels_last(tiny_config(root, 1), Device::cpu()));  // the small preset pins channels-first
  // A channels-last run predicts as it trained (the run's config builds the net).
  for (const char* f : {"channels_first", "channels_last"})
    CHECK(segment_predict((root / f).string(), (root / "holdout").string(), (root / (std::string("pred_") + f)).string()) == 0);
  // With synchronised batch-norm statistics, channels-last is refused before anything runs.
  std::string err;
  try {
    tiny_config(root, 1, {"segment.memory_format=channels_last", "segment.sync_batch_norm=true"});
  } catch (const Error& e) {
    err = e.what();
  }
  CHECK(err.find("segment.memory_format") != std::string::npos);
  CHECK(err.find("sync_batch_norm") != std::string::npos);
  fs::remove_all(root);
}
