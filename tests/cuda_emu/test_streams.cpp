// The emulator's streams, events and devices against CUDA's documented semantics, and the
// cross-stream hazard checker against planted bugs: work on streams that nothing orders
// runs out of program order (shuffle) or not at all until waited for (deferred); a read or
// write of memory last touched on another stream without an event or synchronisation in
// between is reported, naming both ops; events, the legacy stream's implicit
// synchronisation and host synchronisation order work and silence it. Runs with
// PN_CUDA_EMU_DEVICES=2 and PN_CUDA_EMU_MEMORY_MB=64 (CTest environment).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "emu_util.h"
#include "kernels/cuda/caching_allocator.h"
#include "kernels/cuda/device.h"
#include "kernels/cuda/emu/device_work.h"
#include "kernels/cuda/launch.h"

using pn::cuda::emu::HazardMode;
using pn::cuda::emu::ScopedStreamPolicy;
using pn::cuda::emu::StreamPolicy;
using pn::test::DeviceArray;

namespace {

__global__ void set_value(float* p, int n, float v) {
  for (int64_t i = pn::cuda::global_index(); i < n; i += pn::cuda::grid_stride()) p[i] = v;
}

__global__ void copy_values(const float* src, float* dst, int n) {
  for (int64_t i = pn::cuda::global_index(); i < n; i += pn::cuda::grid_stride()) dst[i] = src[i];
}

struct Stream {
  cudaStream_t s = nullptr;
  explicit Stream(unsigned flags = cudaStreamNonBlocking) { PN_CUDA_CHECK(cudaStreamCreateWithFlags(&s, flags)); }
  ~Stream() { (void)cudaStreamDestroy(s); }
};

struct Event {
  cudaEvent_t e = nullptr;
  Event() { PN_CUDA_CHECK(cudaEventCreate(&e)); }
  ~Event() { (void)cudaEventDestroy(e); }
};

// The message of the CudaError f throws ("" if none).
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const pn::cuda::CudaError& e) {
    return e.what();
  }
  return "";
}

bool has(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

const int n = 1000;

}  // namespace

TEST_CASE("shuffle runs work of unordered streams out of program order; eager never does") {
  for (StreamPolicy p : {StreamPolicy::Eager, StreamPolicy::Shuffle}) {
    ScopedStreamPolicy scoped(p, 3);
    Stream a, b;
    DeviceArray<float> x(n), y(n);
    pn::cuda::emu::reset_stats();
    for (int i = 0; i < 20; ++i) {
      pn::cuda::launch(set_value, 2, 128, 0, a.s, x.get(), n, static_cast<float>(i));
      pn::cuda::launch(set_value, 2, 128, 0, b.s, y.get(), n, static_cast<float>(-i));
    }
    PN_CUDA_CHECK(cudaDeviceSynchronize());
    CHECK(x.to_host()[n - 1] == 19.0f);  // each stream still runs in its own order
    CHECK(y.to_host()[0] == -19.0f);
    const auto st = pn::cuda::emu::stats();
    INFO("policy " << pn::cuda::emu::stream_policy_name(p));
    CHECK(st.ops_run >= 40);
    if (p == StreamPolicy::Eager) CHECK(st.ops_run_out_of_order == 0);
    else CHECK(st.ops_run_out_of_order > 0);
  }
}

TEST_CASE("deferred: nothing runs until waited for, then everything it depends on does") {
  ScopedStreamPolicy scoped(StreamPolicy::Deferred);
  Stream a;
  DeviceArray<float> x(n);
  pn::cuda::launch(set_value, 2, 128, 0, a.s, x.get(), n, 7.0f);
  CHECK(cudaStreamQuery(a.s) == cudaSuccess);  // the query ran the one pending op (polling ends)
  pn::cuda::launch(set_value, 2, 128, 0, a.s, x.get(), n, 8.0f);
  pn::cuda::launch(set_value, 2, 128, 0, a.s, x.get(), n, 9.0f);
  CHECK(cudaStreamQuery(a.s) == cudaErrorNotReady);  // one of two run: not yet complete
  PN_CUDA_CHECK(cudaStreamSynchronize(a.s));
  CHECK(x.to_host()[0] == 9.0f);
}

TEST_CASE("planted bug: a read on another stream without an event is a hazard, and reads stale data") {
  ScopedStreamPolicy scoped(StreamPolicy::Deferred);
  Stream producer, consumer;
  DeviceArray<float> x(n), y(n);
  pn::cuda::launch(set_value, 2, 128, 0, nullptr, x.get(), n, 1.0f);
  pn::cuda::launch(set_value, 2, 128, 0, nullptr, y.get(), n, 0.0f);
  PN_CUDA_CHECK(cudaDeviceSynchronize());
  // The hazard is found by whichever of the two ops runs second: the consumer's read after
  // an unordered write, or (here, deferred) the producer's write after an unordered read.
  std::vector<float> copied;
  const std::string err = error_of([&] {
    pn::cuda::launch(set_value, 2, 128, 0, producer.s, x.get(), n, 5.0f);
    pn::cuda::launch(copy_values, 2, 128, 0, consumer.s, x.get(), y.get(), n);  // the bug: no event
    PN_CUDA_CHECK(cudaStreamSynchronize(consumer.s));
    copied = y.to_host();
    PN_CUDA_CHECK(cudaDeviceSynchronize());
  });
  INFO(err);
  CHECK(has(err, "write-after-read hazard"));
  CHECK(has(err, "kernel argument 0"));
  CHECK(has(err, "(non-blocking)"));
  CHECK(has(err, "cudaStreamWaitEvent"));
  REQUIRE(copied.size() == static_cast<size_t>(n));
  CHECK(copied[0] == 1.0f);  // the consumer ran first: it copied the old value
  // The fix: an event recorded after the write, waited for by the consumer's stream.
  Event written;
  pn::cuda::launch(set_value, 2, 128, 0, producer.s, x.get(), n, 6.0f);
  PN_CUDA_CHECK(cudaEventRecord(written.e, producer.s));
  PN_CUDA_CHECK(cudaStreamWaitEvent(consumer.s, written.e));
  pn::cuda::launch(copy_values, 2, 128, 0, consumer.s, x.get(), y.get(), n);
  PN_CUDA_CHECK(cudaStreamSynchronize(consumer.s));
  CHECK(y.to_host()[0] == 6.0f);
  PN_CUDA_CHECK(cudaDeviceSynchronize());
}

TEST_CASE("planted bug: unordered writer and reader on two streams, in either order") {
  for (StreamPolicy p : {StreamPolicy::Eager, StreamPolicy::Deferred}) {
    ScopedStreamPolicy scoped(p);
    Stream reader, writer;
    DeviceArray<float> x(n), y(n);
    pn::cuda::launch(set_value, 2, 128, 0, nullptr, x.get(), n, 1.0f);
    PN_CUDA_CHECK(cudaDeviceSynchronize());
    const std::string err = error_of([&] {
      pn::cuda::launch(set_value, 2, 128, 0, writer.s, x.get(), n, 2.0f);
      pn::cuda::launch(copy_values, 2, 128, 0, reader.s, x.get(), y.get(), n);
      PN_CUDA_CHECK(cudaDeviceSynchronize());
    });
    INFO(err);
    // Eager runs the writer first (the reader finds the hazard); deferred drains the streams
    // in the order they were created, so the reader runs first (the writer finds it).
    CHECK((has(err, "write-after-read hazard") || has(err, "read-after-write hazard")));
    PN_CUDA_CHECK(cudaDeviceSynchronize());
  }
}

TEST_CASE("the legacy default stream orders blocking streams, but not non-blocking ones") {
  ScopedStreamPolicy scoped(StreamPolicy::Deferred);
  DeviceArray<float> x(n), y(n);
  {
    Stream blocking(cudaStreamDefault);
    pn::cuda::launch(set_value, 2, 128, 0, nullptr, x.get(), n, 3.0f);
    pn::cuda::launch(copy_values, 2, 128, 0, blocking.s, x.get(), y.get(), n);  // waits for the legacy stream
    PN_CUDA_CHECK(cudaStreamSynchronize(blocking.s));
    CHECK(y.to_host()[5] == 3.0f);
  }
  {
    Stream non_blocking;
    const std::string err = error_of([&] {
      pn::cuda::launch(set_value, 2, 128, 0, nullptr, x.get(), n, 4.0f);
      pn::cuda::launch(copy_values, 2, 128, 0, non_blocking.s, x.get(), y.get(), n);
      PN_CUDA_CHECK(cudaStreamSynchronize(non_blocking.s));
      PN_CUDA_CHECK(cudaDeviceSynchronize());
    });
    INFO(err);
    CHECK(has(err, "hazard"));
    CHECK(has(err, "legacy default stream of device 0"));
  }
}

TEST_CASE("host synchronisation orders what the host enqueues after it") {
  ScopedStreamPolicy scoped(StreamPolicy::Shuffle, 11);
  Stream a, b;
  DeviceArray<float> x(n), y(n);
  pn::cuda::launch(set_value, 2, 128, 0, a.s, x.get(), n, 2.5f);
  PN_CUDA_CHECK(cudaStreamSynchronize(a.s));
  pn::cuda::launch(copy_values, 2, 128, 0, b.s, x.get(), y.get(), n);
  PN_CUDA_CHECK(cudaStreamSynchronize(b.s));
  CHECK(y.to_host()[n / 2] == 2.5f);
}

TEST_CASE("planted bug: freeing with cudaFreeAsync while another stream still reads the block") {
  Stream user, freer;
  float* p = nullptr;
  PN_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&p), n * sizeof(float), user.s));
  DeviceArray<float> out(n);
  pn::cuda::launch(set_value, 2, 128, 0, user.s, p, n, 1.0f);
  pn::cuda::launch(copy_values, 2, 128, 0, user.s, p, out.get(), n);
  PN_CUDA_CHECK(cudaFreeAsync(p, freer.s));  // the bug: freer does not wait for user
  const std::string err = error_of([&] { PN_CUDA_CHECK(cudaDeviceSynchronize()); });
  INFO(err);
  CHECK(!err.empty());
  CHECK((has(err, "hazard") || has(err, "freed")));
}

TEST_CASE("hazard modes: warn prints and goes on, off is silent") {
  Stream a, b;
  DeviceArray<float> x(n), y(n);
  for (HazardMode m : {HazardMode::Warn, HazardMode::Off}) {
    pn::cuda::emu::set_hazard_mode(m);
    pn::cuda::emu::reset_stats();
    pn::cuda::launch(set_value, 2, 128, 0, a.s, x.get(), n, 1.0f);
    pn::cuda::launch(copy_values, 2, 128, 0, b.s, x.get(), y.get(), n);
    CHECK_NOTHROW(PN_CUDA_CHECK(cudaDeviceSynchronize()));
    CHECK(pn::cuda::emu::stats().hazards == (m == HazardMode::Warn ? 1u : 0u));
  }
  pn::cuda::emu::set_hazard_mode(HazardMode::Error);
}

TEST_CASE("events: timing, queries, and waiting for a never-recorded event") {
  ScopedStreamPolicy scoped(StreamPolicy::Deferred);
  Stream a;
  Event start, stop, never;
  DeviceArray<float> x(n);
  PN_CUDA_CHECK(cudaEventRecord(start.e, a.s));
  pn::cuda::launch(set_value, 2, 128, 0, a.s, x.get(), n, 1.0f);
  PN_CUDA_CHECK(cudaEventRecord(stop.e, a.s));
  float ms = -1;
  CHECK(cudaEventElapsedTime(&ms, start.e, stop.e) == cudaErrorNotReady);
  PN_CUDA_CHECK(cudaEventSynchronize(stop.e));
  PN_CUDA_CHECK(cudaEventElapsedTime(&ms, start.e, stop.e));
  CHECK(ms >= 0.0f);
  CHECK(cudaEventQuery(stop.e) == cudaSuccess);
  PN_CUDA_CHECK(cudaStreamWaitEvent(a.s, never.e));  // completes at once
  PN_CUDA_CHECK(cudaStreamSynchronize(a.s));
  cudaEvent_t untimed = nullptr;
  PN_CUDA_CHECK(cudaEventCreateWithFlags(&untimed, cudaEventDisableTiming));
  PN_CUDA_CHECK(cudaEventRecord(untimed, a.s));
  PN_CUDA_CHECK(cudaEventSynchronize(untimed));
  CHECK(cudaEventElapsedTime(&ms, start.e, untimed) == cudaErrorInvalidResourceHandle);
  (void)cudaGetLastError();
  PN_CUDA_CHECK(cudaEventDestroy(untimed));
  CHECK(cudaEventDestroy(untimed) == cudaErrorInvalidResourceHandle);
  (void)cudaGetLastError();
}

TEST_CASE("two devices: memory, streams and kernels each belong to one") {
  int count = 0;
  PN_CUDA_CHECK(cudaGetDeviceCount(&count));
  REQUIRE(count == 2);
  PN_CUDA_CHECK(cudaSetDevice(1));
  DeviceArray<float> on1(n);
  Stream s1;
  PN_CUDA_CHECK(cudaSetDevice(0));
  DeviceArray<float> on0(n);
  cudaPointerAttributes attr{};
  PN_CUDA_CHECK(cudaPointerGetAttributes(&attr, on1.get() + 10));
  CHECK(attr.type == cudaMemoryTypeDevice);
  CHECK(attr.device == 1);
  std::vector<float> host(4);
  PN_CUDA_CHECK(cudaPointerGetAttributes(&attr, host.data()));
  CHECK(attr.type == cudaMemoryTypeUnregistered);
  // A kernel on device 0 given device 1's memory (a missing device guard) is refused.
  std::string err = error_of([&] { pn::cuda::launch(set_value, 2, 128, 0, nullptr, on1.get(), n, 1.0f); });
  INFO(err);
  CHECK(has(err, "cudaErrorIllegalAddress"));
  CHECK(has(err, "memory of device 1, but the work runs on device 0"));
  // ... and so is a launch into device 1's stream while device 0 is current.
  err = error_of([&] { pn::cuda::launch(set_value, 2, 128, 0, s1.s, on1.get(), n, 1.0f); });
  CHECK(has(err, "cudaErrorInvalidResourceHandle"));
  CHECK(has(err, "while device 0 is current"));
  // A host pointer as a kernel argument is refused at the launch.
  err = error_of([&] { pn::cuda::launch(set_value, 2, 128, 0, nullptr, host.data(), 4, 1.0f); });
  CHECK(has(err, "is not device memory"));
  PN_CUDA_CHECK(cudaSetDevice(1));
  pn::cuda::launch(set_value, 2, 128, 0, s1.s, on1.get(), n, 1.5f);
  PN_CUDA_CHECK(cudaStreamSynchronize(s1.s));
  CHECK(on1.to_host()[n - 1] == 1.5f);
  PN_CUDA_CHECK(cudaSetDevice(0));
  CHECK(cudaSetDevice(2) == cudaErrorInvalidDevice);
  (void)cudaGetLastError();
}

TEST_CASE("device memory has a capacity, and too-short or host ranges are refused") {
  size_t free_b = 0, total = 0;
  PN_CUDA_CHECK(cudaMemGetInfo(&free_b, &total));
  CHECK(total == size_t{64} << 20);
  void* p = nullptr;
  CHECK(cudaMalloc(&p, total + 1) == cudaErrorMemoryAllocation);
  CHECK(has(pn::cuda::emu::last_error_detail(), "PN_CUDA_EMU_MEMORY_MB"));
  (void)cudaGetLastError();
  DeviceArray<float> x(n);
  std::vector<float> host(n + 1);
  CHECK(cudaMemcpy(x.get(), host.data(), (n + 1) * sizeof(float), cudaMemcpyHostToDevice) == cudaErrorInvalidValue);
  CHECK(has(pn::cuda::emu::last_error_detail(), "4 byte(s) past the end of its 4000-byte allocation"));
  (void)cudaGetLastError();
  CHECK(cudaMemset(host.data(), 0, 8) == cudaErrorInvalidValue);
  CHECK(has(pn::cuda::emu::last_error_detail(), "is not device memory"));
  (void)cudaGetLastError();
}

TEST_CASE("out of memory: the caching allocator gives back its cache, trims the workspace pool, retries") {
  pn::cuda::CachingAllocator cache(0);
  void* big = cache.allocate(size_t{50} << 20);
  cache.deallocate(big);  // cached, still counted against the 64 MiB device
  const uint64_t trims = pn::cuda::emu::mempool_trims();
  void* other = cache.allocate(size_t{20} << 20);  // 50 + 20 > 64: fails once, then fits
  CHECK(other != nullptr);
  CHECK(cache.stats().device_frees == 1);
  CHECK(pn::cuda::emu::mempool_trims() == trims + 1);
  cache.deallocate(other);
  cache.empty_cache();
}
