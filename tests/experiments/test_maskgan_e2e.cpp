// `maskgan train | sample` end to end at a tiny size on phantom masks written by the test,
// and the speck removal that sampling applies.
#include <doctest/doctest.h>

#include <filesystem>
#include <unistd.h>

#include <fmt/format.h>

#include "data/nifti_io.h"
#include "data/phantom.h"
#include "experiments/config_presets.h"
#include "experiments/csv_table.h"
#include "experiments/maskgan_training.h"

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
              "run.threads=1"};
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
  fs::remove_all(root);
}
