// The emulated runtime API: device memory is host memory, one malloc per cudaMalloc so that
// AddressSanitizer puts its redzones right at the edges of each allocation. Without ASan,
// each allocation gets guard bytes on both sides instead, checked after every launch and at
// cudaFree. Fresh allocations are filled with NaN bytes (CUDA does not zero them either).
// Copies and memsets check that the "device" side lies inside one allocation, which catches
// host pointers passed where device pointers belong. Streams are serial: every call runs
// to completion before it returns. There is one device.
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "kernels/cuda/emu/cuda_emu.h"
#include "kernels/cuda/emu/emu_internal.h"

struct CUstream_st {
  int id;
};

namespace pn::cuda::emu {

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr size_t kGuard = 0;  // ASan's redzones do the job, and better (reads too, at once)
#else
constexpr size_t kGuard = 256;  // a multiple of the 256-byte alignment cudaMalloc promises
#endif
constexpr size_t kAlign = 256;
constexpr unsigned char kGuardByte = 0xA5;
constexpr unsigned char kPoison = 0xFF;

struct Allocation {
  char* raw;
  size_t bytes;
};

std::mutex g_mutex;
std::map<const char*, Allocation>& allocations() {  // keyed by the pointer handed out
  static std::map<const char*, Allocation> m;
  return m;
}
std::set<CUstream_st*>& streams() {
  static std::set<CUstream_st*> s;
  return s;
}
thread_local cudaError_t t_last_error = cudaSuccess;
thread_local std::string t_last_detail;

std::string hex(const void* p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%p", p);
  return buf;
}

// The first damaged guard byte of an allocation as "before"/"after" + offset, or "".
std::string damaged_guard(const char* user, const Allocation& a) {
  for (size_t i = 0; i < kGuard; ++i) {
    if (static_cast<unsigned char>(a.raw[kGuard - 1 - i]) != kGuardByte)
      return std::to_string(i + 1) + " byte(s) before its start";
    if (static_cast<unsigned char>(user[a.bytes + i]) != kGuardByte)
      return "byte " + std::to_string(i) + " past its end";
  }
  return "";
}

void arm_guards(const char* user, const Allocation& a) {
  std::memset(a.raw, kGuardByte, kGuard);
  std::memset(const_cast<char*>(user) + a.bytes, kGuardByte, kGuard);
}

// Whether [p, p + n) lies inside one live allocation (callers hold g_mutex).
bool is_device_range(const void* p, size_t n) {
  const char* c = static_cast<const char*>(p);
  auto& m = allocations();
  auto it = m.upper_bound(c);
  if (it == m.begin()) return false;
  --it;
  return c >= it->first && c + n <= it->first + it->second.bytes;
}

cudaError_t check_range(const char* call, const char* role, const void* p, size_t n) {
  if (is_device_range(p, n)) return cudaSuccess;
  return detail::record_error(cudaErrorInvalidValue, std::string(call) + ": " + role + " range [" + hex(p) + ", +" +
                                                         std::to_string(n) +
                                                         ") is not inside one cudaMalloc allocation");
}

}  // namespace

namespace detail {

cudaError_t record_error(cudaError_t e, std::string what) {
  t_last_error = e;
  t_last_detail = std::move(what);
  return e;
}

void record_detail(std::string what) { t_last_detail = std::move(what); }

std::string check_guard_bytes() {
  if (kGuard == 0) return "";
  std::lock_guard<std::mutex> lock(g_mutex);
  for (auto& [user, a] : allocations()) {
    std::string where = damaged_guard(user, a);
    if (where.empty()) continue;
    arm_guards(user, a);
    return "out-of-bounds write: the guard bytes of the " + std::to_string(a.bytes) + "-byte device allocation at " +
           hex(user) + " were overwritten, " + where;
  }
  return "";
}

std::string describe_range(const void* p, size_t n) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (is_device_range(p, n)) return "";
  return "range [" + hex(p) + ", +" + std::to_string(n) + ") is not inside one cudaMalloc allocation";
}

bool valid_stream(cudaStream_t s) {
  std::lock_guard<std::mutex> lock(g_mutex);
  return s == nullptr || streams().count(s) != 0;
}

}  // namespace detail

bool guard_bytes_enabled() { return kGuard != 0; }
const char* last_error_detail() { return t_last_detail.c_str(); }

}  // namespace pn::cuda::emu

using pn::cuda::emu::detail::record_error;
namespace emu = pn::cuda::emu;

cudaError_t cudaMalloc(void** p, size_t bytes) {
  if (!p) return record_error(cudaErrorInvalidValue, "cudaMalloc: null output pointer");
  *p = nullptr;
  if (bytes == 0) return cudaSuccess;
  void* raw = nullptr;
  if (posix_memalign(&raw, emu::kAlign, bytes + 2 * emu::kGuard) != 0)
    return record_error(cudaErrorMemoryAllocation, "cudaMalloc: out of host memory for " + std::to_string(bytes) + " bytes");
  char* user = static_cast<char*>(raw) + emu::kGuard;
  emu::Allocation a{static_cast<char*>(raw), bytes};
  emu::arm_guards(user, a);
  std::memset(user, emu::kPoison, bytes);
  std::lock_guard<std::mutex> lock(emu::g_mutex);
  emu::allocations().emplace(user, a);
  *p = user;
  return cudaSuccess;
}

cudaError_t cudaFree(void* p) {
  if (!p) return cudaSuccess;
  std::string damage;
  {
    std::lock_guard<std::mutex> lock(emu::g_mutex);
    auto& m = emu::allocations();
    auto it = m.find(static_cast<const char*>(p));
    if (it == m.end())
      return record_error(cudaErrorInvalidValue, "cudaFree(" + emu::hex(p) + "): not a live cudaMalloc pointer");
    damage = emu::damaged_guard(it->first, it->second);
    if (!damage.empty())
      damage = "out-of-bounds write found at cudaFree: the " + std::to_string(it->second.bytes) +
               "-byte allocation at " + emu::hex(p) + " had its guard bytes overwritten, " + damage;
    std::free(it->second.raw);
    m.erase(it);
  }
  return damage.empty() ? cudaSuccess : record_error(cudaErrorIllegalAddress, damage);
}

cudaError_t cudaMallocAsync(void** p, size_t bytes, cudaStream_t s) {
  if (!emu::detail::valid_stream(s)) return record_error(cudaErrorInvalidResourceHandle, "cudaMallocAsync: bad stream");
  return cudaMalloc(p, bytes);
}

cudaError_t cudaFreeAsync(void* p, cudaStream_t s) {
  if (!emu::detail::valid_stream(s)) return record_error(cudaErrorInvalidResourceHandle, "cudaFreeAsync: bad stream");
  return cudaFree(p);
}

cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  if (kind < cudaMemcpyHostToHost || kind > cudaMemcpyDefault)
    return record_error(cudaErrorInvalidMemcpyDirection, "cudaMemcpy: invalid direction");
  if (bytes == 0) return cudaSuccess;
  {
    std::lock_guard<std::mutex> lock(emu::g_mutex);
    const bool dst_dev = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
    const bool src_dev = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
    if (dst_dev)
      if (cudaError_t e = emu::check_range("cudaMemcpy", "destination", dst, bytes); e != cudaSuccess) return e;
    if (src_dev)
      if (cudaError_t e = emu::check_range("cudaMemcpy", "source", src, bytes); e != cudaSuccess) return e;
  }
  std::memcpy(dst, src, bytes);
  return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t s) {
  if (!emu::detail::valid_stream(s)) return record_error(cudaErrorInvalidResourceHandle, "cudaMemcpyAsync: bad stream");
  return cudaMemcpy(dst, src, bytes, kind);
}

cudaError_t cudaMemset(void* p, int value, size_t bytes) {
  if (bytes == 0) return cudaSuccess;
  {
    std::lock_guard<std::mutex> lock(emu::g_mutex);
    if (cudaError_t e = emu::check_range("cudaMemset", "destination", p, bytes); e != cudaSuccess) return e;
  }
  std::memset(p, value, bytes);
  return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void* p, int value, size_t bytes, cudaStream_t s) {
  if (!emu::detail::valid_stream(s)) return record_error(cudaErrorInvalidResourceHandle, "cudaMemsetAsync: bad stream");
  return cudaMemset(p, value, bytes);
}

cudaError_t cudaStreamCreate(cudaStream_t* s) {
  static int next_id = 1;
  std::lock_guard<std::mutex> lock(emu::g_mutex);
  *s = new CUstream_st{next_id++};
  emu::streams().insert(*s);
  return cudaSuccess;
}

cudaError_t cudaStreamDestroy(cudaStream_t s) {
  std::lock_guard<std::mutex> lock(emu::g_mutex);
  if (!s || emu::streams().erase(s) == 0)
    return record_error(cudaErrorInvalidResourceHandle, "cudaStreamDestroy: unknown stream");
  delete s;
  return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t s) {
  return emu::detail::valid_stream(s) ? cudaSuccess
                                       : record_error(cudaErrorInvalidResourceHandle, "cudaStreamSynchronize: bad stream");
}

cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }

cudaError_t cudaGetDeviceCount(int* n) {
  *n = 1;
  return cudaSuccess;
}

cudaError_t cudaGetDevice(int* d) {
  *d = 0;
  return cudaSuccess;
}

cudaError_t cudaSetDevice(int d) {
  return d == 0 ? cudaSuccess : record_error(cudaErrorInvalidDevice, "cudaSetDevice: the emulator has one device, 0");
}

cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device) {
  if (device != 0) return record_error(cudaErrorInvalidDevice, "cudaDeviceGetAttribute: no such device");
  switch (attr) {
    case cudaDevAttrMaxThreadsPerBlock: *value = emu::detail::kMaxThreadsPerBlock; return cudaSuccess;
    case cudaDevAttrMaxSharedMemoryPerBlock: *value = static_cast<int>(emu::detail::kMaxSharedBytes); return cudaSuccess;
    case cudaDevAttrWarpSize: *value = warpSize; return cudaSuccess;
    case cudaDevAttrMultiProcessorCount: *value = emu::detail::kEmulatedSMs; return cudaSuccess;
  }
  return record_error(cudaErrorInvalidValue, "cudaDeviceGetAttribute: attribute not emulated");
}

cudaError_t cudaGetLastError() {
  cudaError_t e = emu::t_last_error;
  emu::t_last_error = cudaSuccess;
  return e;
}

cudaError_t cudaPeekAtLastError() { return emu::t_last_error; }

const char* cudaGetErrorName(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidMemcpyDirection: return "cudaErrorInvalidMemcpyDirection";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorInvalidResourceHandle: return "cudaErrorInvalidResourceHandle";
    case cudaErrorIllegalAddress: return "cudaErrorIllegalAddress";
    case cudaErrorAssert: return "cudaErrorAssert";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
  }
  return "cudaErrorUnknown";
}

const char* cudaGetErrorString(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidMemcpyDirection: return "invalid copy direction for memcpy";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorIllegalAddress: return "an illegal memory access was encountered";
    case cudaErrorAssert: return "device-side assert triggered";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
  }
  return "unknown error";
}
