// Emulated copies and memsets, queued as device work (device_work.h) with the host-side
// behaviour CUDA documents ("API synchronization behavior" in the CUDA runtime API):
//  - host to device (host memory is pageable here): the source is staged when the call is
//    made, so the caller may reuse it at once; cudaMemcpy first synchronises its stream;
//  - device to host: the call returns once the copy has completed (it waits for it and for
//    everything queued before it on the stream);
//  - device to device: queued, no host synchronisation;
//  - memsets: queued.
// cudaMemcpy and cudaMemset use the legacy default stream of the current device.
#include <memory>
#include <string>
#include <vector>

#include "kernels/cuda/emu/device_work.h"
#include "kernels/cuda/emu/emu_internal.h"

namespace pn::cuda::emu {

namespace {

bool is_device(const void* p) { return p && detail::find_allocation(p, nullptr); }

// cudaMemcpyDefault resolved from where the pointers are (unified addressing).
cudaMemcpyKind resolve(cudaMemcpyKind kind, const void* dst, const void* src) {
  if (kind != cudaMemcpyDefault) return kind;
  const bool d = is_device(dst), s = is_device(src);
  return d ? (s ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice)
           : (s ? cudaMemcpyDeviceToHost : cudaMemcpyHostToHost);
}

cudaError_t copy(const char* call, void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t s,
                 bool async) {
  if (kind < cudaMemcpyHostToHost || kind > cudaMemcpyDefault)
    return detail::record_error(cudaErrorInvalidMemcpyDirection, std::string(call) + ": invalid direction");
  if (bytes == 0) return cudaSuccess;
  kind = resolve(kind, dst, src);
  const std::string what = std::string(call) + "(" + std::to_string(bytes) + " bytes)";
  switch (kind) {
    case cudaMemcpyHostToHost:
      std::memcpy(dst, src, bytes);
      return cudaSuccess;
    case cudaMemcpyHostToDevice: {
      if (!async)
        if (cudaError_t e = detail::synchronize_stream(s); e != cudaSuccess) return e;
      auto staged = std::make_shared<std::vector<char>>(static_cast<const char*>(src),
                                                        static_cast<const char*>(src) + bytes);
      return detail::enqueue(s, what + " host to device", {{dst, bytes, true, "destination"}},
                             [dst, staged](std::string&) {
                               std::memcpy(dst, staged->data(), staged->size());
                               return cudaSuccess;
                             });
    }
    case cudaMemcpyDeviceToHost: {
      cudaError_t e = detail::enqueue(s, what + " device to host", {{src, bytes, false, "source"}},
                                      [dst, src, bytes](std::string&) {
                                        std::memcpy(dst, src, bytes);
                                        return cudaSuccess;
                                      });
      return e != cudaSuccess ? e : detail::synchronize_stream(s);
    }
    default:  // device to device, on any devices (unified addressing)
      return detail::enqueue(s, what + " device to device", {{src, bytes, false, "source"}, {dst, bytes, true, "destination"}},
                             [dst, src, bytes](std::string&) {
                               std::memmove(dst, src, bytes);
                               return cudaSuccess;
                             });
  }
}

cudaError_t set(const char* call, void* p, int value, size_t bytes, cudaStream_t s) {
  if (bytes == 0) return cudaSuccess;
  return detail::enqueue(s, std::string(call) + "(" + std::to_string(bytes) + " bytes)", {{p, bytes, true, "destination"}},
                         [p, value, bytes](std::string&) {
                           std::memset(p, value, bytes);
                           return cudaSuccess;
                         });
}

}  // namespace

}  // namespace pn::cuda::emu

namespace emu = pn::cuda::emu;

cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  return emu::copy("cudaMemcpy", dst, src, bytes, kind, nullptr, false);
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t s) {
  return emu::copy("cudaMemcpyAsync", dst, src, bytes, kind, s, true);
}

cudaError_t cudaMemset(void* p, int value, size_t bytes) { return emu::set("cudaMemset", p, value, bytes, nullptr); }

cudaError_t cudaMemsetAsync(void* p, int value, size_t bytes, cudaStream_t s) {
  return emu::set("cudaMemsetAsync", p, value, bytes, s);
}
