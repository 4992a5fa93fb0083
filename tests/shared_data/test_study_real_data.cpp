// `study` end to end on the real data at a tiny size: ICBM152 anatomy, real SOOP lesions
// (a 40-mask subset, so that the cold load takes seconds) for the phantom's stroke
// subjects and as the mask GAN's training data, and the report's comparison of generated
// masks with the held-out real ones, vascular territories included.
#include <doctest/doctest.h>

#include <filesystem>
#include <cstdlib>
#include <fstream>
#include <unistd.h>

#include <fmt/format.h>

#include "data/lesion_set.h"
#include "data/shared_data.h"
#include "experiments/config/config_presets.h"
#include "experiments/train/study.h"

using namespace pn;
using namespace pn::experiments;
namespace fs = std::filesystem;

TEST_CASE("study on ICBM152 anatomy with real SOOP lesions reports generated vs real lesions") {
  const auto soop = data::shared_data_path("soop/lesions");
  REQUIRE(soop);
  const fs::path root = fs::temp_directory_path() / fmt::format("pn_study_real_{}", ::getpid());
  fs::remove_all(root);
  fs::create_directories(root / "soop40");
  const auto files = data::list_lesion_files(*soop);
  REQUIRE(files.size() >= 40);
  for (size_t i = 0; i < 40; ++i) fs::create_symlink(files[i], root / "soop40" / fs::path(files[i]).filename());

  ConfigRequest req;
  req.preset = "small";
  req.sets = {"run.root=" + root.string(), "data.train_dir=" + (root / "none").string(), "run.threads=2",
              "data.phantom_anatomy=icbm152", "data.phantom_lesions=" + (root / "soop40").string(),
              "maskgan.masks=" + (root / "soop40").string(), "maskgan.eval_samples=8", "maskgan.latent_dim=8",
              "maskgan.gen_filters=4,4,4", "maskgan.critic_filters=4,8", "maskgan.critic_dense=8", "maskgan.epochs=1",
              "maskgan.steps_per_epoch=2", "maskgan.critic_steps=1", "maskgan.min_lesion_voxels=1",
              "maskgan.threshold=-0.5", "translate.l1_weights=[10.0]", "translate.with_spade=false", "translate.epochs=1",
              "translate.augment=false", "translate.pix2pix.base_filters=4", "translate.pix2pix.depth_2d=3",
              "translate.discriminator.filters=4,4,4", "synthesize.count=4", "synthesize.placement=keep",
              "segment.base_filters=4", "segment.epochs=1", "segment.epochs_synthetic=1", "segment.epochs_small=1",
              "segment.finetune_cases=[2]", "segment.batch=2", "segment.augment=false", "segment.report_last_epochs=1",
              "study.phantom_holdout=2", "study.phantom_holdout_free=4", "study.loss_comparison=[]"};
  const Config cfg = resolve_config(req);
  StudyOptions opt;
  opt.phantom_stroke = 8;  // 6 training and 2 test subjects; 2 + 4 held out (study.phantom_holdout*)
  opt.phantom_healthy = 2;
  const fs::path report = run_study(cfg, opt);
  REQUIRE(fs::exists(report));
  std::ifstream f(report);
  const std::string text{std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
  CHECK(text.find("Phantom data: anatomy: ICBM152 template label maps") != std::string::npos);
  CHECK(text.find("lesions: lesion masks of " + (root / "soop40").string()) != std::string::npos);
  CHECK(text.find("## Generated vs real lesions") != std::string::npos);
  CHECK(text.find("masks held out from training") != std::string::npos);
  CHECK(text.find("| territory MCA") != std::string::npos);  // most acute lesions are MCA strokes
  CHECK(fs::exists(root / "maskgan" / "evaluation" / "montage.png"));
  CHECK(fs::exists(root / "synth-pix2pix10" / "manifest.csv"));
  if (!std::getenv("PN_KEEP_TEST_OUTPUT")) fs::remove_all(root);
}
