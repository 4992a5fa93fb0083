// NIfTI reading and writing: round trips of every datatype in both versions and both
// compressions, scaling, qform/sform, and each kind of bad input.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <nifti/nifti2_io.h>
#include <zlib.h>

#include "autograd/error.h"
#include "data/nifti_io.h"
#include "data_test_util.h"

using namespace pn::data;

namespace {

// An oblique, shifted grid: rotation about z by 0.3 rad, spacing 1.5 x 2 x 3.6 mm.
Volume oblique_volume(const Dims3& dims) {
  Volume v = Volume::zeros(dims, {1.5, 2.0, 3.6});
  const double c = std::cos(0.3), s = std::sin(0.3);
  Mat4 rot = mat4_identity();
  rot[0][0] = c; rot[0][1] = -s; rot[1][0] = s; rot[1][1] = c;
  rot[0][3] = 12.5; rot[1][3] = -30.25; rot[2][3] = 7.0;
  v.affine = mat4_mul(rot, mat4_scale_translate(1.5, 2.0, 3.6));
  for (int64_t i = 0; i < v.numel(); ++i) v.data[i] = static_cast<float>((i * 37) % 200);  // fits uint8
  return v;
}

std::vector<uint8_t> slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}
void spit(const std::string& path, const std::vector<uint8_t>& b) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

std::string error_of(auto&& f) {
  try {
    f();
  } catch (const pn::Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("NIfTI round trip: every datatype, NIfTI-1 and -2, .nii and .nii.gz") {
  pn::test::TempDir tmp("roundtrip");
  const Volume v = oblique_volume({7, 5, 3});
  for (int version : {1, 2})
    for (int dt : {DT_UINT8, DT_INT16, DT_INT32, DT_FLOAT32, DT_FLOAT64})
      for (const char* ext : {".nii", ".nii.gz"}) {
        const std::string path = tmp.file(fmt::format("v{}_{}{}", version, dt, ext));
        CAPTURE(path);
        write_nifti(v, path, {version, dt});
        const auto bytes = slurp(path);
        REQUIRE(bytes.size() > 4);
        CHECK((bytes[0] == 0x1f && bytes[1] == 0x8b) == std::string(ext).ends_with(".gz"));
        Volume r = read_nifti(path);
        CHECK(r.header.version == version);
        CHECK(r.header.datatype == dt);
        CHECK(r.dims == v.dims);
        for (int a = 0; a < 3; ++a) CHECK(r.spacing[a] == doctest::Approx(v.spacing[a]).epsilon(1e-6));
        CHECK(mat4_max_diff(r.affine, v.affine) < 1e-4);
        CHECK(mat4_max_diff(r.header.qform, v.affine) < 1e-4);  // the affine is rigid+scale: qform holds it
        CHECK(r.data == v.data);
        // Written back from the file header: the same bytes of voxels and transforms.
        write_nifti(r, path + ".again.nii");
        Volume r2 = read_nifti(path + ".again.nii");
        CHECK(r2.header.version == version);
        CHECK(r2.header.datatype == dt);
        CHECK(mat4_max_diff(r2.affine, r.affine) < 1e-5);
        CHECK(r2.data == r.data);
      }
}

TEST_CASE("NIfTI: scl_slope/scl_inter are applied on read and kept on write") {
  pn::test::TempDir tmp("scale");
  const int64_t dims[8] = {3, 4, 3, 2, 1, 1, 1, 1};
  nifti_image* nim = nifti_make_new_nim(dims, DT_INT16, 1);
  auto* p = static_cast<int16_t*>(nim->data);
  for (int i = 0; i < 24; ++i) p[i] = static_cast<int16_t>(i * 100 - 1000);
  nim->scl_slope = 0.5;
  nim->scl_inter = 10;
  nim->nifti_type = NIFTI_FTYPE_NIFTI1_1;
  const std::string path = tmp.file("scaled.nii.gz");
  nifti_set_filenames(nim, path.c_str(), 0, 1);
  nifti_image_write(nim);
  nifti_image_free(nim);
  Volume v = read_nifti(path);
  for (int i = 0; i < 24; ++i) CHECK(v.data[i] == doctest::Approx((i * 100 - 1000) * 0.5 + 10));
  CHECK(v.header.scl_slope == 0.5);
  write_nifti(v, tmp.file("again.nii"));
  Volume w = read_nifti(tmp.file("again.nii"));
  CHECK(w.header.datatype == DT_INT16);
  CHECK(w.header.scl_slope == 0.5);
  CHECK(w.header.scl_inter == 10);
  CHECK(w.data == v.data);
}

TEST_CASE("NIfTI: spacing and transforms in metres are read as millimetres") {
  pn::test::TempDir tmp("units");
  const int64_t dims[8] = {3, 2, 2, 2, 1, 1, 1, 1};
  nifti_image* nim = nifti_make_new_nim(dims, DT_UINT8, 1);
  nim->dx = nim->pixdim[1] = 0.002;
  nim->dy = nim->pixdim[2] = 0.002;
  nim->dz = nim->pixdim[3] = 0.0036;
  nim->xyz_units = NIFTI_UNITS_METER;
  nim->sform_code = 1;
  nim->sto_xyz = nifti_dmat44{};
  nim->sto_xyz.m[0][0] = 0.002; nim->sto_xyz.m[1][1] = 0.002; nim->sto_xyz.m[2][2] = 0.0036; nim->sto_xyz.m[3][3] = 1;
  nim->sto_xyz.m[0][3] = 0.01;
  nim->nifti_type = NIFTI_FTYPE_NIFTI1_1;
  const std::string path = tmp.file("metres.nii");
  nifti_set_filenames(nim, path.c_str(), 0, 1);
  nim->nifti_type = NIFTI_FTYPE_NIFTI1_1;
  nifti_image_write(nim);
  nifti_image_free(nim);
  const Volume v = read_nifti(path);
  CHECK(v.spacing[0] == doctest::Approx(2.0));
  CHECK(v.spacing[2] == doctest::Approx(3.6));
  CHECK(v.affine[0][0] == doctest::Approx(2.0));
  CHECK(v.affine[0][3] == doctest::Approx(10.0));
  CHECK(v.header.xyz_units == NIFTI_UNITS_MM);
}

TEST_CASE("NIfTI: a sheared sform is kept exactly beside a separate qform") {
  pn::test::TempDir tmp("sform");
  Volume v = oblique_volume({4, 4, 4});
  write_nifti(v, tmp.file("a.nii"));
  Volume r = read_nifti(tmp.file("a.nii"));
  // Give it a sheared sform (which no qform can hold) and a distinct qform.
  r.header.sform_code = 2;
  r.header.sform[0][1] = 0.4;
  r.affine = r.header.sform;
  write_nifti(r, tmp.file("b.nii.gz"));
  Volume b = read_nifti(tmp.file("b.nii.gz"));
  CHECK(b.header.sform_code == 2);
  CHECK(b.header.qform_code == r.header.qform_code);
  CHECK(mat4_max_diff(b.affine, r.header.sform) < 1e-5);
  CHECK(mat4_max_diff(b.header.qform, r.header.qform) < 1e-4);
  // An affine set directly on a volume read from a file is what gets written.
  Volume c = read_nifti(tmp.file("a.nii"));
  c.affine[1][3] += 25;
  write_nifti(c, tmp.file("c.nii"));
  CHECK(mat4_max_diff(read_nifti(tmp.file("c.nii")).affine, c.affine) < 1e-4);
}

TEST_CASE("NIfTI labels: round trip and range checks") {
  pn::test::TempDir tmp("labels");
  LabelVolume l = LabelVolume::zeros({6, 5, 4}, {2, 2, 3.6});
  for (int64_t i = 0; i < l.numel(); ++i) l.data[i] = static_cast<int32_t>(i % 29);
  write_labels(l, tmp.file("l.nii.gz"));
  Volume raw = read_nifti(tmp.file("l.nii.gz"));
  CHECK(raw.header.datatype == DT_UINT8);
  LabelVolume r = read_labels(tmp.file("l.nii.gz"), 29);
  CHECK(r.data == l.data);
  CHECK(same_grid(r, l));
  const std::string e = error_of([&] { read_labels(tmp.file("l.nii.gz"), 28); });
  CHECK(e.find("l.nii.gz") != std::string::npos);
  CHECK(e.find("label 28") != std::string::npos);
  CHECK(e.find("out of range") != std::string::npos);
  Volume frac = Volume::zeros({2, 2, 2});
  frac.data[3] = 0.5f;
  write_nifti(frac, tmp.file("frac.nii"));
  CHECK(error_of([&] { read_labels(tmp.file("frac.nii"), 2); }).find("not an integer label") != std::string::npos);
}

TEST_CASE("NIfTI bad input: each failure names the file and the problem") {
  pn::test::TempDir tmp("bad");
  const Volume v = oblique_volume({8, 8, 4});
  write_nifti(v, tmp.file("good.nii"), {1, DT_FLOAT32});
  write_nifti(v, tmp.file("good.nii.gz"), {2, DT_INT16});
  const auto good = slurp(tmp.file("good.nii"));
  const auto goodgz = slurp(tmp.file("good.nii.gz"));

  auto expect = [&](const std::string& path, const std::string& what) {
    const std::string e = error_of([&] { read_nifti(path); });
    CAPTURE(e);
    CHECK(e.find(path) != std::string::npos);
    CHECK(e.find(what) != std::string::npos);
  };
  expect(tmp.file("missing.nii.gz"), "file not found");
  expect(tmp.path.string(), "not a regular file");

  // A plain file: its size on disk (not the bytes buffered so far), and what to do.
  spit(tmp.file("trunc.nii"), std::vector<uint8_t>(good.begin(), good.end() - 40));
  expect(tmp.file("trunc.nii"), "truncated");
  expect(tmp.file("trunc.nii"), fmt::format("the file holds {} bytes; the file is incomplete", good.size() - 40));
  expect(tmp.file("trunc.nii"), "copy it again");
  spit(tmp.file("trunc_hdr.nii"), std::vector<uint8_t>(good.begin(), good.begin() + 200));
  expect(tmp.file("trunc_hdr.nii"), "header needs 348 bytes, the file holds 200 bytes");
  spit(tmp.file("trunc.nii.gz"), std::vector<uint8_t>(goodgz.begin(), goodgz.begin() + goodgz.size() / 2));
  expect(tmp.file("trunc.nii.gz"), "truncated");
  expect(tmp.file("trunc.nii.gz"), "copy it again");
  // A complete gzip stream holding too few voxel bytes: decompressed and compressed sizes.
  {
    std::vector<uint8_t> cut(good.begin(), good.end() - 40);
    gzFile f = gzopen(tmp.file("short.nii.gz").c_str(), "wb");
    gzwrite(f, cut.data(), static_cast<unsigned>(cut.size()));
    gzclose(f);
    expect(tmp.file("short.nii.gz"), fmt::format("it decompresses to {} bytes (", cut.size()));
  }
  // No gzip hint for a plain .nii; one for a plain file named .nii.gz.
  spit(tmp.file("plain.nii"), std::vector<uint8_t>(400, 'a'));
  CHECK(error_of([&] { read_nifti(tmp.file("plain.nii")); }).find("gzip") == std::string::npos);
  spit(tmp.file("plain.nii.gz"), std::vector<uint8_t>(400, 'a'));
  expect(tmp.file("plain.nii.gz"), "the name ends in .gz but the file is not gzip-compressed");

  auto corrupt = good;
  int16_t bad_dim0 = 12;
  std::memcpy(corrupt.data() + 40, &bad_dim0, 2);  // dim[0]
  spit(tmp.file("dim0.nii"), corrupt);
  expect(tmp.file("dim0.nii"), "dim[0] = 12");
  corrupt = good;
  int16_t bad_dt = 1234;
  std::memcpy(corrupt.data() + 70, &bad_dt, 2);  // datatype
  spit(tmp.file("dtype.nii"), corrupt);
  expect(tmp.file("dtype.nii"), "unsupported NIfTI datatype 1234");
  corrupt = good;
  std::memcpy(corrupt.data() + 344, "xyz", 4);  // magic
  spit(tmp.file("magic.nii"), corrupt);
  expect(tmp.file("magic.nii"), "not a NIfTI-1 file");
  corrupt = good;
  float nan = std::nanf("");
  std::memcpy(corrupt.data() + 80, &nan, 4);  // pixdim[1]
  spit(tmp.file("pixdim.nii"), corrupt);
  expect(tmp.file("pixdim.nii"), "pixdim[1]");

  spit(tmp.file("text.nii"), std::vector<uint8_t>(400, 'a'));
  expect(tmp.file("text.nii"), "not a NIfTI file");
  spit(tmp.file("tiny.nii"), {1, 2});
  expect(tmp.file("tiny.nii"), "not a NIfTI file");
  auto garbage_gz = goodgz;
  for (size_t i = 20; i < 60 && i < garbage_gz.size(); ++i) garbage_gz[i] ^= 0x5a;
  spit(tmp.file("garbage.nii.gz"), garbage_gz);
  expect(tmp.file("garbage.nii.gz"), "gzip");

  // Writing into a folder that does not exist.
  const std::string e = error_of([&] { write_nifti(v, tmp.file("no/such/dir/x.nii")); });
  CHECK(e.find("does not exist") != std::string::npos);
}

TEST_CASE("NIfTI: image and mask on different grids are an error naming both") {
  Volume img = Volume::zeros({8, 8, 4}, {2, 2, 3.6});
  LabelVolume mask = LabelVolume::zeros({8, 8, 5}, {2, 2, 3.6});
  CHECK_THROWS_WITH_AS(check_same_grid(img, "a_dwi.nii.gz", mask, "a_msk.nii.gz"),
                       doctest::Contains("a_dwi.nii.gz and a_msk.nii.gz lie on different grids"), pn::Error);
  LabelVolume shifted = LabelVolume::zeros_on(img.grid());
  shifted.affine[0][3] += 1.0;
  CHECK_THROWS_WITH_AS(check_same_grid(img, "a", shifted, "b"), doctest::Contains("affines differ by up to 1 mm"), pn::Error);
  CHECK_NOTHROW(check_same_grid(img, "a", LabelVolume::zeros_on(img.grid()), "b"));
}

TEST_CASE("NIfTI: headers found by the fuzzer give errors, not crashes or huge allocations") {
  pn::test::TempDir tmp("fuzzfound");
  const Volume v = oblique_volume({4, 3, 2});
  write_nifti(v, tmp.file("v1.nii"), {1, DT_FLOAT32});
  write_nifti(v, tmp.file("v2.nii"), {2, DT_FLOAT32});
  const auto v1 = slurp(tmp.file("v1.nii")), v2 = slurp(tmp.file("v2.nii"));
  auto err = [](const std::vector<uint8_t>& b) {
    return error_of([&] { read_nifti_bytes(b.data(), b.size(), "mem.nii"); });
  };
  CHECK(err({}).find("mem.nii: not a NIfTI file") != std::string::npos);
  auto a = v1;
  const float huge = 1.04e21f;
  std::memcpy(a.data() + 108, &huge, 4);  // NIfTI-1 vox_offset
  CHECK(err(a).find("vox_offset") != std::string::npos);
  auto b = v2;
  const int64_t far = int64_t{3} << 46;
  std::memcpy(b.data() + 168, &far, 8);  // NIfTI-2 vox_offset
  CHECK(err(b).find("vox_offset") != std::string::npos);
  auto c = v2;
  const int64_t big = int64_t{1} << 24;
  for (int d = 1; d <= 3; ++d) std::memcpy(c.data() + 16 + 8 * d, &big, 8);  // NIfTI-2 dim[1..3]
  CHECK(err(c).find("exceed") != std::string::npos);
  auto d = v2;
  const int64_t more = 1000;
  std::memcpy(d.data() + 24, &more, 8);  // dim[1] larger than the data present: truncated
  CHECK(err(d).find("truncated") != std::string::npos);
}
