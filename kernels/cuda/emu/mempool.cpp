// The emulated stream-ordered memory pools (declared at the end of cuda_emu.h): one default
// pool per device holding its attributes, with the CUDA runtime's documented errors
// (cudaErrorInvalidDevice for a device that does not exist, cudaErrorInvalidValue for a NULL
// argument, an unknown pool or attribute, a read-only attribute, or a watermark reset to a
// value other than 0).
#include <atomic>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "kernels/cuda/emu/cuda_emu.h"
#include "kernels/cuda/emu/emu_internal.h"

struct CUmemPoolHandle_st {
  int device = 0;
  uint64_t release_threshold = 0;  // the runtime's default: release memory at every sync
  int reuse[3] = {1, 1, 1};        // the three reuse policies, enabled by default
};

namespace {

using pn::cuda::emu::detail::record_error;

std::mutex g_mutex;
std::map<int, std::unique_ptr<CUmemPoolHandle_st>>& pools() {
  static std::map<int, std::unique_ptr<CUmemPoolHandle_st>> m;
  return m;
}

bool known(cudaMemPool_t p) {
  for (auto& [dev, pool] : pools())
    if (pool.get() == p) return true;
  return false;
}

}  // namespace

cudaError_t cudaDeviceGetDefaultMemPool(cudaMemPool_t* memPool, int device) {
  if (!memPool) return record_error(cudaErrorInvalidValue, "cudaDeviceGetDefaultMemPool: memPool is NULL");
  int count = 0;
  (void)cudaGetDeviceCount(&count);
  if (device < 0 || device >= count)
    return record_error(cudaErrorInvalidDevice, "cudaDeviceGetDefaultMemPool: no device " + std::to_string(device) +
                                                    " (the emulator has " + std::to_string(count) + ")");
  std::lock_guard<std::mutex> lock(g_mutex);
  auto& p = pools()[device];
  if (!p) {
    p = std::make_unique<CUmemPoolHandle_st>();
    p->device = device;
  }
  *memPool = p.get();
  return cudaSuccess;
}

cudaError_t cudaMemPoolSetAttribute(cudaMemPool_t memPool, cudaMemPoolAttr attr, void* value) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (!value || !known(memPool))
    return record_error(cudaErrorInvalidValue, "cudaMemPoolSetAttribute: unknown pool or NULL value");
  switch (attr) {
    case cudaMemPoolReuseFollowEventDependencies:
    case cudaMemPoolReuseAllowOpportunistic:
    case cudaMemPoolReuseAllowInternalDependencies:
      std::memcpy(&memPool->reuse[attr - 1], value, sizeof(int));
      return cudaSuccess;
    case cudaMemPoolAttrReleaseThreshold:
      std::memcpy(&memPool->release_threshold, value, sizeof(uint64_t));
      return cudaSuccess;
    case cudaMemPoolAttrReservedMemHigh:
    case cudaMemPoolAttrUsedMemHigh: {
      uint64_t v = 0;
      std::memcpy(&v, value, sizeof v);
      if (v == 0) return cudaSuccess;  // a reset of the watermark
      return record_error(cudaErrorInvalidValue, "cudaMemPoolSetAttribute: a high watermark can only be reset to 0");
    }
    case cudaMemPoolAttrReservedMemCurrent:
    case cudaMemPoolAttrUsedMemCurrent:
      break;
  }
  return record_error(cudaErrorInvalidValue,
                      "cudaMemPoolSetAttribute: attribute " + std::to_string(attr) + " cannot be set");
}

cudaError_t cudaMemPoolGetAttribute(cudaMemPool_t memPool, cudaMemPoolAttr attr, void* value) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (!value || !known(memPool))
    return record_error(cudaErrorInvalidValue, "cudaMemPoolGetAttribute: unknown pool or NULL value");
  const uint64_t zero = 0;
  switch (attr) {
    case cudaMemPoolReuseFollowEventDependencies:
    case cudaMemPoolReuseAllowOpportunistic:
    case cudaMemPoolReuseAllowInternalDependencies:
      std::memcpy(value, &memPool->reuse[attr - 1], sizeof(int));
      return cudaSuccess;
    case cudaMemPoolAttrReleaseThreshold:
      std::memcpy(value, &memPool->release_threshold, sizeof(uint64_t));
      return cudaSuccess;
    case cudaMemPoolAttrReservedMemCurrent:
    case cudaMemPoolAttrReservedMemHigh:
    case cudaMemPoolAttrUsedMemCurrent:
    case cudaMemPoolAttrUsedMemHigh:
      std::memcpy(value, &zero, sizeof zero);
      return cudaSuccess;
  }
  return record_error(cudaErrorInvalidValue, "cudaMemPoolGetAttribute: unknown attribute " + std::to_string(attr));
}

namespace {
std::atomic<uint64_t> g_trims{0};
}  // namespace

cudaError_t cudaMemPoolTrimTo(cudaMemPool_t memPool, size_t /*minBytesToKeep*/) {
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    if (!known(memPool)) return record_error(cudaErrorInvalidValue, "cudaMemPoolTrimTo: unknown pool");
  }
  ++g_trims;
  return cudaSuccess;
}

namespace pn::cuda::emu {
uint64_t mempool_trims() { return g_trims.load(); }
}  // namespace pn::cuda::emu
