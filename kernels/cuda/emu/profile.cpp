// The memory-traffic profile's settings, store and report (profile.h); the recording itself
// is profile_recorder.cpp. Finished launch profiles are added per site for the exit report
// (PN_CUDA_EMU_PROFILE) and kept one by one while a ProfileCapture is alive (or with
// PN_CUDA_EMU_PROFILE=launches).
#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "kernels/cuda/emu/profile_internal.h"

namespace pn::cuda::emu {

namespace {

enum class ReportMode { None, BySite, Launches };

ReportMode mode_from_env() {
  const char* s = std::getenv("PN_CUDA_EMU_PROFILE");
  if (!s || !*s || std::strcmp(s, "0") == 0) return ReportMode::None;
  if (std::strcmp(s, "launches") == 0) return ReportMode::Launches;
  if (std::strcmp(s, "1") != 0)
    std::fprintf(stderr, "PN_CUDA_EMU_PROFILE=%s: expected 1 (a table per launch site), launches (a row per launch) or 0; "
                 "profiling with a table per launch site\n", s);
  return ReportMode::BySite;
}

struct Store {
  std::mutex mutex;
  ReportMode mode = mode_from_env();
  std::atomic<bool> on{mode != ReportMode::None};
  std::atomic<int> captures{0};
  uint64_t finished = 0;                          // launches stored so far
  std::vector<std::pair<uint64_t, LaunchProfile>> kept;  // (number, profile) while wanted
  std::vector<LaunchProfile> by_site;             // for the exit report
};
Store& store() {
  static auto* s = new Store;  // never destroyed: launches may finish during static destruction
  return *s;
}

struct TwinKey {
  std::string name, type;
  bool operator<(const TwinKey& o) const { return std::tie(name, type) < std::tie(o.name, o.type); }
};
std::map<TwinKey, AnyFunction>& twins() {
  static auto* m = new std::map<TwinKey, AnyFunction>;
  return *m;
}

void exit_report() {
  Store& s = store();
  std::lock_guard<std::mutex> lock(s.mutex);
  FILE* out = stderr;
  const char* path = std::getenv("PN_CUDA_EMU_PROFILE_FILE");
  if (path && *path) out = std::fopen(path, "w");
  if (!out) {
    std::fprintf(stderr, "PN_CUDA_EMU_PROFILE: cannot write %s\n", path);
    return;
  }
  std::vector<LaunchProfile> rows;
  if (s.mode == ReportMode::Launches)
    for (auto& [n, p] : s.kept) rows.push_back(p);
  else
    rows = s.by_site;
  std::fprintf(out, "PN_CUDA_EMU_PROFILE: %" PRIu64 " kernel launches profiled%s\n", s.finished,
               s.mode == ReportMode::Launches ? "" : ", added up per launch site");
  if (!rows.empty()) std::fputs(format_profiles(rows).c_str(), out);
  if (out != stderr) std::fclose(out);
}

[[maybe_unused]] const bool registered_exit_report = [] {
  if (store().mode != ReportMode::None) std::atexit(exit_report);
  return true;
}();

double ratio(uint64_t num, uint64_t den) { return den ? static_cast<double>(num) / static_cast<double>(den) : 1.0; }

std::string dims(const unsigned* d) {
  std::string s = std::to_string(d[0]);
  if (d[1] != 1 || d[2] != 1) s += "x" + std::to_string(d[1]);
  if (d[2] != 1) s += "x" + std::to_string(d[2]);
  return s;
}

}  // namespace

TrafficCounters& TrafficCounters::operator+=(const TrafficCounters& o) {
  warp_accesses += o.warp_accesses;
  lane_accesses += o.lane_accesses;
  bytes_requested += o.bytes_requested;
  units += o.units;
  min_units += o.min_units;
  return *this;
}

bool LaunchProfile::instrumented() const {
  return global_load.warp_accesses + global_store.warp_accesses + shared_load.warp_accesses +
             shared_store.warp_accesses + other_accesses >
         0;
}
double LaunchProfile::sector_efficiency() const {
  return ratio(global_load.min_units + global_store.min_units, global_load.units + global_store.units);
}
double LaunchProfile::shared_efficiency() const {
  return ratio(shared_load.min_units + shared_store.min_units, shared_load.units + shared_store.units);
}
double LaunchProfile::mean_active_lanes() const {
  const uint64_t w = global_load.warp_accesses + global_store.warp_accesses + shared_load.warp_accesses +
                     shared_store.warp_accesses;
  const uint64_t l = global_load.lane_accesses + global_store.lane_accesses + shared_load.lane_accesses +
                     shared_store.lane_accesses;
  return w ? static_cast<double>(l) / static_cast<double>(w) : 0.0;
}
void LaunchProfile::add(const LaunchProfile& o) {
  launches += o.launches, threads += o.threads, warps += o.warps, barriers += o.barriers;
  global_load += o.global_load, global_store += o.global_store;
  shared_load += o.shared_load, shared_store += o.shared_store;
  compulsory_read += o.compulsory_read, compulsory_write += o.compulsory_write;
  divergent_accesses += o.divergent_accesses, other_accesses += o.other_accesses;
}

bool profiling() { return store().on.load(std::memory_order_relaxed); }
void set_profiling(bool on) { store().on.store(on, std::memory_order_relaxed); }

ProfileCapture::ProfileCapture() {
  Store& s = store();
  std::lock_guard<std::mutex> lock(s.mutex);
  first_ = s.finished;
  ++s.captures;
}

ProfileCapture::~ProfileCapture() {
  Store& s = store();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (--s.captures == 0 && s.mode != ReportMode::Launches) s.kept.clear();
}

std::vector<LaunchProfile> ProfileCapture::launches() const {
  Store& s = store();
  std::lock_guard<std::mutex> lock(s.mutex);
  std::vector<LaunchProfile> out;
  for (const auto& [n, p] : s.kept)
    if (n >= first_) out.push_back(p);
  return out;
}

std::string format_profiles(const std::vector<LaunchProfile>& profiles) {
  std::string s;
  char line[512];
  std::snprintf(line, sizeof line, "%-34s %-26s %6s %9s %7s %7s %7s %9s %10s %6s %6s %6s %8s %10s\n", "launch site",
                "scope", "count", "grid", "block", "ld eff", "st eff", "moved MB", "moved/min", "smem", "diverg", "lanes",
                "barriers", "global acc");
  s += line;
  for (const LaunchProfile& p : profiles) {
    const std::string scope = p.scope.size() > 26 ? p.scope.substr(0, 23) + "..." : p.scope;
    if (!p.instrumented()) {
      std::snprintf(line, sizeof line, "%-34s %-26s %6" PRIu64 " %9s %7s  (not instrumented: no memory figures)\n",
                    p.site.c_str(), scope.c_str(), p.launches, dims(p.grid).c_str(), dims(p.block).c_str());
      s += line;
      continue;
    }
    const uint64_t warp_accesses = p.global_load.warp_accesses + p.global_store.warp_accesses +
                                   p.shared_load.warp_accesses + p.shared_store.warp_accesses;
    std::snprintf(line, sizeof line,
                  "%-34s %-26s %6" PRIu64 " %9s %7s %6.1f%% %6.1f%% %9.3f %9.2fx %5.2fx %5.1f%% %6.1f %8" PRIu64
                  " %10" PRIu64 "\n",
                  p.site.c_str(), scope.c_str(), p.launches, dims(p.grid).c_str(), dims(p.block).c_str(),
                  100.0 * ratio(p.global_load.min_units, p.global_load.units),
                  100.0 * ratio(p.global_store.min_units, p.global_store.units), p.bytes_moved() / 1e6,
                  ratio(p.bytes_moved(), p.compulsory_bytes()),
                  ratio(p.shared_load.units + p.shared_store.units, p.shared_load.min_units + p.shared_store.min_units),
                  100.0 * ratio(p.divergent_accesses, warp_accesses ? warp_accesses : 1) * (warp_accesses ? 1 : 0),
                  p.mean_active_lanes(), p.barriers, p.global_load.warp_accesses + p.global_store.warp_accesses);
    s += line;
  }
  s += "  ld/st eff: fewest 32-byte sectors / sectors touched per warp access; moved/min: sectors x 32 bytes /\n"
       "  distinct bytes read + written; smem: wavefronts / fewest (1.00x = no bank conflicts); diverg: warp\n"
       "  accesses with lanes missing; lanes: mean lanes per warp access; global acc: warp-level global\n"
       "  loads and stores\n";
  return s;
}

void register_profile_twin(const char* name, const std::type_info& type, AnyFunction f) {
  AnyFunction& slot = twins()[TwinKey{name, type.name()}];
  if (slot && slot != f) {  // two entry points of one signature (say, T not in it) under one name
    std::fprintf(stderr, "cuda emulator: two profile twins registered as '%s' with one signature; give them "
                 "distinct names in PN_PROFILE_DISPATCH and PN_PROFILE_TWIN\n", name);
    std::abort();
  }
  slot = f;
}

AnyFunction find_profile_twin(const char* name, const std::type_info& type) {
  auto it = twins().find(TwinKey{name, type.name()});
  return it == twins().end() ? nullptr : it->second;
}

namespace detail {

void store_profile(LaunchProfile p) {
  Store& s = store();
  std::lock_guard<std::mutex> lock(s.mutex);
  const uint64_t n = s.finished++;
  if (s.mode != ReportMode::None && s.mode != ReportMode::Launches) {
    auto it = std::find_if(s.by_site.begin(), s.by_site.end(), [&p](const LaunchProfile& q) {
      return q.site == p.site && std::memcmp(q.block, p.block, sizeof q.block) == 0;
    });
    if (it == s.by_site.end()) s.by_site.push_back(p);
    else it->add(p);
  }
  if (s.captures > 0 || s.mode == ReportMode::Launches) s.kept.emplace_back(n, std::move(p));
}

std::string site_label(const LaunchSite& site) {
  std::string s;
  if (site.file) {
    const char* base = std::strrchr(site.file, '/');
    s = base ? base + 1 : site.file;
    if (site.line > 0) s += ":" + std::to_string(site.line);
  }
  if (site.function) {
    std::string fn = site.function;  // without the namespaces of a template's arguments
    for (const char* noise : {"pn::cuda::abi_emu_twin::", "pn::cuda::abi_emu::", "<unnamed>::"})
      for (size_t at; (at = fn.find(noise)) != std::string::npos;) fn.erase(at, std::strlen(noise));
    s += (s.empty() ? "" : " ") + fn;
  }
  return s.empty() ? "(unknown site)" : s;
}

std::string scope_of(const std::string& what) {
  const size_t at = what.find(" in ");
  return at == std::string::npos ? "" : what.substr(at + 4);
}

}  // namespace detail
}  // namespace pn::cuda::emu
