// The preprocessing pipeline and the background batch loader (3-D volumes, 2-D slices).
#include <doctest/doctest.h>

#include <filesystem>
#include <set>

#include "autograd/error.h"
#include "data/nifti_io.h"
#include "data/phantom.h"
#include "data/pipeline.h"
#include "data/resample.h"
#include "data_test_util.h"

using namespace pn::data;

namespace {
struct Fixture {
  pn::test::TempDir dir{"pipeline"};
  Fixture() {
    PhantomOptions o;
    o.size = {32, 32, 8};
    for (int i = 0; i < 3; ++i) {
      const auto s = make_phantom_subject(o, 10 + i, true);
      const std::string base = dir.file(fmt::format("c{}", i));
      write_nifti(s.image, base + "_dwi.nii.gz");
      write_labels(s.mask, base + "_msk.nii.gz");
      write_labels(s.labels, base + "_labels.nii.gz");
    }
  }
};

std::vector<std::string> epoch_ids(BatchLoader& l, int epoch, std::vector<double>* first_image = nullptr) {
  l.start_epoch(epoch);
  std::vector<std::string> ids;
  while (auto b = l.next()) {
    if (first_image && first_image->empty()) *first_image = b->image.to_vector();
    ids.insert(ids.end(), b->ids.begin(), b->ids.end());
  }
  return ids;
}
}  // namespace

TEST_CASE("pipeline: preprocess to the grid, normalised, one-hot targets") {
  Fixture f;
  FolderDataset ds(f.dir.path.string());
  PipelineOptions p;
  p.size = {24, 24, 6};
  p.slice_begin = 1;
  p.slice_end = 7;
  const Sample s = preprocess(ds.load(0), p, 1);
  CHECK(s.image.dims == Dims3{24, 24, 6});
  CHECK(s.target.dims == Dims3{24, 24, 6});
  const auto [lo, hi] = std::minmax_element(s.image.data.begin(), s.image.data.end());
  CHECK(*lo == doctest::Approx(-1));
  CHECK(*hi == doctest::Approx(1));
  BatchLoader l(ds, p, {.batch = 2, .slices_2d = false, .shuffle = true, .seed = 5});
  CHECK(l.batches_per_epoch() == 2);
  l.start_epoch(0);
  auto b = l.next();
  REQUIRE(b);
  CHECK(b->image.shape() == pn::Shape{2, 1, 6, 24, 24});
  CHECK(b->target.shape() == pn::Shape{2, 2, 6, 24, 24});
  const auto t = b->target.to_vector();
  const int64_t vox = 6 * 24 * 24;
  for (int64_t i = 0; i < vox; ++i) REQUIRE(t[i] + t[vox + i] == 1.f);
  auto b2 = l.next();
  REQUIRE(b2);
  CHECK(b2->image.shape()[0] == 1);  // 3 cases, batch 2: a last partial batch
  CHECK(!l.next());
  PipelineOptions pl = p;
  pl.labels_target = true;
  BatchLoader ll(ds, pl, {.batch = 1, .seed = 1});
  ll.start_epoch(0);
  CHECK(ll.next()->target.shape() == pn::Shape{1, 29, 6, 24, 24});
}

TEST_CASE("2-D slices leave out the padding a narrow slice range gets on a deeper grid") {
  Fixture f;
  FolderDataset ds(f.dir.path.string());
  PipelineOptions p;
  p.size = {32, 32, 8};
  p.slice_begin = 3;
  p.slice_end = 5;  // two slices kept, centred on the 8-slice grid: grid slices 3 and 4
  CHECK(data_slices(p) == std::pair<int64_t, int64_t>{3, 5});
  const Sample s = preprocess(ds.load(0), p, 0);
  for (int64_t z = 0; z < 8; ++z) {  // the padding is what the data slices are not: constant
    const Volume v = slice_range(s.image, z, z + 1);
    const auto [lo, hi] = std::minmax_element(v.data.begin(), v.data.end());
    CHECK_MESSAGE((*hi > *lo) == (z == 3 || z == 4), "slice ", z);
  }
  BatchLoader l(ds, p, {.batch = 2, .slices_2d = true, .shuffle = true, .seed = 3});
  CHECK(l.slices_per_volume() == 2);
  CHECK(l.batches_per_epoch() == 3);
  std::set<std::string> ids;
  for (const auto& id : epoch_ids(l, 0)) ids.insert(id);
  CHECK(ids == std::set<std::string>{"c0:3", "c0:4", "c1:3", "c1:4", "c2:3", "c2:4"});
  // Odd padding (3 slices on 8): floor((3 - 8) / 2) = -3, so grid slices 2 to 4.
  p.slice_end = 6;
  CHECK(data_slices(p) == std::pair<int64_t, int64_t>{2, 5});
  // No range, or one at least as deep as the grid: every slice.
  p.slice_begin = p.slice_end = 0;
  CHECK(data_slices(p) == std::pair<int64_t, int64_t>{0, 8});
  p.slice_end = 8;
  CHECK(data_slices(p) == std::pair<int64_t, int64_t>{0, 8});
}

TEST_CASE("batch loader: seeded epochs, every item once, 2-D slices, errors surface") {
  Fixture f;
  FolderDataset ds(f.dir.path.string());
  PipelineOptions p;
  p.size = {32, 32, 8};
  p.augment = true;
  BatchLoader a(ds, p, {.batch = 5, .slices_2d = true, .shuffle = true, .seed = 3});
  BatchLoader b(ds, p, {.batch = 5, .slices_2d = true, .shuffle = true, .seed = 3});
  std::vector<double> ia, ib;
  const auto ea = epoch_ids(a, 0, &ia), eb = epoch_ids(b, 0, &ib);
  CHECK(ea == eb);
  CHECK(ia == ib);  // same augmentation too
  CHECK(ea.size() == 24);
  CHECK(std::set<std::string>(ea.begin(), ea.end()).size() == 24);
  CHECK(a.batches_per_epoch() == 5);
  CHECK(epoch_ids(a, 1) != ea);  // another epoch, another order
  a.start_epoch(0);
  CHECK(a.next()->image.shape() == pn::Shape{5, 1, 32, 32});
  a.start_epoch(2);  // restarting mid-epoch is fine
  CHECK(a.next().has_value());
  // Starting at batch 3 of epoch 0 (a resume in the middle of an epoch) gives the epoch's
  // batches 3 and 4 exactly: the same items, augmented the same way.
  b.start_epoch(0, 3);
  std::vector<std::string> tail;
  std::vector<double> first_of_tail;
  while (auto batch = b.next()) {
    if (first_of_tail.empty()) first_of_tail = batch->image.to_vector();
    tail.insert(tail.end(), batch->ids.begin(), batch->ids.end());
  }
  CHECK(tail == std::vector<std::string>(ea.begin() + 15, ea.end()));
  b.start_epoch(0, 3);
  a.start_epoch(0);
  for (int i = 0; i < 3; ++i) a.next();
  CHECK(a.next()->image.to_vector() == first_of_tail);
  b.start_epoch(0, 5);  // past the last batch: an empty epoch
  CHECK_FALSE(b.next().has_value());

  // A case that breaks on load: the error reaches the caller with the file name.
  std::filesystem::resize_file(f.dir.file("c1_dwi.nii.gz"), 100);
  BatchLoader bad(ds, p, {.batch = 1, .shuffle = false, .seed = 1});
  bad.start_epoch(0);
  CHECK(bad.next().has_value());
  CHECK_THROWS_WITH_AS(bad.next(), doctest::Contains("c1_dwi.nii.gz"), pn::Error);
}
