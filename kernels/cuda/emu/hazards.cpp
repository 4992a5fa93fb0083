// The cross-stream hazard checker: for every device allocation, the last op that wrote it
// and, per stream, the last op that read it since. An op that reads an allocation must be
// ordered after its last write; an op that writes it, after its last write and every read
// since (ordered: on the same stream, or the other op's stream number is covered by this
// op's vector clock, vector_clock.h). Allocation granularity: two streams touching disjoint
// parts of one allocation without ordering are reported too (the caching allocator hands
// every tensor its own allocation, so this does not arise in Penumbra's own code).
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>

#include "kernels/cuda/emu/emu_internal.h"
#include "kernels/cuda/emu/vector_clock.h"

namespace pn::cuda::emu::detail {

namespace {

struct Touch {
  int stream = 0;
  uint64_t seq = 0;
  std::string what, stream_name, role;
};

struct History {
  bool written = false;
  Touch last_write;
  std::map<int, Touch> reads;  // per stream, the last read since last_write
};

struct Histories {
  std::mutex mutex;  // taken after streams.cpp's and never held while taking another
  std::map<const char*, History> map;
};
Histories& histories() {
  static auto* h = new Histories;
  return *h;
}

HazardMode mode_from_env() {
  const char* s = std::getenv("PN_CUDA_EMU_HAZARDS");
  if (s && std::string(s) == "warn") return HazardMode::Warn;
  if (s && std::string(s) == "off") return HazardMode::Off;
  return HazardMode::Error;
}
std::atomic<HazardMode> g_mode{mode_from_env()};

bool ordered_before(const Touch& t, const OpRef& op) { return t.stream == op.stream || op.clock->get(t.stream) >= t.seq; }

std::string hex(const void* p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%p", p);
  return buf;
}

std::string describe(const char* kind, const OpRef& op, const std::string& role, const AllocationInfo& a,
                     const Touch& earlier, const char* earlier_kind) {
  return std::string(kind) + " on the " + std::to_string(a.bytes) + "-byte allocation at " + hex(a.base) +
         " of device " + std::to_string(a.device) + ": " + *op.what + " on " + op.stream_name + " " +
         (std::string(kind) == "read-after-write hazard" ? "reads" : "writes") + " it (" + role + "), but " +
         earlier.what + " on " + earlier.stream_name + " " + earlier_kind + " it (" + earlier.role +
         ") and nothing orders the two: record an event after the first (cudaEventRecord) and make the second's "
         "stream wait for it (cudaStreamWaitEvent), or synchronise in between";
}

}  // namespace

std::string check_and_record_access(const OpRef& op, const AllocationInfo& a, bool write, const std::string& role) {
  std::lock_guard<std::mutex> lock(histories().mutex);
  History& h = histories().map[a.base];
  std::string hazard;
  if (h.written && !ordered_before(h.last_write, op))
    hazard = describe(write ? "write-after-write hazard" : "read-after-write hazard", op, role, a, h.last_write, "wrote");
  if (hazard.empty() && write)
    for (const auto& [stream, r] : h.reads)
      if (!ordered_before(r, op)) {
        hazard = describe("write-after-read hazard", op, role, a, r, "read");
        break;
      }
  Touch t{op.stream, op.seq, *op.what, op.stream_name, role};
  if (write) {
    h.written = true;
    h.last_write = std::move(t);
    h.reads.clear();
  } else {
    h.reads[op.stream] = std::move(t);
  }
  return hazard;
}

void forget_allocation(const char* base) {
  std::lock_guard<std::mutex> lock(histories().mutex);
  histories().map.erase(base);
}

}  // namespace pn::cuda::emu::detail

namespace pn::cuda::emu {
void set_hazard_mode(HazardMode m) { detail::g_mode = m; }
HazardMode hazard_mode() { return detail::g_mode; }
}  // namespace pn::cuda::emu
