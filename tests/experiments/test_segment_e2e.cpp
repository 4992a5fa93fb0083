// `segment train | predict | eval` end to end at a tiny size on phantom subjects written
// by the test: the run folder's files, a run stopped by a signal and crashed at random steps
// resuming to the same weights and numbers, a held-out evaluation redone without duplicate
// rows, masks predicted on the input's grid, and scores of a perfect prediction.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include <fmt/format.h>

#include "data/nifti_io.h"
#include "data/phantom.h"
#include "experiments/checkpoint_dir.h"
#include "experiments/config_presets.h"
#include "experiments/csv_table.h"
#include "experiments/seg_training.h"
#include "nn/safetensors.h"
#include "tests/experiments/resume_check.h"

using namespace pn;
using namespace pn::experiments;
namespace fs = std::filesystem;

namespace {

// Phantom subjects (32 x 32 x 8 voxels of 8 x 8 x 14.4 mm) in the folder-of-pairs layout.
void write_subjects(const fs::path& dir, int first, int n, bool stroke) {
  fs::create_directories(dir);
  data::PhantomOptions opt;
  opt.size = {32, 32, 8};
  for (int i = first; i < first + n; ++i) {
    auto s = data::make_phantom_subject(opt, data::phantom_subject_seed(5, i, stroke), stroke);
    const std::string base = (dir / fmt::format("{}{}", stroke ? "s" : "h", i)).string();
    data::write_nifti(s.image, base + "_dwi.nii.gz");
    data::write_labels(s.mask, base + "_msk.nii.gz");
  }
}

Config tiny_config(const fs::path& root, int epochs) {
  ConfigRequest req;
  req.preset = "small";
  req.sets = {"data.train_dir=" + (root / "train").string(), "data.test_dir=" + (root / "test").string(),
              "data.holdout_dir=" + (root / "holdout").string(), "data.grid=8,16,16", "data.spacing=14.4,16,16",
              "data.slices=0,7", "segment.base_filters=4", "segment.depth=2", "segment.batch=2",
              fmt::format("segment.epochs={}", epochs), "segment.augment=false", "run.threads=1"};
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
  write_subjects(root / "holdout", 6, 1, true);
  write_subjects(root / "holdout", 0, 1, false);

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

  // Predict on the held-out images: masks on each input's own grid.
  segment_predict((root / "run_a").string(), (root / "holdout").string(), (root / "pred").string());
  auto in = data::read_nifti((root / "holdout" / "s6_dwi.nii.gz").string());
  auto pred = data::read_labels((root / "pred" / "s6_pred.nii.gz").string(), 2);
  CHECK(pred.dims == in.dims);
  CHECK(data::mat4_max_diff(pred.affine, in.affine) < 1e-6);

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
  segment_eval((root / "perfect").string(), (root / "holdout").string(), {}, (root / "eval.csv").string());
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
  const Config cfg = tiny_config(root, 1);
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
  fs::remove_all(root);
}
