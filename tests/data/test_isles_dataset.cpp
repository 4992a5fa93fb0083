// The ISLES 2022 BIDS layout, built by the test from phantom subjects.
#include <doctest/doctest.h>

#include <filesystem>

#include "autograd/error.h"
#include "data/dataset_check.h"
#include "data/isles_dataset.h"
#include "data/nifti_io.h"
#include "data/phantom.h"
#include "data_test_util.h"

using namespace pn::data;
namespace fs = std::filesystem;

TEST_CASE("ISLES 2022 layout: scan, load, missing files reported") {
  pn::test::TempDir t("isles");
  PhantomOptions o;
  o.size = {32, 32, 8};
  const fs::path root = t.path / "ISLES-2022";
  for (int n = 1; n <= 3; ++n) {
    const auto s = make_phantom_subject(o, n, true);
    const std::string sub = fmt::format("sub-strokecase{:04d}", n), stem = sub + "_ses-0001";
    const fs::path dwi = root / "rawdata" / sub / "ses-0001" / "dwi", anat = root / "rawdata" / sub / "ses-0001" / "anat",
                   der = root / "derivatives" / sub / "ses-0001";
    fs::create_directories(dwi);
    fs::create_directories(anat);
    fs::create_directories(der);
    write_nifti(s.image, (dwi / (stem + "_dwi.nii.gz")).string());
    Volume adc = s.image;
    for (float& f : adc.data) f = 2000 - f;
    write_nifti(adc, (dwi / (stem + "_adc.nii.gz")).string());
    if (n != 3) write_labels(s.mask, (der / (stem + "_msk.nii.gz")).string());  // case 3 lacks its mask
    // FLAIR on its own grid, as distributed.
    write_nifti(Volume::zeros({40, 40, 10}, {1, 1, 3}), (anat / (stem + "_FLAIR.nii.gz")).string());
  }
  CHECK(looks_like_isles(root.string()));
  const FolderScan dwi = scan_isles(root.string(), IslesModality::DWI);
  REQUIRE(dwi.cases.size() == 2);
  CHECK(dwi.cases[0].id == "sub-strokecase0001_ses-0001");
  REQUIRE(dwi.problems.size() == 1);
  CHECK(dwi.problems[0].find("sub-strokecase0003_ses-0001_msk.nii.gz: missing") != std::string::npos);
  const Case c = load_case(dwi.cases[1], 29);
  CHECK(c.mask.data == make_phantom_subject(o, 2, true).mask.data);
  const FolderScan adc = scan_isles(root.string(), IslesModality::ADC);
  const Volume adc1 = load_case(adc.cases[0], 29).image, dwi1 = make_phantom_subject(o, 1, true).image;
  for (size_t i = 0; i < adc1.data.size(); i += 97) CHECK(adc1.data[i] == doctest::Approx(2000 - dwi1.data[i]));
  const auto flair = check_scan(scan_isles(root.string(), IslesModality::FLAIR));
  CHECK(flair.loaded == 0);
  CHECK(flair.problems.size() == 3);  // two grid mismatches and the missing mask
  CHECK(flair.text().find("different grids") != std::string::npos);
  CHECK_THROWS_AS(parse_isles_modality("t1"), pn::Error);
  CHECK(!scan_isles(t.path.string()).problems.empty());
}
