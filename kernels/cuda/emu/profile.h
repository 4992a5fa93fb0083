// The emulator's memory-traffic profile: per kernel launch, what a GPU's memory system would
// see of it, so that a kernel's efficiency can be judged without a GPU. Included by cuda_emu.h.
//
// What is measured. Kernels compiled with the profile instrumentation (GCC's address-sanitizer
// instrumentation in "calls" mode: every load and store calls __asan_{load,store}N_noabort,
// which profile.cpp implements; see kernels/cuda/README.md, "Memory-traffic profile") report
// each access with its address and size. A warp is 32 consecutive linear thread ids; the
// lanes' k-th accesses to one array (a device allocation or shared array) in one direction
// and width form one warp-level access, as on a GPU whose lanes issue them in step, whatever
// the host compiler made of the branches (see profile_recorder.cpp and the README for the
// limits). Per launch:
//   global memory  32-byte sectors touched per warp-level access against the fewest sectors
//                  the bytes it asked for could occupy (sector efficiency), loads and stores
//                  apart; bytes moved (sectors x 32, no cache assumed) against the compulsory
//                  bytes (distinct bytes read plus distinct bytes written by the launch);
//   shared memory  wavefronts per warp-level access (32 banks of 4 bytes; lanes reading the
//                  same word share it) against the fewest its distinct words need: the
//                  excess is bank conflicts;
//   divergence     warp-level accesses made by fewer lanes than the warp has, and the mean
//                  number of lanes per warp-level access;
//   barriers       __syncthreads rounds, summed over blocks.
// Kernels compiled without the instrumentation show up with no memory figures.
//
// Switches. PN_CUDA_EMU_PROFILE=1 (or set_profiling(true)) profiles every launch of the
// process; at exit a table per launch site goes to stderr (PN_CUDA_EMU_PROFILE=launches: one
// line per launch; PN_CUDA_EMU_PROFILE_FILE=path: to that file instead). The production
// kernels are built twice into penumbra_cuda_emu: plain, and instrumented (the "profile
// twins"); each public entry point hands its call to its twin while profiling is on, so a
// run without the profile executes exactly the uninstrumented code (one branch per call).
#pragma once
#include <cstdint>
#include <string>
#include <typeinfo>
#include <vector>

namespace pn::cuda::emu {

// Warp-level accesses of one memory space and direction.
struct TrafficCounters {
  uint64_t warp_accesses = 0;  // instructions executed by a warp (one per group of lanes)
  uint64_t lane_accesses = 0;
  uint64_t bytes_requested = 0;  // by the lanes, sizes summed
  uint64_t units = 0;            // global: 32-byte sectors touched; shared: wavefronts
  uint64_t min_units = 0;        // the fewest the same accesses could need
  TrafficCounters& operator+=(const TrafficCounters& o);
};

// The profile of one launch, or of several launches of one site added together.
struct LaunchProfile {
  std::string site;   // "elementwise.cu:46 unary": where the launch is written
  std::string scope;  // the ErrorScopes alive at the launch: "relu[9037]"
  unsigned grid[3] = {1, 1, 1}, block[3] = {1, 1, 1};
  uint64_t launches = 0, threads = 0, warps = 0, barriers = 0;
  TrafficCounters global_load, global_store, shared_load, shared_store;
  uint64_t compulsory_read = 0, compulsory_write = 0;  // distinct bytes read / written
  uint64_t divergent_accesses = 0;  // warp-level accesses with fewer lanes than the warp has
  uint64_t other_accesses = 0;      // lane accesses outside device and shared memory (parameters, locals)

  bool instrumented() const;
  uint64_t bytes_moved() const { return 32 * (global_load.units + global_store.units); }
  uint64_t compulsory_bytes() const { return compulsory_read + compulsory_write; }
  // Fractions in [0, 1] (1 when there was nothing to measure).
  double sector_efficiency() const;  // global loads and stores together
  double shared_efficiency() const;  // min wavefronts / wavefronts: 1 = no bank conflicts
  double mean_active_lanes() const;
  void add(const LaunchProfile& o);  // sums counters; keeps site and scope
};

// Whether launches are profiled now (PN_CUDA_EMU_PROFILE at start, then set_profiling).
bool profiling();
void set_profiling(bool on);

// The profiles of the launches that ran while it was alive (on any thread), in the order
// they ran. Synchronise the streams before reading it: queued launches run later.
class ProfileCapture {
 public:
  ProfileCapture();
  ~ProfileCapture();
  ProfileCapture(const ProfileCapture&) = delete;
  ProfileCapture& operator=(const ProfileCapture&) = delete;
  std::vector<LaunchProfile> launches() const;

 private:
  uint64_t first_;
};

// A table of profiles: one line each, with the figures of LaunchProfile and their units.
std::string format_profiles(const std::vector<LaunchProfile>& profiles);

// ---- Profile twins (the production kernels' instrumented copies) -------------------------
using AnyFunction = void (*)();
void register_profile_twin(const char* name, const std::type_info& type, AnyFunction f);
AnyFunction find_profile_twin(const char* name, const std::type_info& type);

// The twin of entry point `name` with function type F, or nullptr.
template <class F>
F profile_twin(const char* name) {
  return reinterpret_cast<F>(find_profile_twin(name, typeid(F)));
}
template <class F>
bool register_twin(const char* name, F f) {
  register_profile_twin(name, typeid(F), reinterpret_cast<AnyFunction>(f));
  return true;
}

}  // namespace pn::cuda::emu
