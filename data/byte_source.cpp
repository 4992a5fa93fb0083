#include "data/byte_source.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <utility>

#include "autograd/error.h"

namespace pn::data {
namespace fs = std::filesystem;

struct ByteSource::Inflate {
  z_stream s{};
  bool live = false;
  ~Inflate() {
    if (live) inflateEnd(&s);
  }
};

static constexpr size_t kChunk = 1 << 16;

ByteSource ByteSource::open_file(const std::string& path) {
  std::error_code ec;
  auto st = fs::status(path, ec);
  PN_CHECK(!ec && fs::exists(st), "{}: file not found; check the path",
           path);
  PN_CHECK(fs::is_regular_file(st), "{}: not a regular file; give a NIfTI file", path);
  ByteSource b;
  b.name_ = path;
  b.stored_size_ = fs::file_size(path, ec);
  PN_CHECK(!ec, "{}: cannot get the file size: {}", path, ec.message());
  b.file_ = std::fopen(path.c_str(), "rb");
  PN_CHECK(b.file_ != nullptr, "{}: cannot open for reading: {}; check its permissions", path, std::strerror(errno));
  uint8_t magic[2] = {0, 0};
  const size_t got = b.read_raw(magic, 2);
  b.gzipped_ = got == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
  if (b.gzipped_) {
    PN_CHECK(std::fseek(b.file_, 0, SEEK_SET) == 0, "{}: cannot seek: {}", path, std::strerror(errno));
    b.raw_eof_ = false;
  } else {
    b.buf_.assign(magic, magic + got);
  }
  return b;
}

ByteSource ByteSource::from_memory(const uint8_t* data, size_t size, const std::string& name) {
  ByteSource b;
  b.name_ = name;
  b.mem_.assign(data, data + size);
  b.stored_size_ = size;
  b.gzipped_ = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
  return b;
}

ByteSource::ByteSource(ByteSource&& o) noexcept { *this = std::move(o); }

ByteSource& ByteSource::operator=(ByteSource&& o) noexcept {
  if (this == &o) return *this;
  if (file_) std::fclose(file_);
  name_ = std::move(o.name_);
  file_ = std::exchange(o.file_, nullptr);
  mem_ = std::move(o.mem_);
  mem_pos_ = o.mem_pos_;
  stored_size_ = o.stored_size_;
  gzipped_ = o.gzipped_;
  raw_eof_ = o.raw_eof_;
  stream_end_ = o.stream_end_;
  member_done_ = o.member_done_;
  buf_ = std::move(o.buf_);
  z_ = std::move(o.z_);
  zin_ = std::move(o.zin_);
  return *this;
}

ByteSource::~ByteSource() {
  if (file_) std::fclose(file_);
}

size_t ByteSource::read_raw(uint8_t* dst, size_t n) {
  if (file_) {
    size_t got = std::fread(dst, 1, n, file_);
    PN_CHECK(!std::ferror(file_), "{}: read error: {}", name_, std::strerror(errno));
    if (got < n) raw_eof_ = true;
    return got;
  }
  size_t got = std::min(n, mem_.size() - mem_pos_);
  if (got > 0) std::memcpy(dst, mem_.data() + mem_pos_, got);
  mem_pos_ += got;
  if (got < n) raw_eof_ = true;
  return got;
}

bool ByteSource::fill_to(size_t n) {
  if (buf_.size() >= n) return true;
  if (gzipped_) return inflate_more(n);
  // Plain: a file (or buffer) shorter than n cannot satisfy the request; say so before
  // allocating anything, so that a header declaring terabytes costs nothing.
  if (n > stored_size_) return false;
  while (!raw_eof_ && buf_.size() < n) {
    const size_t old = buf_.size();
    const size_t want = std::min(n - old, size_t{64} << 20);
    buf_.resize(old + want);
    const size_t got = read_raw(buf_.data() + old, want);
    buf_.resize(old + got);
  }
  return buf_.size() >= n;
}

bool ByteSource::inflate_more(size_t want) {
  if (!z_) {
    z_ = std::make_unique<Inflate>();
    // 15 + 16: zlib parses the gzip wrapper (we saw the gzip magic).
    PN_CHECK(inflateInit2(&z_->s, 15 + 16) == Z_OK, "{}: zlib initialisation failed", name_);
    z_->live = true;
  }
  z_stream& s = z_->s;
  while (buf_.size() < want && !stream_end_) {
    if (s.avail_in == 0) {
      zin_.resize(kChunk);
      const size_t got = raw_eof_ ? 0 : read_raw(zin_.data(), kChunk);
      if (got == 0) {
        if (member_done_) { stream_end_ = true; break; }
        PN_FAIL("{}: gzip stream ends early after {} decompressed bytes ({} bytes compressed): the file is truncated (an "
                "interrupted copy or download?); copy it again", name_, buf_.size(), stored_size_);
      }
      s.next_in = zin_.data();
      s.avail_in = static_cast<uInt>(got);
    }
    const size_t old = buf_.size();
    // Grow in steps of at most 64 MiB, so that a lying size field never allocates ahead.
    const size_t grow = std::clamp<size_t>(want - old, kChunk, size_t{64} << 20);
    buf_.resize(old + grow);
    s.next_out = buf_.data() + old;
    s.avail_out = static_cast<uInt>(grow);
    const int rc = inflate(&s, Z_NO_FLUSH);
    buf_.resize(old + (grow - s.avail_out));
    if (rc == Z_STREAM_END) {
      // A file may hold several gzip members one after another (gzip -c a b > c).
      member_done_ = true;
      PN_CHECK(inflateReset(&s) == Z_OK, "{}: zlib reset failed", name_);
      continue;
    }
    if (rc == Z_DATA_ERROR && member_done_ && buf_.size() == old) {
      stream_end_ = true;  // bytes after a complete member that are no gzip: ignored, as gzip does
      break;
    }
    PN_CHECK(rc == Z_OK || rc == Z_BUF_ERROR, "{}: corrupt gzip data ({}) after {} decompressed bytes; the file is "
             "damaged: copy it again, or re-export it", name_, s.msg ? s.msg : zError(rc), buf_.size());
    if (rc == Z_OK) member_done_ = false;
  }
  return buf_.size() >= want;
}

}  // namespace pn::data
