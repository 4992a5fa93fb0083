// FreeSurfer aseg -> 29-class table, user tables, unmapped labels.
#include <doctest/doctest.h>

#include <fstream>
#include <set>

#include "autograd/error.h"
#include "data/label_lut.h"
#include "data/label_scheme.h"
#include "data_test_util.h"

using namespace pn::data;

TEST_CASE("FreeSurfer aseg lookup: names match and every class is reachable") {
  const auto& lut = freesurfer_aseg_lut();
  // By FreeSurferColorLUT names.
  CHECK(class_name(lut.at(2)) == "Left-Cerebral-White-Matter");
  CHECK(class_name(lut.at(42)) == "Right-Cerebral-Cortex");
  CHECK(class_name(lut.at(10)) == "Left-Thalamus");
  CHECK(class_name(lut.at(60)) == "Right-VentralDC");
  CHECK(class_name(lut.at(16)) == "Brain-Stem");
  CHECK(class_name(lut.at(15)) == "4th-Ventricle");
  std::set<int32_t> reached;
  for (const auto& [src, dst] : lut) reached.insert(dst);
  for (int c = 0; c < cls::kLesion; ++c) CHECK(reached.count(c) == 1);
  LabelVolume v = LabelVolume::zeros({3, 1, 1});
  v.data = {2, 41, 999};
  CHECK_THROWS_WITH_AS(apply_lut(v, lut, "aseg.nii.gz"), doctest::Contains("aseg.nii.gz: labels not in the lookup table: 999 (1 voxels)"),
                       pn::Error);
  v.data = {2, 41, 0};
  const auto m = apply_lut(v, lut, "x");
  CHECK(m.data == std::vector<int32_t>{cls::left(cls::kWM), cls::right(cls::kWM), 0});
}

TEST_CASE("user label tables") {
  pn::test::TempDir t("lut");
  std::ofstream(t.file("ok.txt")) << "# mine\n1 3  # a comment\n\n7 28\n";
  const auto lut = read_lut_file(t.file("ok.txt"));
  CHECK(lut.size() == 2);
  CHECK(lut.at(7) == 28);
  std::ofstream(t.file("bad.txt")) << "1 3\n2 40\n";
  CHECK_THROWS_WITH_AS(read_lut_file(t.file("bad.txt")), doctest::Contains("bad.txt:2: target 40"), pn::Error);
  std::ofstream(t.file("dup.txt")) << "1 3\n1 4\n";
  CHECK_THROWS_WITH_AS(read_lut_file(t.file("dup.txt")), doctest::Contains("appears twice"), pn::Error);
  CHECK_THROWS_AS(read_lut_file(t.file("none.txt")), pn::Error);
}
