// The config's data.* keys as every command reads them (experiments/config/dataset_config.h):
// data.layout (auto-detection named in the output, a forced layout), data.channels (more
// input channels, and the U-Net's input width), data.labels_lut (FreeSurfer aseg values
// mapped, the lesion painted in), data.skip_bad_cases (every problem listed at once, or
// the bad cases left out).
#include <doctest/doctest.h>

#include <filesystem>
#include <unistd.h>

#include <fmt/format.h>

#include "autograd/error.h"
#include "data/label_scheme.h"
#include "data/nifti_io.h"
#include "data/phantom.h"
#include "experiments/config/config_presets.h"
#include "experiments/config/dataset_config.h"
#include "tests/experiments/error_text.h"

using namespace pn;
using namespace pn::experiments;
namespace fs = std::filesystem;

namespace {

Config config_with(const std::vector<std::string>& sets) {
  ConfigRequest req;
  req.preset = "small";
  req.sets = sets;
  return resolve_config(req);
}

data::PhantomSubject subject(uint64_t seed) {
  data::PhantomOptions o;
  o.size = {16, 16, 4};
  return data::make_phantom_subject(o, seed, true);
}

}  // namespace

TEST_CASE("dataset config: layout, channels, label lookup table, bad cases") {
  const fs::path root = fs::temp_directory_path() / fmt::format("pn_dataset_config_{}", ::getpid());
  fs::remove_all(root);
  fs::create_directories(root / "pairs");
  for (int i = 0; i < 3; ++i) {
    const auto s = subject(static_cast<uint64_t>(i + 1));
    const std::string base = (root / "pairs" / fmt::format("c{}", i)).string();
    data::write_nifti(s.image, base + "_dwi.nii.gz");
    data::Volume adc = s.image;
    for (float& v : adc.data) v = 3000 - v;
    data::write_nifti(adc, base + "_adc.nii.gz");
    data::write_labels(s.mask, base + "_msk.nii.gz");
    // Anatomy in FreeSurfer aseg values: 2 (left cerebral white matter) everywhere.
    data::LabelVolume aseg = data::LabelVolume::zeros_on(s.mask);
    for (auto& v : aseg.data) v = 2;
    data::write_labels(aseg, base + "_labels.nii.gz");
  }
  const std::string dir = (root / "pairs").string();

  // Detected and named; one input channel by default.
  Config cfg = config_with({"data.labels_lut=freesurfer"});
  CHECK(input_channels(cfg) == 1);
  const data::FolderDataset ds = open_dataset(cfg, dir, "data.train_dir");
  REQUIRE(ds.size() == 3);
  CHECK(ds.scan().layout_description.find("folder of pairs") != std::string::npos);
  // The lookup table maps aseg 2 onto the study's class, and paints the lesion in.
  const data::Case c = ds.load(0);
  REQUIRE(c.labels.has_value());
  const auto s0 = subject(1);
  for (size_t v = 0; v < c.labels->data.size(); ++v)
    REQUIRE(c.labels->data[v] == (s0.mask.data[v] ? data::cls::kLesion : data::freesurfer_aseg_lut().at(2)));
  // Without the table the aseg map is read as study classes (2 is a valid class, but the
  // lesion class disagrees with the mask): the check says so.
  CHECK(pn::test::error_text([&] { open_checked_dataset(config_with({}), dir, "data.train_dir"); })
            .find("the label map's lesion class differs from the mask") != std::string::npos);

  // An ISLES 2022 folder (flat example layout) under the same config: detected, cases
  // are sessions, masks from derivatives/; without masks it is a prediction input.
  for (int n = 1; n <= 2; ++n) {
    const auto s = subject(static_cast<uint64_t>(n + 10));
    const std::string sub = fmt::format("sub-strokecase{:04d}", n);
    const fs::path ses = root / "isles" / sub / "ses-0001", der = root / "isles" / "derivatives" / sub / "ses-0001";
    fs::create_directories(ses);
    fs::create_directories(der);
    data::write_nifti(s.image, (ses / (sub + "_ses-0001_dwi.nii.gz")).string());
    if (n == 1) data::write_labels(s.mask, (der / (sub + "_ses-0001_msk.nii.gz")).string());
  }
  const std::string isles = (root / "isles").string();
  const std::string no_mask = pn::test::error_text([&] { open_checked_dataset(cfg, isles, "data.train_dir"); });
  CHECK(no_mask.find("ISLES 2022 (sub-*/ses-*/, flat; masks in") != std::string::npos);
  CHECK(no_mask.find("sub-strokecase0002_ses-0001_msk.nii.gz: missing") != std::string::npos);
  const data::FolderDataset images = open_dataset(cfg, isles, "--input", {.masks = false});
  REQUIRE(images.size() == 2);
  CHECK(images.files(1).id == "sub-strokecase0002_ses-0001");
  CHECK(images.scan().layout_description.find("detected") != std::string::npos);

  // Forcing the ISLES layout on a folder of pairs is a clear error.
  CHECK(pn::test::error_text([&] { open_dataset(config_with({"data.layout=isles2022"}), dir, "data.test_dir"); })
            .find("not an ISLES 2022 folder") != std::string::npos);

  // A second channel: <case>_adc, one more U-Net input.
  Config two = config_with({R"(data.channels=["image", "adc"])", "data.labels_lut=freesurfer"});
  CHECK(input_channels(two) == 2);
  const data::Case c2 = open_dataset(two, dir, "data.train_dir").load(1);
  REQUIRE(c2.more_channels.size() == 1);
  for (size_t v = 0; v < c2.image.data.size(); v += 13) CHECK(c2.more_channels[0].data[v] == 3000 - c2.image.data[v]);

  // Two bad cases: both listed at once; with data.skip_bad_cases the good one remains.
  fs::resize_file(root / "pairs" / "c1_dwi.nii.gz", 100);
  data::Volume nan = s0.image;
  nan.data[3] = NAN;
  data::write_nifti(nan, (root / "pairs" / "c2_dwi.nii.gz").string());
  const std::string err = pn::test::error_text([&] { open_checked_dataset(cfg, dir, "data.train_dir"); });
  CHECK(err.find("2 of 3 case(s) cannot be used") != std::string::npos);
  CHECK(err.find("c1_dwi.nii.gz") != std::string::npos);
  CHECK(err.find("c2_dwi.nii.gz: 1 of 1024 voxels are not finite") != std::string::npos);
  Config skip = config_with({"data.labels_lut=freesurfer", "data.skip_bad_cases=true"});
  const data::FolderDataset kept = open_checked_dataset(skip, dir, "data.train_dir");
  REQUIRE(kept.size() == 1);
  CHECK(kept.files(0).id == "c0");
  fs::remove_all(root);
}
