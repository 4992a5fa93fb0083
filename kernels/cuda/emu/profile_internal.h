// What the scheduler tells the memory-traffic profile (profile.h) about a launch it runs,
// and what the recorder hands the profile's store. Not for kernels or host code.
// The scheduler calls, on the thread that runs a launch that was submitted while profiling()
// (and for no other launch):
//   profile_launch_begin   once, before the first block;
//   profile_block_begin    at every block's start, profile_block_end at its end;
//   profile_shared         for every shared array of the launch, when it is allocated;
//   profile_barrier        at every __syncthreads round released;
//   profile_launch_end     once, after the last block (or the failure).
// Between begin and end, the instrumentation hooks (__asan_*_noabort, profile_recorder.cpp)
// record the running emulated thread's accesses.
#pragma once
#include <cstddef>
#include <string>

#include "kernels/cuda/emu/cuda_emu.h"
#include "kernels/cuda/emu/profile.h"

namespace pn::cuda::emu::detail {

void profile_launch_begin(const std::string& what, const LaunchSite& site, dim3 grid, dim3 block,
                          const void* dynamic_shared, size_t dynamic_bytes);
void profile_block_begin();
void profile_shared(const void* p, size_t bytes);
void profile_barrier();
void profile_block_end();
void profile_launch_end();

// One access of the running emulated thread, reported by emulator code that is not
// instrumented (the emulated wmma's tile loads and stores); nothing while not profiling.
void profile_access(const void* p, size_t bytes, bool write);

// The store of finished profiles (profile.cpp).
void store_profile(LaunchProfile p);

// "elementwise.cu:46 unary" from a launch site; "" parts are left out.
std::string site_label(const LaunchSite& site);
// The scope part of a launch description ("kernel launch, grid ... in relu[9037]" -> "relu[9037]").
std::string scope_of(const std::string& what);

}  // namespace pn::cuda::emu::detail
