// `study` end to end at a tiny size: phantom data written on the study grid, every step of
// the plan run (mask GAN, two translators, their synthetic databases, the segmentation
// grid), the report written; a second call finds everything done and only rewrites it.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include <fmt/format.h>

#include "autograd/error.h"
#include "experiments/config_presets.h"
#include "experiments/study.h"

using namespace pn;
using namespace pn::experiments;
namespace fs = std::filesystem;

TEST_CASE("study runs every step on tiny phantom data and writes the report") {
  const fs::path root = fs::temp_directory_path() / fmt::format("pn_study_e2e_{}", ::getpid());
  fs::remove_all(root);
  ConfigRequest req;
  req.preset = "small";
  req.sets = {"run.root=" + root.string(), "data.train_dir=" + (root / "none").string(), "data.grid=8,16,16",
              "data.spacing=14.4,16,16", "data.slices=0,7", "run.threads=1",
              // The fallback data, whatever this machine holds (tests/shared_data runs the real sets).
              "data.phantom_anatomy=procedural", "data.phantom_lesions=procedural", "maskgan.masks=train_dir",
              "maskgan.eval_samples=6", "maskgan.latent_dim=8", "maskgan.base_shape=2,4,4", "maskgan.gen_filters=4,4", "maskgan.critic_filters=4,8",
              "maskgan.critic_dense=8", "maskgan.epochs=1", "maskgan.min_lesion_voxels=1", "maskgan.threshold=-0.5",
              "translate.l1_weights=[10.0]", "translate.with_spade=true", "translate.epochs=1", "translate.augment=false",
              "translate.pix2pix.base_filters=4", "translate.pix2pix.depth_2d=3", "translate.spade.filters=4,4",
              "translate.spade.latent_dim=4", "translate.discriminator.filters=4,4,4", "synthesize.count=4",
              "segment.base_filters=4", "segment.epochs=1", "segment.epochs_synthetic=1", "segment.epochs_small=1",
              "segment.finetune_cases=[4]", "segment.augment=false", "segment.report_last_epochs=1"};
  const Config cfg = resolve_config(req);
  StudyOptions opt;
  opt.phantom_stroke = 12;
  opt.phantom_healthy = 6;
  const fs::path report = run_study(cfg, opt);
  REQUIRE(fs::exists(report));
  std::ifstream f(report);
  const std::string text{std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
  for (const char* run : {"seg-clinical", "seg-clinical+pix2pix10", "seg-spade", "seg-pix2pix10-ft4", "seg-clinical-4"})
    CHECK_MESSAGE(fs::exists(root / run / "DONE"), run);
  CHECK(fs::exists(root / "synth-spade" / "manifest.csv"));
  CHECK(text.find("clinical only") != std::string::npos);
  // The montages: clinical subjects, GAN samples, each synthetic database, segmentations.
  for (std::string png : {"phantom/montage.png", "maskgan/samples/montage.png", "synth-pix2pix10/montage.png",
                          "synth-spade/montage.png", "seg-clinical/heldout_montage.png"}) {
    CHECK_MESSAGE(fs::exists(root / png), png);
    CHECK_MESSAGE(text.find(png) != std::string::npos, png, " is not in the report");
  }
  // The mask GAN against the held-out clinical masks (the fallback's real set).
  CHECK(fs::exists(root / "maskgan" / "evaluation" / "lesion_stats.csv"));
  CHECK(text.find("## Generated vs real lesions") != std::string::npos);
  CHECK(text.find("maskgan/evaluation/figures/lesion_volume.png") != std::string::npos);
  CHECK(text.find("Phantom data: anatomy: procedural phantom") != std::string::npos);
  // Everything is done: a second call only rewrites the report.
  CHECK(run_study(cfg, opt) == report);
  // Fine-tuning on fewer cases than a global batch is refused before anything trains.
  Config few = cfg;
  few.set("segment.finetune_cases=[2]");
  few.set("run.root=" + (root / "few").string());
  CHECK_THROWS_WITH_AS(run_study(few, opt), doctest::Contains("study: seg-pix2pix10-ft2 would train on 2 volumes, "
                                                              "fewer than the global batch, 1 rank(s) x segment.batch 4"),
                       Error);
  CHECK_FALSE(fs::exists(root / "few" / "maskgan"));
  fs::remove_all(root);
}
