#include "autograd/storage.h"

#include <cstdlib>
#include <new>

#include "autograd/cpu_block_cache.h"
#include "autograd/error.h"
#include "autograd/profile.h"

namespace pn {

namespace {
DeviceAllocator* g_cuda_allocator = nullptr;
}

void set_cuda_allocator(DeviceAllocator* a) { g_cuda_allocator = a; }
DeviceAllocator* cuda_allocator() { return g_cuda_allocator; }

Storage::Storage(size_t bytes, Device device) : bytes_(bytes), device_(device) {
  if (profile::enabled()) [[unlikely]] {
    const profile::Stamp t0 = profile::Stamp::now();
    allocate();
    profile::add_alloc(t0.since(), static_cast<double>(bytes));
  } else {
    allocate();
  }
}

void Storage::allocate() {
  if (device_.is_cpu()) {
    data_ = cpu_block_allocate(bytes_);
  } else {
    PN_CHECK(g_cuda_allocator != nullptr,
             "cannot allocate {} bytes on {}: this build has no CUDA backend (or no device)", bytes_,
             device_.str());
    data_ = g_cuda_allocator->allocate(bytes_, device_);
  }
}

Storage::~Storage() {
  if (device_.is_cpu()) cpu_block_free(data_, bytes_);
  else if (g_cuda_allocator) g_cuda_allocator->deallocate(data_, bytes_, device_);
}

}  // namespace pn
