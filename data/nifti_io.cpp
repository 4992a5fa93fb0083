#include "data/nifti_io.h"

#include <nifti/nifti2_io.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>

#include "autograd/error.h"
#include "data/byte_source.h"

namespace pn::data {
namespace fs = std::filesystem;
namespace {

// Upper bound on the voxel bytes one file may declare (a lying header must not allocate).
constexpr uint64_t kMaxVoxelBytes = uint64_t{4} << 30;

// The next step after a damaged header.
constexpr const char* kDamaged = "; the file is damaged or was not written as NIfTI: re-export it, or copy it again";
// The next step after a file that ends too early.
constexpr const char* kIncomplete = "; the file is incomplete (an interrupted copy or download?): copy it again";

// How many bytes the file holds, for messages: a plain file's size on disk; for a gzip
// file, what decompressing it gave so far and its size on disk.
std::string bytes_held(const ByteSource& src) {
  return src.gzipped() ? fmt::format("it decompresses to {} bytes ({} bytes compressed)", src.size(), src.stored_size())
                       : fmt::format("the file holds {} bytes", src.stored_size());
}

// The header fields the reader uses, whichever NIfTI version held them.
struct Header {
  int version = 1;
  int64_t dim[8]{};
  double pixdim[8]{};
  int datatype = 0;
  int64_t vox_offset = 0;
  double scl_slope = 0, scl_inter = 0;
  int qform_code = 0, sform_code = 0;
  double qb = 0, qc = 0, qd = 0, qx = 0, qy = 0, qz = 0;
  double srow[3][4]{};
  int xyzt_units = 0;
  std::string descrip;
};

int element_bytes(int dt) {
  switch (dt) {
    case DT_UINT8: case DT_INT8: return 1;
    case DT_INT16: case DT_UINT16: return 2;
    case DT_INT32: case DT_UINT32: case DT_FLOAT32: return 4;
    case DT_FLOAT64: return 8;
    default: return 0;
  }
}

template <class H>
void copy_common(const H& h, Header& out) {
  for (int i = 0; i < 8; ++i) { out.dim[i] = h.dim[i]; out.pixdim[i] = h.pixdim[i]; }
  out.datatype = h.datatype;
  out.scl_slope = h.scl_slope;
  out.scl_inter = h.scl_inter;
  out.qform_code = h.qform_code;
  out.sform_code = h.sform_code;
  out.qb = h.quatern_b; out.qc = h.quatern_c; out.qd = h.quatern_d;
  out.qx = h.qoffset_x; out.qy = h.qoffset_y; out.qz = h.qoffset_z;
  for (int c = 0; c < 4; ++c) { out.srow[0][c] = h.srow_x[c]; out.srow[1][c] = h.srow_y[c]; out.srow[2][c] = h.srow_z[c]; }
  out.xyzt_units = h.xyzt_units;
  out.descrip.assign(h.descrip, strnlen(h.descrip, sizeof(h.descrip)));
}

// The NIfTI version (1 or 2) from the header-size field, and whether the file's byte order
// is the opposite of ours.
int detect_version(ByteSource& src, bool& swap) {
  const std::string& name = src.name();
  PN_CHECK(src.fill_to(4), "{}: not a NIfTI file: {}{}", name, bytes_held(src), kIncomplete);
  int32_t sz;
  std::memcpy(&sz, src.data(), 4);
  const int32_t sz_swapped = static_cast<int32_t>(__builtin_bswap32(static_cast<uint32_t>(sz)));
  int version = 0;
  if (sz == 348 || sz_swapped == 348) version = 1;
  else if (sz == 540 || sz_swapped == 540) version = 2;
  PN_CHECK(version != 0, "{}: not a NIfTI file: header size field is {} (NIfTI-1 has 348, NIfTI-2 540){}", name, sz,
           !src.gzipped() && name.ends_with(".gz")
               ? "; the name ends in .gz but the file is not gzip-compressed: compress it with gzip, or rename it to .nii"
               : "; convert the image to NIfTI first (DICOM series: e.g. with dcm2niix)");
  swap = sz != 348 && sz != 540;
  return version;
}

// The raw header of either version in our byte order, magic checked (not yet validated).
Header read_raw_header(ByteSource& src, int version, bool swap) {
  const std::string& name = src.name();
  const size_t hsize = version == 1 ? 348 : 540;
  PN_CHECK(src.fill_to(hsize), "{}: truncated: the NIfTI-{} header needs {} bytes, {}{}", name, version, hsize,
           bytes_held(src), kIncomplete);
  Header h;
  h.version = version;
  if (version == 1) {
    nifti_1_header n1;
    std::memcpy(&n1, src.data(), sizeof n1);
    if (swap) nifti_swap_as_nifti1(&n1);
    const std::string magic(n1.magic, strnlen(n1.magic, 4));
    PN_CHECK(magic != "ni1", "{}: a two-file NIfTI-1 header (.hdr/.img pair) is not supported; convert it to .nii", name);
    PN_CHECK(magic == "n+1", "{}: not a NIfTI-1 file: magic is not \"n+1\" (an ANALYZE 7.5 file? convert it to NIfTI){}", name, kDamaged);
    copy_common(n1, h);
    PN_CHECK(std::isfinite(n1.vox_offset) && n1.vox_offset >= 0 && n1.vox_offset < 1e12, "{}: corrupt header: vox_offset {}{}",
             name, n1.vox_offset, kDamaged);
    h.vox_offset = static_cast<int64_t>(n1.vox_offset);
  } else {
    nifti_2_header n2;
    std::memcpy(&n2, src.data(), sizeof n2);
    if (swap) nifti_swap_as_nifti2(&n2);
    PN_CHECK(std::memcmp(n2.magic, "n+2\0\r\n\032\n", 8) == 0,
             "{}: not a single-file NIfTI-2 file: magic is not \"n+2\" with its line-ending guard{}", name, kDamaged);
    copy_common(n2, h);
    h.vox_offset = n2.vox_offset;
  }
  return h;
}

// Dimensions: 1..7, a 3-D volume (trailing dimensions of 1 allowed); the datatype, the voxel
// offset and the data size within limits.
void validate_extent(Header& h, const std::string& name) {
  PN_CHECK(h.dim[0] >= 1 && h.dim[0] <= 7, "{}: corrupt header: dim[0] = {} (must be 1..7){}", name, h.dim[0], kDamaged);
  for (int i = 1; i <= 7; ++i) {
    if (i > h.dim[0]) { h.dim[i] = 1; continue; }
    PN_CHECK(h.dim[i] >= 1 && h.dim[i] <= (int64_t{1} << 24), "{}: corrupt header: dim[{}] = {}{}", name, i, h.dim[i], kDamaged);
    if (i >= 4)
      PN_CHECK(h.dim[i] == 1, "{}: expected a 3-D volume, the file is {}-D with dim[{}] = {}; extract the one volume you need "
               "(e.g. `fslroi {} out.nii.gz 0 1`; for DWI the b=1000 trace)", name, h.dim[0], i, h.dim[i], name);
  }
  const int eb = element_bytes(h.datatype);
  PN_CHECK(eb > 0, "{}: unsupported NIfTI datatype {} (supported: uint8, int8, int16, uint16, int32, uint32, float32, "
           "float64); convert it to float32 (e.g. `fslmaths {} out.nii.gz -odt float`)", name, h.datatype, name);
  const int64_t hsize = h.version == 1 ? 348 : 540;
  PN_CHECK(h.vox_offset <= static_cast<int64_t>(kMaxVoxelBytes), "{}: corrupt header: vox_offset {} is beyond any real file{}",
           name, h.vox_offset, kDamaged);
  PN_CHECK(h.vox_offset >= hsize, "{}: corrupt header: vox_offset {} lies inside the {}-byte header{}",
           name, h.vox_offset, hsize, kDamaged);
  // In double: three dimensions of up to 2^24 would overflow 64-bit integers.
  const double bytes = static_cast<double>(h.dim[1]) * static_cast<double>(h.dim[2]) * static_cast<double>(h.dim[3]) * eb;
  PN_CHECK(bytes <= static_cast<double>(kMaxVoxelBytes), "{}: corrupt header: {}x{}x{} voxels of {} bytes exceed the {} GiB limit{}", name,
           h.dim[1], h.dim[2], h.dim[3], eb, kMaxVoxelBytes >> 30, kDamaged);
}

// Voxel sizes, scaling and the two transforms: finite and in range.
void validate_geometry(const Header& h, const std::string& name) {
  for (int a = 1; a <= 3; ++a)
    PN_CHECK(std::isfinite(h.pixdim[a]) && std::abs(h.pixdim[a]) > 0, "{}: corrupt header: voxel size pixdim[{}] = {}{}",
             name, a, h.pixdim[a], kDamaged);
  if (std::isfinite(h.scl_slope) && h.scl_slope != 0)
    PN_CHECK(std::isfinite(h.scl_inter), "{}: corrupt header: scl_inter {}{}", name, h.scl_inter, kDamaged);
  PN_CHECK(h.qform_code >= 0 && h.qform_code <= 5 && h.sform_code >= 0 && h.sform_code <= 5,
           "{}: corrupt header: qform_code {}, sform_code {} (must be 0..5){}", name, h.qform_code, h.sform_code, kDamaged);
  auto finite = [](double x) { return std::isfinite(x); };
  if (h.qform_code > 0)
    PN_CHECK(finite(h.qb) && finite(h.qc) && finite(h.qd) && finite(h.qx) && finite(h.qy) && finite(h.qz),
             "{}: corrupt header: non-finite qform parameters{}", name, kDamaged);
  if (h.sform_code > 0)
    for (auto& r : h.srow)
      for (double x : r) PN_CHECK(finite(x), "{}: corrupt header: non-finite sform row{}", name, kDamaged);
}

// Reads and validates the header; returns it and whether the data needs byte swapping.
Header parse_header(ByteSource& src, bool& swap) {
  const int version = detect_version(src, swap);
  Header h = read_raw_header(src, version, swap);
  validate_extent(h, src.name());
  validate_geometry(h, src.name());
  return h;
}

Mat4 to_mat4(const nifti_dmat44& m) {
  Mat4 r{};
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) r[i][j] = m.m[i][j];
  return r;
}
nifti_dmat44 to_dmat44(const Mat4& m) {
  nifti_dmat44 r{};
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) r.m[i][j] = m[i][j];
  return r;
}

template <class T>
void convert(const uint8_t* src, size_t n, bool swap, double slope, double inter, float* dst) {
  for (size_t i = 0; i < n; ++i) {
    uint8_t b[sizeof(T)];
    std::memcpy(b, src + i * sizeof(T), sizeof(T));
    if (swap) std::reverse(b, b + sizeof(T));
    T v;
    std::memcpy(&v, b, sizeof(T));
    dst[i] = static_cast<float>(static_cast<double>(v) * slope + inter);
  }
}

// The volume's grid from a validated header: dims, spacing, the header fields kept for
// writing back, both transforms and the affine, all in millimetres.
void grid_from_header(const Header& h, Volume& v) {
  v.dims = {h.dim[1], h.dim[2], h.dim[3]};
  v.spacing = {std::abs(h.pixdim[1]), std::abs(h.pixdim[2]), std::abs(h.pixdim[3])};
  NiftiInfo& info = v.header;
  info.from_file = true;
  info.version = h.version;
  info.datatype = h.datatype;
  // NIfTI: a slope of 0 (or non-finite) means "no scaling".
  const bool scaled = std::isfinite(h.scl_slope) && h.scl_slope != 0;
  info.scl_slope = scaled ? h.scl_slope : 0;
  info.scl_inter = scaled ? h.scl_inter : 0;
  info.qform_code = h.qform_code;
  info.sform_code = h.sform_code;
  info.xyz_units = h.xyzt_units & 7;
  info.descrip = h.descrip;
  if (h.qform_code > 0) {
    const double qfac = h.pixdim[0] < 0 ? -1.0 : 1.0;
    info.qform = to_mat4(nifti_quatern_to_dmat44(h.qb, h.qc, h.qd, h.qx, h.qy, h.qz, v.spacing[0], v.spacing[1],
                                                 v.spacing[2], qfac));
  }
  if (h.sform_code > 0) {
    info.sform = mat4_identity();
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 4; ++c) info.sform[r][c] = h.srow[r][c];
  }
  // Millimetres throughout: files in metres or microns are converted on read.
  const int units = h.xyzt_units & 7;
  const double to_mm = units == NIFTI_UNITS_METER ? 1000.0 : units == NIFTI_UNITS_MICRON ? 0.001 : 1.0;
  if (to_mm != 1.0) {
    for (double& sp : v.spacing) sp *= to_mm;
    for (Mat4* m : {&info.qform, &info.sform})
      for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 4; ++c) (*m)[r][c] *= to_mm;
    info.xyz_units = NIFTI_UNITS_MM;
  }
  // NIfTI's precedence for "the" world transform: sform, then qform, then plain pixdim.
  v.affine = h.sform_code > 0 ? info.sform
             : h.qform_code > 0 ? info.qform
                                : mat4_scale_translate(v.spacing[0], v.spacing[1], v.spacing[2]);
}

// The n stored voxels at p as floats, scaled by the header's slope and intercept.
void read_voxels(const Header& h, const uint8_t* p, size_t n, bool swap, const std::string& name, float* out) {
  const bool scaled = std::isfinite(h.scl_slope) && h.scl_slope != 0;
  const double slope = scaled ? h.scl_slope : 1.0, inter = scaled ? h.scl_inter : 0.0;
  switch (h.datatype) {
    case DT_UINT8: convert<uint8_t>(p, n, swap, slope, inter, out); break;
    case DT_INT8: convert<int8_t>(p, n, swap, slope, inter, out); break;
    case DT_INT16: convert<int16_t>(p, n, swap, slope, inter, out); break;
    case DT_UINT16: convert<uint16_t>(p, n, swap, slope, inter, out); break;
    case DT_INT32: convert<int32_t>(p, n, swap, slope, inter, out); break;
    case DT_UINT32: convert<uint32_t>(p, n, swap, slope, inter, out); break;
    case DT_FLOAT32: convert<float>(p, n, swap, slope, inter, out); break;
    case DT_FLOAT64: convert<double>(p, n, swap, slope, inter, out); break;
    default: PN_FAIL("{}: unsupported datatype {}", name, h.datatype);
  }
}

Volume read_from(ByteSource& src) {
  const std::string& name = src.name();
  bool swap = false;
  Header h = parse_header(src, swap);
  const int eb = element_bytes(h.datatype);
  const size_t n = static_cast<size_t>(h.dim[1] * h.dim[2] * h.dim[3]);
  const size_t need = static_cast<size_t>(h.vox_offset) + n * eb;
  PN_CHECK(src.fill_to(need), "{}: truncated: the header declares {}x{}x{} {} voxels ({} bytes from offset {}), {}{}",
           name, h.dim[1], h.dim[2], h.dim[3], nifti_datatype_name(h.datatype), n * eb, h.vox_offset, bytes_held(src),
           kIncomplete);
  Volume v;
  grid_from_header(h, v);
  v.data.resize(n);
  read_voxels(h, src.data() + h.vox_offset, n, swap, name, v.data.data());
  size_t bad = 0;
  for (float x : v.data) bad += !std::isfinite(x);
  PN_CHECK(bad == 0, "{}: {} of {} voxels are not finite (NaN or Inf); replace them before use (e.g. NaN outside the "
           "brain by 0: `fslmaths in -nan out`)", name, bad, n);
  return v;
}

// Stored value for voxel value x in an integer type: round((x - inter) / slope), range-checked.
template <class T>
void store(const std::vector<float>& src, double slope, double inter, void* dst, const std::string& path) {
  T* out = static_cast<T*>(dst);
  for (size_t i = 0; i < src.size(); ++i) {
    const double s = (static_cast<double>(src[i]) - inter) / slope;
    if constexpr (std::is_integral_v<T>) {
      const double r = std::nearbyint(s);
      PN_CHECK(r >= static_cast<double>(std::numeric_limits<T>::min()) && r <= static_cast<double>(std::numeric_limits<T>::max()),
               "{}: voxel value {} does not fit the file's datatype", path, src[i]);
      out[i] = static_cast<T>(r);
    } else {
      out[i] = static_cast<T>(s);
    }
  }
}

// The voxels in datatype dt, stored as round((x - inter) / slope) in integer types.
void write_voxels(const std::vector<float>& data, int dt, double slope, double inter, void* out, const std::string& path) {
  switch (dt) {
    case DT_UINT8: store<uint8_t>(data, slope, inter, out, path); break;
    case DT_INT8: store<int8_t>(data, slope, inter, out, path); break;
    case DT_INT16: store<int16_t>(data, slope, inter, out, path); break;
    case DT_UINT16: store<uint16_t>(data, slope, inter, out, path); break;
    case DT_INT32: store<int32_t>(data, slope, inter, out, path); break;
    case DT_UINT32: store<uint32_t>(data, slope, inter, out, path); break;
    case DT_FLOAT32: store<float>(data, slope, inter, out, path); break;
    case DT_FLOAT64: store<double>(data, slope, inter, out, path); break;
    default: PN_FAIL("{}: unsupported datatype {}", path, dt);
  }
}

// Spacing, units and both transforms of the image to write.
// A volume made in memory (or one whose header kept neither transform) stores its affine
// as both: qform (the rigid part, for old viewers) and sform (exact).
// `affine` is authoritative: when it no longer matches the transform the header would
// give (someone set it directly), it is written as the sform.
void set_geometry(const Grid& g, nifti_image* nim) {
  const NiftiInfo& info = g.header;
  nim->dx = nim->pixdim[1] = g.spacing[0];
  nim->dy = nim->pixdim[2] = g.spacing[1];
  nim->dz = nim->pixdim[3] = g.spacing[2];
  nim->xyz_units = info.xyz_units ? info.xyz_units : NIFTI_UNITS_MM;
  const bool keep = info.from_file && (info.qform_code > 0 || info.sform_code > 0);
  nim->qform_code = keep ? info.qform_code : NIFTI_XFORM_SCANNER_ANAT;
  nim->sform_code = keep ? info.sform_code : NIFTI_XFORM_SCANNER_ANAT;
  const Mat4 q = keep && info.qform_code > 0 ? info.qform : g.affine;
  Mat4 s = keep && info.sform_code > 0 ? info.sform : g.affine;
  if (keep && mat4_max_diff(nim->sform_code > 0 ? s : q, g.affine) > 1e-6) {
    s = g.affine;
    if (nim->sform_code == 0) nim->sform_code = nim->qform_code;
  }
  if (nim->qform_code > 0) {
    nim->qto_xyz = to_dmat44(q);
    double dx, dy, dz, qfac;
    nifti_dmat44_to_quatern(nim->qto_xyz, &nim->quatern_b, &nim->quatern_c, &nim->quatern_d, &nim->qoffset_x,
                            &nim->qoffset_y, &nim->qoffset_z, &dx, &dy, &dz, &qfac);
    nim->qfac = qfac;
    nim->pixdim[0] = qfac;
  }
  if (nim->sform_code > 0) nim->sto_xyz = to_dmat44(s);
}

// The header bytes of a single-file NIfTI-1 (352 with the extension flag) or NIfTI-2 (544).
// nifti_clib builds the header; the bytes are written by write_file, because Debian's
// nifti_clib (nifti_image_write) treats a single-file NIfTI-2 as a header/image pair and
// overwrites the header with the voxels. The 4 bytes after the header (the extension flag)
// stay 0: no extensions.
std::vector<uint8_t> header_bytes(nifti_image* nim, int version, const std::string& path) {
  std::vector<uint8_t> head;
  if (version == 1) {
    nifti_1_header h1;
    PN_CHECK(nifti_convert_nim2n1hdr(nim, &h1) == 0, "{}: nifti_clib could not build a NIfTI-1 header", path);
    h1.vox_offset = 352;
    std::memcpy(h1.magic, "n+1", 4);
    head.resize(352, 0);
    std::memcpy(head.data(), &h1, sizeof h1);
  } else {
    nifti_2_header h2;
    PN_CHECK(nifti_convert_nim2n2hdr(nim, &h2) == 0, "{}: nifti_clib could not build a NIfTI-2 header", path);
    h2.vox_offset = 544;
    std::memcpy(h2.magic, "n+2\0\r\n\032\n", 8);
    head.resize(544, 0);
    std::memcpy(head.data(), &h2, sizeof h2);
  }
  return head;
}

// Header then voxels into path + ".part" (gzip-compressed for .gz), then renamed into place:
// a reader never sees a half-written file.
void write_file(const std::string& path, const std::vector<uint8_t>& head, const void* voxels, size_t nbytes) {
  const std::string tmp = path + ".part";
  bool ok = true;
  if (path.ends_with(".gz")) {
    gzFile f = gzopen(tmp.c_str(), "wb6");
    PN_CHECK(f != nullptr, "{}: cannot open for writing: {}", tmp, std::strerror(errno));
    ok = gzwrite(f, head.data(), static_cast<unsigned>(head.size())) == static_cast<int>(head.size());
    // gzwrite takes unsigned counts: write in chunks.
    for (size_t off = 0; ok && off < nbytes; off += size_t{1} << 30) {
      const unsigned n = static_cast<unsigned>(std::min(nbytes - off, size_t{1} << 30));
      ok = gzwrite(f, static_cast<const uint8_t*>(voxels) + off, n) == static_cast<int>(n);
    }
    ok = gzclose(f) == Z_OK && ok;
  } else {
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    PN_CHECK(f != nullptr, "{}: cannot open for writing: {}", tmp, std::strerror(errno));
    ok = std::fwrite(head.data(), 1, head.size(), f) == head.size() && std::fwrite(voxels, 1, nbytes, f) == nbytes;
    ok = std::fclose(f) == 0 && ok;
  }
  std::error_code ec;
  if (!ok) fs::remove(tmp, ec);
  PN_CHECK(ok, "{}: writing failed (disk full?)", path);
  fs::rename(tmp, path, ec);
  PN_CHECK(!ec, "{}: cannot move the written file into place: {}", path, ec.message());
}

void write_image(const Grid& g, const std::vector<float>& data, const std::string& path, const NiftiWriteOptions& opt) {
  const NiftiInfo& info = g.header;
  const int version = opt.version ? opt.version : (info.from_file ? info.version : 1);
  const int dt = opt.datatype ? opt.datatype : (info.from_file ? info.datatype : DT_FLOAT32);
  PN_CHECK(version == 1 || version == 2, "{}: NIfTI version must be 1 or 2, got {}", path, version);
  PN_CHECK(nifti_datatype_supported(dt), "{}: cannot write NIfTI datatype {}", path, dt);
  PN_CHECK(path.ends_with(".nii") || path.ends_with(".nii.gz"), "{}: NIfTI file names end in .nii or .nii.gz", path);
  PN_CHECK(static_cast<int64_t>(data.size()) == g.numel(), "{}: volume holds {} voxels, its grid {} needs {}", path,
           data.size(), dims_string(g.dims), g.numel());
  const fs::path parent = fs::path(path).parent_path();
  PN_CHECK(parent.empty() || fs::is_directory(parent), "{}: cannot write: folder {} does not exist", path, parent.string());

  // Keep the file's scaling only when it stays within an integer type's meaning.
  const bool int_type = dt != DT_FLOAT32 && dt != DT_FLOAT64;
  const bool scaled = info.from_file && info.scl_slope != 0 && int_type && (opt.datatype == 0 || dt == info.datatype);
  const double slope = scaled ? info.scl_slope : 1.0, inter = scaled ? info.scl_inter : 0.0;

  const int64_t dims[8] = {3, g.dims[0], g.dims[1], g.dims[2], 1, 1, 1, 1};
  nifti_image* nim = nifti_make_new_nim(dims, dt, 1);
  PN_CHECK(nim != nullptr, "{}: nifti_clib could not allocate the image", path);
  struct Free { nifti_image* p; ~Free() { nifti_image_free(p); } } guard{nim};
  write_voxels(data, dt, slope, inter, nim->data, path);
  nim->scl_slope = scaled ? slope : 0;
  nim->scl_inter = scaled ? inter : 0;
  set_geometry(g, nim);
  std::snprintf(nim->descrip, sizeof nim->descrip, "%s", info.descrip.empty() ? "penumbra" : info.descrip.c_str());
  nim->nifti_type = version == 1 ? NIFTI_FTYPE_NIFTI1_1 : NIFTI_FTYPE_NIFTI2_1;
  const size_t nbytes = static_cast<size_t>(nim->nvox) * static_cast<size_t>(nim->nbyper);
  write_file(path, header_bytes(nim, version, path), nim->data, nbytes);
}

}  // namespace

bool nifti_datatype_supported(int dt) { return element_bytes(dt) > 0; }

std::string nifti_datatype_name(int dt) {
  switch (dt) {
    case DT_UINT8: return "uint8";
    case DT_INT8: return "int8";
    case DT_INT16: return "int16";
    case DT_UINT16: return "uint16";
    case DT_INT32: return "int32";
    case DT_UINT32: return "uint32";
    case DT_FLOAT32: return "float32";
    case DT_FLOAT64: return "float64";
    default: return fmt::format("datatype {}", dt);
  }
}

Volume read_nifti(const std::string& path) {
  ByteSource src = ByteSource::open_file(path);
  return read_from(src);
}

Volume read_nifti_bytes(const uint8_t* bytes, size_t size, const std::string& name) {
  ByteSource src = ByteSource::from_memory(bytes, size, name);
  return read_from(src);
}

LabelVolume to_labels(const Volume& v, int num_classes, const std::string& name) {
  LabelVolume l = LabelVolume::zeros_on(v.grid());
  for (size_t i = 0; i < v.data.size(); ++i) {
    const float x = v.data[i];
    // The voxel's (i, j, k) only on failure: the divisions cost more than the check.
    if (x != std::floor(x) || !(x >= 0 && x < num_classes)) {
      const auto idx = static_cast<int64_t>(i);
      const int64_t vi = idx % v.dims[0], vj = idx / v.dims[0] % v.dims[1], vk = idx / (v.dims[0] * v.dims[1]);
      PN_CHECK(x == std::floor(x), "{}: voxel ({}, {}, {}) holds {}, not an integer label", name, vi, vj, vk, x);
      PN_FAIL("{}: label {} at voxel ({}, {}, {}) is out of range [0, {})", name, x, vi, vj, vk, num_classes);
    }
    l.data[i] = static_cast<int32_t>(x);
  }
  return l;
}

LabelVolume read_labels(const std::string& path, int num_classes) { return to_labels(read_nifti(path), num_classes, path); }

Volume to_float(const LabelVolume& v) {
  Volume f = Volume::zeros_on(v.grid());
  for (size_t i = 0; i < v.data.size(); ++i) f.data[i] = static_cast<float>(v.data[i]);
  return f;
}

void write_nifti(const Volume& v, const std::string& path, const NiftiWriteOptions& opt) {
  write_image(v.grid(), v.data, path, opt);
}

void write_labels(const LabelVolume& v, const std::string& path, const NiftiWriteOptions& opt) {
  NiftiWriteOptions o = opt;
  if (o.datatype == 0) {
    int32_t lo = 0, hi = 0;
    if (!v.data.empty()) {
      auto [a, b] = std::minmax_element(v.data.begin(), v.data.end());
      lo = *a;
      hi = *b;
    }
    o.datatype = lo >= 0 && hi <= 255 ? DT_UINT8 : lo >= -32768 && hi <= 32767 ? DT_INT16 : DT_INT32;
  }
  Grid g = v.grid();
  g.header.scl_slope = 0;  // labels are stored as they are
  write_image(g, to_float(v).data, path, o);
}

}  // namespace pn::data
