// The digital phantom: determinism, class coverage, lesion statistics, lesions in brain
// tissue, contrast (lesions bright), and speed.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>

#include "data/label_scheme.h"
#include "data/montage.h"
#include "data/nifti_io.h"
#include "data/phantom.h"
#include "data_test_util.h"

using namespace pn::data;

namespace {
std::vector<uint8_t> slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}
}  // namespace

TEST_CASE("phantom: same seed gives the same bytes, another seed another subject") {
  PhantomOptions opt;
  opt.size = {64, 64, 16};
  pn::test::TempDir tmp("phantom_det");
  const auto a = make_phantom_subject(opt, 42, true), b = make_phantom_subject(opt, 42, true);
  const auto c = make_phantom_subject(opt, 43, true);
  CHECK(a.image.data == b.image.data);
  CHECK(a.labels.data == b.labels.data);
  CHECK(a.image.data != c.image.data);
  CHECK(a.labels.data != c.labels.data);
  write_nifti(a.image, tmp.file("a.nii.gz"));
  write_nifti(b.image, tmp.file("b.nii.gz"));
  CHECK(slurp(tmp.file("a.nii.gz")) == slurp(tmp.file("b.nii.gz")));
  CHECK(phantom_subject_seed(1, 0, true) != phantom_subject_seed(1, 0, false));
  CHECK(phantom_subject_seed(1, 0, true) != phantom_subject_seed(1, 1, true));
}

TEST_CASE("phantom: every anatomy class appears, healthy subjects have no lesion") {
  PhantomOptions opt;  // the study's grid 128x128x32
  std::set<int> seen;
  for (int s = 0; s < 3; ++s) {
    const auto h = make_phantom_subject(opt, phantom_subject_seed(7, s, false), false);
    CHECK(h.lesion_count == 0);
    for (int32_t l : h.labels.data) seen.insert(l);
    CHECK(std::all_of(h.mask.data.begin(), h.mask.data.end(), [](int32_t m) { return m == 0; }));
    CHECK(h.image.spacing[0] == doctest::Approx(2.0));
    CHECK(h.image.spacing[2] == doctest::Approx(3.6));
  }
  for (int c = 0; c < cls::kLesion; ++c) {
    CAPTURE(class_name(c));
    CHECK(seen.count(c) == 1);
  }
  CHECK(seen.count(cls::kLesion) == 0);
}

TEST_CASE("phantom: lesions lie in brain tissue, are bright, and span small to territorial") {
  PhantomOptions opt;
  std::vector<int64_t> sizes;
  int multi = 0;
  for (int s = 0; s < 16; ++s) {
    const auto p = make_phantom_subject(opt, phantom_subject_seed(11, s, true), true);
    CHECK(p.lesion_count >= 1);
    multi += p.lesion_count > 1;
    const auto healthy_twin = make_phantom_subject(opt, phantom_subject_seed(11, s, true), false);
    int64_t n = 0, outside_tissue = 0;
    double lesion_sum = 0, tissue_sum = 0;
    int64_t tissue_n = 0;
    for (int64_t i = 0; i < p.labels.numel(); ++i) {
      const bool les = p.labels.data[i] == cls::kLesion;
      if (les != (p.mask.data[i] == 1)) REQUIRE(les == (p.mask.data[i] == 1));
      if (les) {
        ++n;
        lesion_sum += p.image.data[i];
        // The same subject without lesions: the voxel was brain tissue there.
        outside_tissue += !is_brain_tissue(healthy_twin.labels.data[i]);
      } else if (is_brain_tissue(p.labels.data[i])) {
        tissue_sum += p.image.data[i];
        ++tissue_n;
      }
    }
    REQUIRE(n > 0);
    CHECK(outside_tissue == 0);
    sizes.push_back(n);
    CHECK(lesion_sum / n > 1.3 * tissue_sum / tissue_n);
  }
  const auto [lo, hi] = std::minmax_element(sizes.begin(), sizes.end());
  const double voxel_ml = 2.0 * 2.0 * 3.6 / 1000;
  MESSAGE("lesion volumes: min ", *lo, " voxels, max ", *hi, " voxels (", *hi * voxel_ml, " ml)");
  CHECK(*lo < 100);                 // a small lesion: under 1.5 ml
  CHECK(*hi * voxel_ml > 20);       // and a large (territorial) one
  CHECK(multi >= 1);
}

TEST_CASE("phantom: a 128x128x32 subject takes well under a second") {
  PhantomOptions opt;
  const auto t0 = std::chrono::steady_clock::now();
  const auto p = make_phantom_subject(opt, 5, true);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  MESSAGE("phantom subject: ", s, " s");
  CHECK(p.image.numel() == 128 * 128 * 32);
#ifdef NDEBUG  // optimised builds only: sanitizer builds are many times slower
  CHECK(s < 1.0);
#endif
}

TEST_CASE("montage: a PNG with the expected size and signature") {
  PhantomOptions opt;
  opt.size = {32, 32, 8};
  const auto p = make_phantom_subject(opt, 1, true);
  pn::test::TempDir tmp("montage");
  write_montage_png(tmp.file("m.png"), {{&p.image, &p.labels, &p.mask}}, 4);
  const auto b = slurp(tmp.file("m.png"));
  REQUIRE(b.size() > 24);
  CHECK(b[1] == 'P');
  CHECK(b[2] == 'N');
  auto be32 = [&](size_t o) { return (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]; };
  const int zoom = 96 / 32;  // small grids are enlarged to 96-pixel tiles
  CHECK(be32(16) == 4 * (32 * zoom + 2) + 2);  // width
  CHECK(be32(20) == 2 * (32 * zoom + 2) + 2);  // height: image row + label row
}

TEST_CASE("montage: truth outline red, prediction green, yellow where they meet; radiological view") {
  // A 16x16x1 grid with i along +x (RAS), so column i is drawn at tile column 15 - i.
  Volume img = Volume::zeros({16, 16, 1});
  std::fill(img.data.begin(), img.data.end(), 100.f);
  LabelVolume truth = LabelVolume::zeros({16, 16, 1}), pred = LabelVolume::zeros({16, 16, 1});
  for (int j = 4; j < 8; ++j)
    for (int i = 2; i < 6; ++i) truth.at(i, j, 0) = 1;  // a 4x4 square, its left edge at i = 2
  for (int j = 4; j < 8; ++j)
    for (int i = 2; i < 10; ++i) pred.at(i, j, 0) = 1;  // shares the truth's edge at i = 2
  pn::test::TempDir tmp("montage2");
  write_montage_png(tmp.file("m.png"), {{&img, nullptr, &truth, &pred}}, 1);
  int w = 0, h = 0;
  const auto px = read_png_rgb(tmp.file("m.png"), &w, &h);
  const int zoom = 96 / 16, gap = 2;
  REQUIRE(w == 16 * zoom + 2 * gap);
  auto at = [&](int i, int j) {  // the centre of voxel (i, j)'s zoomed block
    const int x = gap + (15 - i) * zoom + zoom / 2, y = gap + (15 - j) * zoom + zoom / 2;
    const size_t o = (static_cast<size_t>(y) * w + x) * 3;
    return std::array<int, 3>{px[o], px[o + 1], px[o + 2]};
  };
  CHECK(at(2, 5) == std::array<int, 3>{255, 220, 40});  // both outlines
  CHECK(at(5, 5) == std::array<int, 3>{255, 40, 40});   // truth's right edge, inside the prediction
  CHECK(at(9, 5) == std::array<int, 3>{40, 230, 60});   // the prediction's right edge
  CHECK(at(3, 5) == std::array<int, 3>{255, 255, 255}); // inside both: the grey image (at its window's top)
  CHECK(at(12, 12) == std::array<int, 3>{255, 255, 255});
}
