// `synthesize` end to end at a tiny size: a mask GAN and a translator trained briefly by the
// test, healthy phantom label maps, and the database they make (files and manifest).
#include <doctest/doctest.h>

#include <filesystem>
#include <set>
#include <unistd.h>

#include <fmt/format.h>

#include "data/nifti_io.h"
#include "data/phantom.h"
#include "experiments/config/config_presets.h"
#include "tests/experiments/error_text.h"
#include "experiments/run/csv_table.h"
#include "experiments/train/maskgan_training.h"
#include "experiments/train/synthesis.h"
#include "experiments/train/translate_training.h"

using namespace pn;
using namespace pn::experiments;
namespace fs = std::filesystem;

TEST_CASE("synthesize writes image/mask/label triples and a manifest") {
  const fs::path root = fs::temp_directory_path() / fmt::format("pn_synth_e2e_{}", ::getpid());
  fs::remove_all(root);
  data::PhantomOptions opt;
  opt.size = {32, 32, 8};
  opt.min_lesion_ml = 5;
  for (int i = 0; i < 3; ++i) {
    const bool stroke = i < 2;
    auto s = data::make_phantom_subject(opt, data::phantom_subject_seed(4, i, stroke), stroke);
    const fs::path dir = root / (stroke ? "train" : "healthy");
    fs::create_directories(dir);
    const std::string base = (dir / fmt::format("c{}", i)).string();
    data::write_nifti(s.image, base + "_dwi.nii.gz");
    data::write_labels(s.mask, base + "_msk.nii.gz");
    data::write_labels(s.labels, base + "_labels.nii.gz");
  }
  ConfigRequest req;
  req.preset = "small";
  req.sets = {"data.train_dir=" + (root / "train").string(), "data.healthy_dir=" + (root / "healthy").string(),
              "data.grid=8,16,16", "data.spacing=14.4,16,16", "data.slices=0,7", "maskgan.latent_dim=8",
              "maskgan.base_shape=2,4,4", "maskgan.gen_filters=4,4", "maskgan.critic_filters=4,8",
              "maskgan.critic_dense=8", "maskgan.epochs=1", "maskgan.min_lesion_voxels=1", "maskgan.threshold=-1.0",
              "maskgan.masks=train_dir",  // the test's own masks, whatever this machine holds
              "translate.epochs=1", "translate.augment=false", "translate.pix2pix.base_filters=4",
              "translate.pix2pix.depth_2d=3", "translate.discriminator.filters=4,4,4", "run.threads=1"};
  const Config cfg = resolve_config(req);
  RunDirOptions g, t;
  g.out = (root / "gan").string();
  t.out = (root / "tr").string();
  maskgan_train(cfg, g);
  translate_train(cfg, "pix2pix10", t);
  // Threshold -1: every generated voxel is lesion, so insertion is exercised for sure.
  auto r = synthesize(cfg, g.out, t.out, (root / "syn").string(), 3);
  CHECK(r.volumes == 3);
  CHECK(r.lesion_voxels > 0);
  const CsvTable m = read_csv((root / "syn" / "manifest.csv").string());
  REQUIRE(m.rows.size() == 3);
  CHECK(m.rows[0][m.index("model")] == "pix2pix10");
  CHECK(m.rows[0][m.index("healthy_map")] == "c2_labels.nii.gz");
  auto mask = data::read_labels((root / "syn" / "syn00001_msk.nii.gz").string(), 2);
  auto labels = data::read_labels((root / "syn" / "syn00001_labels.nii.gz").string(), 29);
  auto img = data::read_nifti((root / "syn" / "syn00001_dwi.nii.gz").string());
  CHECK(img.dims == mask.dims);
  for (size_t v = 0; v < mask.data.size(); ++v) CHECK((mask.data[v] == 1) == (labels.data[v] == 28));
  // Each volume its own GAN draw.
  std::set<std::string> draws;
  for (const auto& row : m.rows) draws.insert(row[m.index("lesion_sample")]);
  CHECK(draws.size() == 3);
  // A GAN whose every sample thresholds to nothing (tanh never exceeds 1, and no cut below
  // each mask's peak rescues it): a clear error.
  req.sets.insert(req.sets.end(), {"maskgan.threshold=1.0", "maskgan.peak_cut=0"});
  RunDirOptions g2;
  g2.out = (root / "gan_empty").string();
  maskgan_train(resolve_config(req), g2);
  CHECK_ERROR_HAS(synthesize(cfg, g2.out, t.out, (root / "syn2").string(), 2), "are empty", "lower maskgan.threshold", "maskgan.peak_cut > 0");
  fs::remove_all(root);
}
