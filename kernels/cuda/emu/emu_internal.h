// What the emulator's parts tell each other; not for kernels or host code.
//   devices.cpp    device count, the calling thread's current device, limits, properties
//   memory.cpp     allocations (guard bytes, device tags, capacity), copies and memsets
//   streams.cpp    streams, events, the op queue and its policy (device_work.h)
//   hazards.cpp    per-allocation access history: the cross-stream hazard checker
//   scheduler.cpp  executing a kernel launch: blocks, fibers, barriers, warp collectives
// Locking: streams.cpp's state mutex is taken before memory.cpp's allocation mutex, never
// the other way round; memory.cpp never calls into streams.cpp while holding its mutex.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "kernels/cuda/emu/cuda_emu.h"

namespace pn::cuda::emu::detail {

// The emulated device: as many SMs as a small GPU slice, so that launchers that size their
// grids by SM count run a few blocks and exercise their grid-stride loops in tests.
constexpr int kEmulatedSMs = 4;
constexpr int kMaxThreadsPerBlock = 1024;
constexpr size_t kMaxSharedBytes = 48 * 1024;
constexpr int kMaxDevices = 16;

// Sets the calling thread's last error and its explanation; returns e.
cudaError_t record_error(cudaError_t e, std::string detail);
// Sets only the explanation (last_error_detail()), for failures of the emulated libraries
// (NCCL, cuBLAS, cuDNN) that have their own status codes and must not touch CUDA's last error.
void record_detail(std::string detail);
// The calling thread's last error as recorded (without the device's pending asynchronous one).
cudaError_t thread_error();

// ---- devices.cpp ----
bool valid_device(int d);
size_t device_memory_capacity();  // bytes per device

// ---- memory.cpp ----
struct AllocationInfo {
  const char* base = nullptr;
  size_t bytes = 0;
  int device = -1;
};
// The live allocation containing p (false: none).
bool find_allocation(const void* p, AllocationInfo* out);
// Every live allocation (all devices), ordered by base address.
std::vector<AllocationInfo> live_allocations();
// "" while every device allocation's guard bytes are intact; otherwise a description of
// the first damaged one (whose guards are then re-armed, so it is reported once).
std::string check_guard_bytes();
// Frees an allocation now (the caller has ordered it after every use): cudaFree's and
// cudaFreeAsync's common end. Returns a description of damaged guard bytes, or "".
std::string release_allocation(const char* base);

// ---- streams.cpp ----
// Runs every op of device d (-1: of every device) and orders later host work after them;
// returns the device's pending asynchronous error (reported once), or cudaSuccess.
cudaError_t synchronize_device(int d);
// The pending asynchronous error of device d, reported (recorded for the calling thread)
// and cleared; cudaSuccess when there is none.
cudaError_t take_async_error(int d);
bool valid_stream(cudaStream_t s);

// ---- hazards.cpp (called by streams.cpp with its mutex held) ----
struct OpRef;  // streams.cpp's view of a running op
// Checks one access of a running op against the allocation's history and records it.
// Returns "" or the hazard's description.
std::string check_and_record_access(const OpRef& op, const AllocationInfo& a, bool write, const std::string& role);
// Drops the history of a freed allocation.
void forget_allocation(const char* base);

}  // namespace pn::cuda::emu::detail
