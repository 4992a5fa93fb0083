// The ISLES 2022 BIDS layout in both forms it is distributed in (official dwi/ + anat/
// under rawdata/, and the challenge's flat example layout), built by the test from
// phantom subjects on an oblique grid; layout detection (data.layout = auto) and FLAIR
// resampled onto the DWI grid.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>

#include "autograd/error.h"
#include "data/dataset_check.h"
#include "data/dataset_layout.h"
#include "data/isles_dataset.h"
#include "data/nifti_io.h"
#include "data/phantom.h"
#include "data/resample.h"
#include "data_test_util.h"

using namespace pn::data;
namespace fs = std::filesystem;

namespace {

PhantomOptions small_options() {
  PhantomOptions o;
  o.size = {32, 32, 8};
  return o;
}

// An oblique affine as scanners write them: 20 degrees about z, then shifted.
Mat4 oblique(const Grid& g) {
  const double a = 20 * M_PI / 180, c = std::cos(a), s = std::sin(a);
  Mat4 r = mat4_identity();
  r[0][0] = c, r[0][1] = -s, r[1][0] = s, r[1][1] = c;
  r[0][3] = 12.5, r[1][3] = -7, r[2][3] = 30;
  return mat4_mul(r, g.affine);
}

// A FLAIR-like image whose voxels hold a linear function of their world position, on
// its own (axis-aligned, finer) grid covering the DWI's field of view.
double world_ramp(const std::array<double, 3>& p) { return 500 + p[0] + 2 * p[1] + 3 * p[2]; }
Volume flair_on_own_grid() {
  Volume f = Volume::zeros({100, 100, 20}, {4, 4, 8});
  f.affine = mat4_scale_translate(4, 4, 8, -200, -200, -50);
  for (int64_t k = 0; k < 20; ++k)
    for (int64_t j = 0; j < 100; ++j)
      for (int64_t i = 0; i < 100; ++i)
        f.data[f.index(i, j, k)] =
            static_cast<float>(world_ramp(mat4_apply(f.affine, {double(i), double(j), double(k)})));
  return f;
}

// Subject n: DWI, ADC, FLAIR and (unless `no_mask`) a mask. `flat`: every image directly
// in ses-0001/ (the challenge's example data); else dwi/ and anat/ under rawdata/.
void write_subject(const fs::path& root, int n, bool flat, bool no_mask) {
  const auto s = make_phantom_subject(small_options(), static_cast<uint64_t>(n), true);
  const std::string sub = fmt::format("sub-strokecase{:04d}", n), stem = sub + "_ses-0001";
  const fs::path ses = (flat ? root : root / "rawdata") / sub / "ses-0001";
  const fs::path dwi = flat ? ses : ses / "dwi", anat = flat ? ses : ses / "anat",
                 der = root / "derivatives" / sub / "ses-0001";
  for (const auto& d : {dwi, anat, der}) fs::create_directories(d);
  Volume image = s.image;
  image.affine = oblique(image);
  write_nifti(image, (dwi / (stem + "_dwi.nii.gz")).string());
  Volume adc = image;
  for (float& f : adc.data) f = 2000 - f;
  write_nifti(adc, (dwi / (stem + "_adc.nii" + (flat ? "" : ".gz"))).string());
  write_nifti(flair_on_own_grid(), (anat / (stem + "_FLAIR.nii.gz")).string());
  LabelVolume mask = s.mask;
  mask.affine = image.affine;
  if (!no_mask) write_labels(mask, (der / (stem + "_msk.nii.gz")).string());
}

}  // namespace

TEST_CASE("ISLES 2022 official layout: oblique grids, every modality, missing masks") {
  pn::test::TempDir t("isles");
  const fs::path root = t.path / "ISLES-2022";
  for (int n = 1; n <= 3; ++n) write_subject(root, n, false, n == 3);  // case 3 lacks its mask
  CHECK(looks_like_isles(root.string()));
  CHECK(looks_like_isles((root / "rawdata").string()));
  const FolderScan dwi = scan_isles(root.string(), IslesModality::DWI);
  REQUIRE(dwi.cases.size() == 2);
  CHECK(dwi.cases[0].id == "sub-strokecase0001_ses-0001");
  REQUIRE(dwi.problems.size() == 1);
  CHECK(dwi.problems[0].find("sub-strokecase0003_ses-0001_msk.nii.gz: missing") != std::string::npos);
  CHECK(dwi.layout_description.find("dwi and anat") != std::string::npos);
  const Case c = load_case(dwi.cases[1]);
  CHECK(c.mask.data == make_phantom_subject(small_options(), 2, true).mask.data);
  CHECK(mat4_max_diff(c.image.affine, oblique(phantom_grid(small_options()))) < 1e-5);  // the oblique grid kept: no resampling
  CHECK(mat4_max_diff(c.image.affine, c.mask.affine) < 1e-5);

  // ADC is on the DWI grid: loaded as it is.
  const FolderScan adc = scan_isles(root.string(), IslesModality::ADC);
  const Volume adc1 = load_case(adc.cases[0]).image, dwi1 = make_phantom_subject(small_options(), 1, true).image;
  for (size_t i = 0; i < adc1.data.size(); i += 97) CHECK(adc1.data[i] == doctest::Approx(2000 - dwi1.data[i]));

  // FLAIR lies on its own grid: resampled onto the (oblique) DWI grid through the affines.
  // Linear interpolation reproduces a linear function of world position exactly.
  const Case f = load_case(scan_isles(root.string(), IslesModality::FLAIR).cases[0]);
  CHECK(same_grid(f.image, c.image));
  int checked = 0;
  for (int64_t k = 0; k < f.image.dims[2]; ++k)
    for (int64_t j = 0; j < f.image.dims[1]; j += 3)
      for (int64_t i = 0; i < f.image.dims[0]; i += 3, ++checked)
        REQUIRE(f.image.at(i, j, k) ==
                doctest::Approx(world_ramp(mat4_apply(f.image.affine, {double(i), double(j), double(k)}))).epsilon(1e-4));
  CHECK(checked > 500);

  // Several channels: DWI, ADC, FLAIR, all on the DWI grid.
  DatasetSpec spec{root.string(), Layout::Isles2022, {}, {"dwi", "ADC", "flair"}};
  const FolderScan three = scan_isles(spec);
  REQUIRE(three.cases.size() == 2);
  CHECK(three.channels == std::vector<std::string>{"dwi", "adc", "flair"});
  const Case m = load_case(three.cases[0]);
  REQUIRE(m.more_channels.size() == 2);
  CHECK(m.more_channels[0].data == adc1.data);
  CHECK(same_grid(m.more_channels[1], m.image));

  // Anatomy label maps beside the masks (for the translation models): read when there,
  // a problem only where required.
  {
    LabelVolume labels = make_phantom_subject(small_options(), 1, true).labels;
    labels.affine = c.image.affine;
    write_labels(labels, (root / "derivatives/sub-strokecase0001/ses-0001/sub-strokecase0001_ses-0001_labels.nii.gz").string());
    DatasetSpec with_labels{root.string(), Layout::Isles2022};
    with_labels.labels_required = true;
    const FolderScan lab = scan_isles(with_labels);
    REQUIRE(lab.cases.size() == 1);
    CHECK(load_case(lab.cases[0]).labels->data == labels.data);
    CHECK(lab.problems.size() == 3);  // case 2 has no label map; case 3 neither, nor a mask
    CHECK(lab.problems[0].find("no anatomy label map sub-strokecase0002_ses-0001_labels.nii.gz") != std::string::npos);
  }

  // Prediction needs no masks: all three sessions are cases.
  spec.masks_required = false;
  CHECK(scan_isles(spec).cases.size() == 3);
  CHECK(scan_isles(spec).problems.empty());
  CHECK_THROWS_AS(parse_isles_modality("t1"), pn::Error);
  CHECK(!scan_isles(t.path.string()).problems.empty());
}

TEST_CASE("ISLES 2022 flat example layout and layout detection") {
  pn::test::TempDir t("isles_flat");
  const fs::path root = t.path / "example";
  for (int n = 1; n <= 2; ++n) write_subject(root, n, true, false);
  DatasetSpec spec;
  spec.dir = root.string();
  const FolderScan scan = scan_dataset(spec);  // data.layout = auto
  CAPTURE(scan.problems.size());
  CHECK(scan.layout == Layout::Isles2022);
  CHECK(scan.layout_description.find("flat") != std::string::npos);
  CHECK(scan.layout_description.find("detected") != std::string::npos);
  REQUIRE(scan.cases.size() == 2);
  CHECK(scan.problems.empty());
  CHECK(scan.cases[1].image().ends_with("sub-strokecase0002_ses-0001_dwi.nii.gz"));
  const auto report = check_scan(scan);
  CHECK(report.loaded == 2);
  CHECK(report.text().find("ISLES 2022") != std::string::npos);

  // The same folder read as pairs finds no pairs, and says which layout would.
  spec.layout = Layout::Pairs;
  const FolderScan pairs = scan_dataset(spec);
  CHECK(pairs.cases.empty());
  CHECK(resolve_layout(t.path.string(), Layout::Auto) == Layout::Pairs);
  CHECK(parse_layout("isles2022") == Layout::Isles2022);
  CHECK_THROWS_WITH_AS(parse_layout("bids"), doctest::Contains("use auto, pairs"), pn::Error);
  CHECK_THROWS_WITH_AS(open_dataset(spec), doctest::Contains("set data.layout = \"isles2022\""), pn::Error);
}
