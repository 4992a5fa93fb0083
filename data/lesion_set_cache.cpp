#include "data/lesion_set_cache.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "autograd/error.h"

namespace pn::data {
namespace fs = std::filesystem;
namespace {

constexpr char kMagic[9] = "PNLSET01";
constexpr char kEnd[9] = "PNLSEND1";

const char* mode_name(MaskTransfer m) { return m == MaskTransfer::Nearest ? "nearest" : "area"; }
const char* mirror_name(MirrorMode m) {
  return m == MirrorMode::Off ? "off" : m == MirrorMode::AddCopies ? "add-copies" : "random";
}

class Writer {
 public:
  explicit Writer(std::ofstream& f) : f_(f) {}
  void raw(const void* p, size_t n) { f_.write(static_cast<const char*>(p), static_cast<std::streamsize>(n)); }
  void u64(uint64_t x) { raw(&x, 8); }
  void str(const std::string& s) { u64(s.size()); raw(s.data(), s.size()); }

 private:
  std::ofstream& f_;
};

// Reads with bounds: every length is checked against what is left of the file.
class Reader {
 public:
  explicit Reader(std::ifstream& f) : f_(f) {
    f_.seekg(0, std::ios::end);
    left_ = static_cast<uint64_t>(f_.tellg());
    f_.seekg(0);
  }
  bool raw(void* p, uint64_t n) {
    if (n > left_) return false;
    f_.read(static_cast<char*>(p), static_cast<std::streamsize>(n));
    left_ -= n;
    return static_cast<bool>(f_);
  }
  bool u64(uint64_t& x) { return raw(&x, 8); }
  bool str(std::string& s) {
    uint64_t n;
    if (!u64(n) || n > left_) return false;
    s.resize(n);
    return raw(s.data(), n);
  }
  uint64_t left() const { return left_; }

 private:
  std::ifstream& f_;
  uint64_t left_ = 0;
};

bool read_set(Reader& r, const std::string& key, const Grid& target, const std::string& dir, LesionSet& set) {
  char magic[8];
  std::string k;
  if (!r.raw(magic, 8) || std::memcmp(magic, kMagic, 8) != 0 || !r.str(k) || k != key) return false;
  uint64_t files, n;
  if (!r.u64(files) || !r.u64(n) || n > r.left()) return false;
  set.grid = target;
  set.files = files;
  set.masks.resize(n);
  for (auto& m : set.masks) {
    std::string file;
    uint8_t mirrored;
    uint64_t nv;
    if (!r.str(m.name) || !r.str(file) || !r.raw(&mirrored, 1) || !r.u64(nv) || nv > r.left() / 8) return false;
    m.file = (fs::path(dir) / file).string();
    m.mirrored = mirrored != 0;
    m.voxels.resize(nv);
    if (!r.raw(m.voxels.data(), nv * 8)) return false;
    for (int64_t v : m.voxels)
      if (v < 0 || v >= target.numel()) return false;
  }
  uint64_t nd;
  if (!r.u64(nd) || nd > r.left()) return false;
  set.dropped.resize(nd);
  for (auto& d : set.dropped)
    if (!r.str(d)) return false;
  return r.raw(magic, 8) && std::memcmp(magic, kEnd, 8) == 0 && r.left() == 0;
}

}  // namespace

std::string lesion_cache_key(const std::vector<std::string>& files, const Grid& target, const LesionSetOptions& opt) {
  std::string k = "penumbra lesion set cache 1\n";
  k += fmt::format("grid {} {} {}\n", target.dims[0], target.dims[1], target.dims[2]);
  for (int r = 0; r < 3; ++r)
    k += fmt::format("affine {:.17g} {:.17g} {:.17g} {:.17g}\n", target.affine[r][0], target.affine[r][1],
                     target.affine[r][2], target.affine[r][3]);
  k += fmt::format("transfer {} threshold {:.17g} mirror {} min_voxels {}\n", mode_name(opt.transfer), opt.threshold,
                   mirror_name(opt.mirror), opt.min_voxels);
  if (opt.mirror == MirrorMode::Random) k += fmt::format("mirror_seed {}\n", opt.seed);
  for (const auto& f : files) {
    std::error_code ec;
    const auto size = fs::file_size(f, ec);
    const auto mtime = fs::last_write_time(f, ec).time_since_epoch().count();
    k += fmt::format("file {} {} {}\n", fs::path(f).filename().string(), ec ? 0 : size, ec ? 0 : mtime);
  }
  return k;
}

std::string lesion_cache_path(const std::string& cache_dir, const std::string& key) {
  return (fs::path(cache_dir) / fmt::format("lesion_set_{:016x}.bin", string_hash(key))).string();
}

std::optional<LesionSet> read_lesion_cache(const std::string& path, const std::string& key, const Grid& target,
                                           const std::string& dir) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return std::nullopt;
  Reader r(f);
  LesionSet set;
  if (!read_set(r, key, target, dir, set)) return std::nullopt;
  set.from_cache = true;
  return set;
}

void write_lesion_cache(const std::string& path, const std::string& key, const LesionSet& set) {
  std::error_code ec;
  const fs::path p(path);
  if (p.has_parent_path()) fs::create_directories(p.parent_path(), ec);
  PN_CHECK(!ec, "{}: cannot create the lesion cache folder: {}", p.parent_path().string(), ec.message());
  // A per-process temporary name: two processes filling the same cache do not mix bytes.
  const std::string tmp = fmt::format("{}.tmp{}", path, ::getpid());
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    PN_CHECK(f, "{}: cannot write the lesion cache", tmp);
    Writer w(f);
    w.raw(kMagic, 8);
    w.str(key);
    w.u64(set.files);
    w.u64(set.masks.size());
    for (const auto& m : set.masks) {
      w.str(m.name);
      w.str(fs::path(m.file).filename().string());
      const uint8_t mirrored = m.mirrored ? 1 : 0;
      w.raw(&mirrored, 1);
      w.u64(m.voxels.size());
      w.raw(m.voxels.data(), m.voxels.size() * 8);
    }
    w.u64(set.dropped.size());
    for (const auto& d : set.dropped) w.str(d);
    w.raw(kEnd, 8);
    f.flush();
    PN_CHECK(f, "{}: writing the lesion cache failed (disk full?)", tmp);
  }
  fs::rename(tmp, path, ec);
  if (ec) fs::remove(tmp);
  PN_CHECK(!ec, "{}: cannot move the lesion cache into place: {}", path, ec.message());
}

}  // namespace pn::data
