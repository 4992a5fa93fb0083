// Happens-before between streams, for the emulator's hazard checker (streams.cpp,
// hazards.cpp). Each stream numbers its ops 1, 2, ...; a vector clock maps stream ids to
// the number of that stream's ops known to have completed before some point. An op A of
// stream s with number k happens before a point whose clock C has C[s] >= k.
#pragma once
#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace pn::cuda::emu::detail {

class VectorClock {
 public:
  uint64_t get(int stream) const {
    auto it = find(stream);
    return it != entries_.end() && it->first == stream ? it->second : 0;
  }
  void set(int stream, uint64_t value) {
    auto it = find(stream);
    if (it != entries_.end() && it->first == stream) it->second = value;
    else entries_.insert(it, {stream, value});
  }
  // this <- elementwise max(this, other)
  void join(const VectorClock& other) {
    for (const auto& [s, v] : other.entries_)
      if (v > get(s)) set(s, v);
  }
  const std::vector<std::pair<int, uint64_t>>& entries() const { return entries_; }

 private:
  std::vector<std::pair<int, uint64_t>>::iterator find(int stream) {
    return std::lower_bound(entries_.begin(), entries_.end(), stream,
                            [](const std::pair<int, uint64_t>& e, int s) { return e.first < s; });
  }
  std::vector<std::pair<int, uint64_t>>::const_iterator find(int stream) const {
    return std::lower_bound(entries_.begin(), entries_.end(), stream,
                            [](const std::pair<int, uint64_t>& e, int s) { return e.first < s; });
  }
  std::vector<std::pair<int, uint64_t>> entries_;  // sorted by stream id
};

// A running op as the hazard checker sees it.
struct OpRef {
  int stream;
  uint64_t seq;
  const VectorClock* clock;  // what happens before the op
  const std::string* what;
  std::string stream_name;  // "stream 3 (non-blocking) of device 0"
};

}  // namespace pn::cuda::emu::detail
