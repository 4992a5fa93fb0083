// Storage: a reference-counted block of memory on one device. Tensors share it.
// CPU memory is 64-byte aligned; other devices plug in through the allocator hooks.
#pragma once
#include <cstddef>
#include <memory>

#include "autograd/dtype.h"

namespace pn {

struct DeviceAllocator {
  virtual ~DeviceAllocator() = default;
  virtual void* allocate(size_t bytes, Device d) = 0;
  virtual void deallocate(void* p, size_t bytes, Device d) = 0;
  // Copies between any two devices this allocator knows (host <-> device, device <-> device).
  virtual void copy(void* dst, Device dd, const void* src, Device sd, size_t bytes) = 0;
  virtual void memset_zero(void* p, size_t bytes, Device d) = 0;
};

// The CUDA backend registers its allocator here; without one, CUDA tensors are an error.
void set_cuda_allocator(DeviceAllocator* a);
DeviceAllocator* cuda_allocator();

class Storage {
 public:
  Storage(size_t bytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() { return data_; }
  const void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  Device device() const { return device_; }

 private:
  void allocate();  // sets data_ to bytes_ on device_
  void* data_ = nullptr;
  size_t bytes_ = 0;
  Device device_;
};

}  // namespace pn
