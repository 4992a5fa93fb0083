// ByteSource: the bytes of a file (or of a buffer, for the fuzzer), gunzipped on the fly
// when they start with the gzip magic. Readers ask for "at least n bytes" step by step
// (first the header, then as much data as the header declares), so a header that lies
// about its size costs no more memory than the file really holds, and a gzip bomb stops
// at the declared size. Every failure is a pn::Error naming the file.
#pragma once
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace pn::data {

class ByteSource {
 public:
  // Opens a file; throws if it does not exist, is not a regular file or cannot be read.
  static ByteSource open_file(const std::string& path);
  // Wraps a buffer (copied); `name` is used in messages.
  static ByteSource from_memory(const uint8_t* data, size_t size, const std::string& name);

  ByteSource(ByteSource&&) noexcept;
  ByteSource& operator=(ByteSource&&) noexcept;
  ~ByteSource();

  // Makes at least n bytes available if the stream holds them; returns size() >= n.
  // Throws on I/O errors and on corrupt gzip data.
  bool fill_to(size_t n);
  const uint8_t* data() const { return buf_.data(); }
  size_t size() const { return buf_.size(); }
  bool gzipped() const { return gzipped_; }
  // Bytes on disk (compressed size for .gz).
  uint64_t stored_size() const { return stored_size_; }
  const std::string& name() const { return name_; }

 private:
  ByteSource() = default;
  size_t read_raw(uint8_t* dst, size_t n);  // from the file or the memory buffer
  bool inflate_more(size_t want);

  std::string name_;
  std::FILE* file_ = nullptr;
  std::vector<uint8_t> mem_;  // from_memory input
  size_t mem_pos_ = 0;
  uint64_t stored_size_ = 0;
  bool gzipped_ = false, raw_eof_ = false, stream_end_ = false, member_done_ = false;
  std::vector<uint8_t> buf_;  // decoded bytes so far
  struct Inflate;
  std::unique_ptr<Inflate> z_;
  std::vector<uint8_t> zin_;  // compressed input chunk
};

}  // namespace pn::data
