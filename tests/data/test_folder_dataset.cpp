// The folder-of-pairs layout: loading phantom-written cases, and each kind of problem
// (unpaired files, empty folder, grid mismatch, mask out of range) reported by name.
#include <doctest/doctest.h>

#include <filesystem>

#include "autograd/error.h"
#include "data/dataset_check.h"
#include "data/folder_dataset.h"
#include "data/label_scheme.h"
#include "data/nifti_io.h"
#include "data/phantom.h"
#include "data_test_util.h"

using namespace pn::data;

namespace {
void write_case(const pn::test::TempDir& t, const std::string& id, const PhantomSubject& s, bool labels = true) {
  write_nifti(s.image, t.file(id + "_dwi.nii.gz"));
  write_labels(s.mask, t.file(id + "_msk.nii.gz"));
  if (labels) write_labels(s.labels, t.file(id + "_labels.nii.gz"));
}
PhantomSubject small_subject(uint64_t seed, bool stroke) {
  PhantomOptions o;
  o.size = {32, 32, 8};
  return make_phantom_subject(o, seed, stroke);
}
}  // namespace

TEST_CASE("folder dataset: loads pairs with label maps, data equal to what was written") {
  pn::test::TempDir t("folder_ok");
  const auto a = small_subject(1, true), b = small_subject(2, false);
  write_case(t, "case01", a);
  write_case(t, "case02", b, false);
  FolderDataset ds(t.path.string());
  REQUIRE(ds.size() == 2);
  CHECK(ds.files(0).id == "case01");
  Case c = ds.load(0);
  CHECK(c.image.data == a.image.data);
  CHECK(c.mask.data == a.mask.data);
  REQUIRE(c.labels.has_value());
  CHECK(c.labels->data == a.labels.data);
  CHECK(!ds.load(1).labels.has_value());
  CHECK_THROWS_WITH_AS(FolderDataset(t.path.string(), {}, true), doctest::Contains("case02_dwi.nii.gz: has no label map"),
                       pn::Error);
  // Custom suffixes.
  pn::test::TempDir u("folder_sfx");
  write_nifti(a.image, u.file("x_img.nii"));
  write_labels(a.mask, u.file("x_seg.nii"));
  FolderDataset ds2(u.path.string(), {"img", "seg", "anat"});
  CHECK(ds2.size() == 1);
  CHECK(ds2.load(0).mask.data == a.mask.data);

  const auto r = check_folder(t.path.string());
  CHECK(r.problems.empty());
  CHECK(r.loaded == 2);
  CHECK(r.with_lesion == 1);
  REQUIRE(r.lesion_ml.size() == 1);
  int64_t n = 0;
  for (int32_t m : a.mask.data) n += m;
  CHECK(r.lesion_ml[0] == doctest::Approx(n * a.image.voxel_volume_ml()));
}

TEST_CASE("folder dataset: every problem is reported with its file") {
  pn::test::TempDir t("folder_bad");
  CHECK_THROWS_WITH_AS(FolderDataset(t.path.string()), doctest::Contains("no <case>_dwi.nii(.gz) images with <case>_msk.nii(.gz) masks"), pn::Error);
  CHECK_THROWS_WITH_AS(FolderDataset(t.file("nope")), doctest::Contains("does not exist"), pn::Error);
  const auto a = small_subject(3, true);
  write_nifti(a.image, t.file("lonely_dwi.nii.gz"));            // image without mask
  write_labels(a.mask, t.file("orphan_msk.nii.gz"));            // mask without image
  write_nifti(a.image, t.file("stray.nii.gz"));                 // matches no suffix
  write_case(t, "good", a);
  // Grid mismatch: the mask on a shifted grid.
  LabelVolume shifted = a.mask;
  shifted.affine[2][3] += 5;
  write_nifti(a.image, t.file("shift_dwi.nii.gz"));
  write_labels(shifted, t.file("shift_msk.nii.gz"));
  // A mask holding the value 2.
  LabelVolume two = a.mask;
  two.data[5] = 2;
  write_nifti(a.image, t.file("two_dwi.nii.gz"));
  write_labels(two, t.file("two_msk.nii.gz"));
  // A truncated image.
  write_labels(a.mask, t.file("cut_msk.nii.gz"));
  {
    std::filesystem::copy_file(t.file("good_dwi.nii.gz"), t.file("cut_dwi.nii.gz"));
    std::filesystem::resize_file(t.file("cut_dwi.nii.gz"), 300);
  }
  const auto r = check_folder(t.path.string());
  const std::string text = r.text();
  CAPTURE(text);
  auto has = [&](const std::string& a1, const std::string& a2) {
    for (const auto& p : r.problems)
      if (p.find(a1) != std::string::npos && p.find(a2) != std::string::npos) return true;
    return false;
  };
  CHECK(has("lonely_dwi.nii.gz", "has no mask"));
  CHECK(has("orphan_msk.nii.gz", "has no image"));
  CHECK(r.ignored == std::vector<std::string>{t.file("stray.nii.gz")});  // listed, not a problem
  CHECK(text.find("1 NIfTI file(s) ignored") != std::string::npos);
  CHECK(has("shift_msk.nii.gz", "different grids"));
  CHECK(has("two_msk.nii.gz", "holds 2: a lesion mask holds only 0 and 1"));
  CHECK(has("cut_dwi.nii.gz", "truncated"));
  CHECK(r.problems.size() == 5);
  CHECK(r.loaded == 1);  // only "good"
  CHECK_THROWS_WITH_AS(FolderDataset(t.path.string()), doctest::Contains("2 problem(s)"), pn::Error);
}
