// `translate train | sample` end to end at a tiny size: pix2pix (2-D slices, decoder
// dropout) and SPADE on phantom image/label-map pairs written by the test; a run stopped
// and crashed at random steps resumes bit for bit; sampled images on the study grid.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <unistd.h>

#include <fmt/format.h>

#include "data/nifti_io.h"
#include "data/phantom.h"
#include "experiments/config/config_presets.h"
#include "experiments/run/csv_table.h"
#include "experiments/train/translate_training.h"
#include "tests/experiments/resume_check.h"

using namespace pn;
using namespace pn::experiments;
namespace fs = std::filesystem;

namespace {

// The largest voxel difference between two sampled images of the same name.
double max_abs_diff_of_images(const fs::path& a, const fs::path& b, const std::string& name) {
  const auto va = data::read_nifti((a / name).string()).data, vb = data::read_nifti((b / name).string()).data;
  REQUIRE(va.size() == vb.size());
  double worst = 0;
  for (size_t i = 0; i < va.size(); ++i) worst = std::max(worst, static_cast<double>(std::abs(va[i] - vb[i])));
  return worst;
}

// Trains `model` with req and `sets` into root / name and samples its images there.
fs::path train_and_sample(ConfigRequest req, const std::vector<std::string>& sets, const std::string& model,
                          const fs::path& root, const std::string& name) {
  req.sets.insert(req.sets.end(), sets.begin(), sets.end());
  RunDirOptions o;
  o.out = (root / name).string();
  CHECK(std::isfinite(translate_train(resolve_config(req), model, o).last_l1));
  translate_sample(o.out, (root / "train").string(), (root / name / "images").string(), 3);
  return root / name / "images";
}

// The keys of the exact rewrites reach the networks: translate.spade.affine = "joint" and (on
// 32x32 slices, batch 2, where pix2pix's last step takes it) translate.pix2pix.upsample =
// "polyphase" against the forms the small preset pins. The same functions up to rounding, so
// the sampled images differ, slightly.
void check_exact_rewrite_keys(const ConfigRequest& req, const std::string& model, const fs::path& root) {
  const bool spade = model == "spade";
  const std::string key = spade ? "translate.spade.affine=" : "translate.pix2pix.upsample=";
  const std::string grid = spade ? "data.grid=8,16,16" : "data.grid=8,32,32";
  const fs::path pinned =
      train_and_sample(req, {grid, key + (spade ? "separate" : "plain")}, model, root, model + "-pinned");
  const fs::path fast =
      train_and_sample(req, {grid, key + (spade ? "joint" : "polyphase")}, model, root, model + "-fast");
  CHECK(max_abs_diff_of_images(pinned, fast, "c1_dwi.nii.gz") > 0);
  CHECK(max_abs_diff_of_images(pinned, fast, "c1_dwi.nii.gz") < 1e-4);
}

}  // namespace

TEST_CASE("translate train and sample, pix2pix and SPADE, on tiny phantom pairs") {
  const fs::path root = fs::temp_directory_path() / fmt::format("pn_translate_e2e_{}", ::getpid());
  fs::remove_all(root);
  fs::create_directories(root / "train");
  data::PhantomOptions opt;
  opt.size = {32, 32, 8};
  for (int i = 0; i < 2; ++i) {
    auto s = data::make_phantom_subject(opt, data::phantom_subject_seed(2, i, i == 1), i == 1);
    const std::string base = (root / "train" / fmt::format("c{}", i)).string();
    data::write_nifti(s.image, base + "_dwi.nii.gz");
    data::write_labels(s.mask, base + "_msk.nii.gz");
    data::write_labels(s.labels, base + "_labels.nii.gz");
  }
  for (const char* model : {"pix2pix10", "spade"}) {
    INFO(model);
    ConfigRequest req;
    req.preset = "small";
    req.sets = {"data.train_dir=" + (root / "train").string(), "data.grid=8,16,16", "data.spacing=14.4,16,16",
                "data.slices=0,7", "translate.dims=2", "translate.epochs=1", "translate.augment=false", "translate.batch=2", "translate.instance_noise=0.2",
                "translate.pix2pix.base_filters=4", "translate.pix2pix.depth_2d=3", "translate.spade.filters=8,4",
                "translate.spade.latent_dim=4", "translate.discriminator.filters=4,4,4", "run.threads=1"};
    RunDirOptions ro;
    ro.out = (root / model).string();
    const Config cfg = resolve_config(req);
    auto r = translate_train(cfg, model, ro);
    CHECK(std::isfinite(r.last_l1));
    CHECK(read_csv((root / model / "metrics.csv").string()).rows.size() == 1);
    // 2 volumes x 8 slices, batch 2: 8 steps.
    auto train = [&](const fs::path& dir, pn::test::AfterStep after) {
      RunDirOptions o;
      o.out = dir.string();
      o.after_step = std::move(after);
      translate_train(cfg, model, o);
    };
    pn::test::check_interrupted_run_matches(train, root / model, root / (std::string(model) + "-interrupted"), 8);
    translate_sample((root / model).string(), (root / "train").string(), (root / model / "images").string(), 3);
    auto img = data::read_nifti((root / model / "images" / "c1_dwi.nii.gz").string());
    CHECK(img.dims == data::Dims3{16, 16, 8});
    for (float v : img.data) CHECK((v >= -1.0f && v <= 1.0f));
    // In bf16 (run.precision): both networks' convolutions in bfloat16, losses in float32.
    ConfigRequest mixed = req;
    mixed.sets.push_back("run.precision=bf16");
    RunDirOptions mo;
    mo.out = (root / (std::string(model) + "-bf16")).string();
    CHECK(std::isfinite(translate_train(resolve_config(mixed), model, mo).last_l1));
    check_exact_rewrite_keys(req, model, root);
    if (std::string(model) != "pix2pix10") continue;
    // A 6-slice grid, which the small preset's U-Net (depth 2) could not halve twice: not the
    // translator's business. Two data.slices on it: a 2-D epoch visits each volume's 2 data
    // slices, not the 4 slices of padding around them (2 volumes x 2 slices, batch 2: 2 steps).
    ConfigRequest narrow = req;
    narrow.sets.insert(narrow.sets.end(), {"data.grid=6,16,16", "data.slices=2,3"});
    RunDirOptions no;
    no.out = (root / "narrow").string();
    int64_t steps = 0;
    no.after_step = [&](int64_t done) { steps = done; };
    translate_train(resolve_config(narrow), model, no);
    CHECK(steps == 2);
  }
  fs::remove_all(root);
}
