// The phantom databases on disk load through the real folder-of-pairs path.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "data/folder_dataset.h"
#include "data/phantom_database.h"
#include "data_test_util.h"

using namespace pn::data;

TEST_CASE("phantom database: written layout loads, healthy masks empty, reproducible bytes") {
  pn::test::TempDir t("phantom_db");
  PhantomDatabaseOptions db;
  db.out = t.file("a");
  db.healthy = 2;
  db.stroke = 3;
  db.seed = 4;
  db.phantom.size = {32, 32, 8};
  int visited = 0;
  write_phantom_database(db, [&](const std::string&, bool, PhantomSubject&) { ++visited; });
  CHECK(visited == 5);
  FolderDataset healthy(t.file("a/healthy"), {}, true), stroke(t.file("a/stroke"), {}, true);
  REQUIRE(healthy.size() == 2);
  REQUIRE(stroke.size() == 3);
  for (size_t i = 0; i < 2; ++i) {
    const Case c = healthy.load(i);
    int64_t n = 0;
    for (int32_t m : c.mask.data) n += m;
    CHECK(n == 0);
  }
  for (size_t i = 0; i < 3; ++i) {
    const Case c = stroke.load(i);
    int64_t n = 0;
    for (int32_t m : c.mask.data) n += m;
    CHECK(n > 0);
    CHECK(c.labels.has_value());
  }
  // The same options again: identical files; subject 1 does not depend on the count.
  db.out = t.file("b");
  db.stroke = 2;
  write_phantom_database(db);
  auto bytes = [](const std::string& p) {
    std::ifstream f(p, std::ios::binary);
    return std::vector<char>{std::istreambuf_iterator<char>(f), {}};
  };
  for (const char* f : {"stroke/stroke0001_dwi.nii.gz", "stroke/stroke0001_labels.nii.gz", "healthy/healthy0000_msk.nii.gz"})
    CHECK(bytes(t.file(std::string("a/") + f)) == bytes(t.file(std::string("b/") + f)));
}
