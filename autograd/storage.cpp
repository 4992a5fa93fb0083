#include "autograd/storage.h"

#include <cstdlib>
#include <new>

#include "autograd/error.h"

namespace pn {

namespace {
DeviceAllocator* g_cuda_allocator = nullptr;
}

void set_cuda_allocator(DeviceAllocator* a) { g_cuda_allocator = a; }
DeviceAllocator* cuda_allocator() { return g_cuda_allocator; }

Storage::Storage(size_t bytes, Device device) : bytes_(bytes), device_(device) {
  if (device.is_cpu()) {
    size_t rounded = (bytes + 63) / 64 * 64;
    data_ = std::aligned_alloc(64, rounded == 0 ? 64 : rounded);
    if (!data_) throw std::bad_alloc();
  } else {
    PN_CHECK(g_cuda_allocator != nullptr,
             "cannot allocate {} bytes on {}: this build has no CUDA backend (or no device)", bytes,
             device.str());
    data_ = g_cuda_allocator->allocate(bytes, device);
  }
}

Storage::~Storage() {
  if (device_.is_cpu()) std::free(data_);
  else if (g_cuda_allocator) g_cuda_allocator->deallocate(data_, bytes_, device_);
}

}  // namespace pn
