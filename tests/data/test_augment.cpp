// Augmentation: one transform for image, mask and label map; labels stay labels; seeded.
#include <doctest/doctest.h>

#include <set>

#include "data/augment.h"
#include "data/phantom.h"

using namespace pn::data;

TEST_CASE("augmentation: a flip mirrors image, mask and labels exactly") {
  PhantomOptions o;
  o.size = {32, 32, 8};
  const auto s = make_phantom_subject(o, 3, true);
  AugmentOptions a;
  a.flip_probability = 1;
  a.rotate_probability = a.zoom_probability = a.shift_probability = a.shear_probability = 0;
  Volume img = s.image;
  LabelVolume mask = s.mask, labels = s.labels;
  apply_augmentation(draw_augmentation(a, img, 1), &img, &mask, &labels);
  for (int64_t k = 0; k < 8; ++k)
    for (int64_t j = 0; j < 32; ++j)
      for (int64_t i = 0; i < 32; ++i) {
        CHECK(img.at(i, j, k) == doctest::Approx(s.image.at(31 - i, j, k)));
        CHECK(labels.at(i, j, k) == s.labels.at(31 - i, j, k));
        CHECK(mask.at(i, j, k) == s.mask.at(31 - i, j, k));
      }
  CHECK(mat4_max_diff(img.affine, s.image.affine) == 0);  // the grid stays
}

TEST_CASE("augmentation: same geometry on all three, labels stay labels, seeded") {
  PhantomOptions o;
  o.size = {64, 64, 16};
  const auto s = make_phantom_subject(o, 4, true);
  AugmentOptions a;
  a.flip_probability = a.rotate_probability = a.zoom_probability = a.shift_probability = a.shear_probability = 1;
  a.rotate_degrees = 10;
  // The image is the mask as floats: linear interpolation thresholded at 0.5 must agree
  // with the nearest-neighbour mask nearly everywhere if both moved the same way.
  Volume img = Volume::zeros_on(s.mask.grid());
  for (size_t i = 0; i < img.data.size(); ++i) img.data[i] = static_cast<float>(s.labels.data[i] != 0);
  LabelVolume labels = s.labels, mask = s.labels;
  for (auto& m : mask.data) m = m != 0;
  const auto d = draw_augmentation(a, img, 99);
  apply_augmentation(d, &img, &mask, &labels);
  int64_t agree = 0, changed = 0;
  for (size_t i = 0; i < img.data.size(); ++i) {
    agree += (img.data[i] > 0.5f) == (mask.data[i] == 1);
    changed += labels.data[i] != s.labels.data[i];
  }
  CHECK(static_cast<double>(agree) / static_cast<double>(img.data.size()) > 0.98);
  CHECK(changed > 1000);  // it did move
  std::set<int32_t> before(s.labels.data.begin(), s.labels.data.end()), after(labels.data.begin(), labels.data.end());
  for (int32_t l : after) CHECK(before.count(l) == 1);
  const auto d2 = draw_augmentation(a, img, 99), d3 = draw_augmentation(a, img, 100);
  CHECK(mat4_max_diff(d.new_to_old, d2.new_to_old) == 0);
  CHECK(mat4_max_diff(d.new_to_old, d3.new_to_old) > 1e-3);
}

TEST_CASE("augmentation: elastic displacement moves voxels by at most its amplitude, labels stay labels") {
  PhantomOptions o;
  o.size = {48, 48, 12};
  const auto s = make_phantom_subject(o, 8, true);
  AugmentOptions a;
  a.flip_probability = a.rotate_probability = a.zoom_probability = a.shift_probability = a.shear_probability = 0;
  a.elastic_probability = 1;
  a.elastic_mm = 4;
  LabelVolume labels = s.labels;
  Volume img = s.image;
  const auto d = draw_augmentation(a, img, 5);
  REQUIRE(d.elastic);
  apply_augmentation(d, &img, nullptr, &labels);
  int64_t changed = 0, unexplained = 0;
  for (int64_t k = 0; k < 12; ++k)
    for (int64_t j = 0; j < 48; ++j)
      for (int64_t i = 0; i < 48; ++i) {
        const int32_t l = labels.at(i, j, k);
        if (l == s.labels.at(i, j, k)) continue;
        ++changed;
        // The new label comes from within the displacement: 4 mm is under one voxel here
        // (5.33 mm in-plane, 9.6 mm between slices), so from the +-1 voxel neighbourhood.
        bool found = false;
        for (int64_t dk = -1; dk <= 1 && !found; ++dk)
          for (int64_t dj = -1; dj <= 1 && !found; ++dj)
            for (int64_t di = -1; di <= 1 && !found; ++di)
              found = s.labels.inside(i + di, j + dj, k + dk) && s.labels.at(i + di, j + dj, k + dk) == l;
        unexplained += !found;
      }
  CHECK(changed > 100);
  CHECK(unexplained == 0);
}
