// What the subcommands of gpu_check share: result lines for tools/gpu_check.sh, the device
// timer (CUDA events, median of repetitions after warm-ups), the seeded input values that
// tools/gpu_check/torch_common.py computes identically, raw float32 files for the
// comparison with PyTorch, and a small option parser.
//
// Result lines: one per measurement, "GPU_CHECK kind=<kind> key=value ...", values without
// spaces; the scripts parse every line that starts with "GPU_CHECK ".
#pragma once
// Standard headers before runtime.h: under the emulator it defines CUDA's keywords as macros.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "kernels/cuda/check.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/runtime.h"

namespace pn::gpu_check {

// One result line: add key=value pairs, then print().
class Line {
 public:
  explicit Line(const std::string& kind) : text_("GPU_CHECK kind=" + kind) {}
  Line& add(const std::string& key, const std::string& value);
  Line& add(const std::string& key, const char* value) { return add(key, std::string(value)); }
  Line& add(const std::string& key, double value);
  Line& add(const std::string& key, int64_t value);
  Line& add(const std::string& key, int value) { return add(key, static_cast<int64_t>(value)); }
  Line& add(const std::string& key, size_t value) { return add(key, static_cast<int64_t>(value)); }
  Line& add(const std::string& key, bool value) { return add(key, static_cast<int64_t>(value ? 1 : 0)); }
  void print() const;

 private:
  std::string text_;
};

// The stream all of gpu_check's device work goes to: device 0's one stream, which autograd's
// CUDA backend queues on too (kernels/cuda/device_guard.h). Non-blocking: nothing may use
// the legacy default stream instead (copies here are cudaMemcpyAsync on it, then a sync).
cudaStream_t stream();

// Times device work queued by fn on stream() with CUDA events around it.
class DeviceTimer {
 public:
  DeviceTimer();
  ~DeviceTimer();
  DeviceTimer(const DeviceTimer&) = delete;
  DeviceTimer& operator=(const DeviceTimer&) = delete;
  double milliseconds(const std::function<void()>& fn);
  // Median milliseconds over reps timed runs after `warmup` untimed ones.
  double median_ms(const std::function<void()>& fn, int reps, int warmup);

 private:
  cudaEvent_t start_{}, stop_{};
};

// The input values both sides generate: element i of tensor `seed` is uniform in [-1, 1)
// with 24 random bits. Integer hash on 32-bit words; every multiplier is below 2^31 so
// that PyTorch's int64 arithmetic reproduces it without overflow (torch_common.py).
inline uint32_t hash32(uint32_t seed, uint32_t i) {
  uint32_t x = i * 0x5BD1E995u + seed * 0x1B873593u;
  x ^= x >> 15;
  x *= 0x2C1B3C6Du;
  x ^= x >> 12;
  x *= 0x297A2D39u;
  x ^= x >> 15;
  return x;
}
inline float hash_uniform(uint32_t seed, uint32_t i) {
  return static_cast<float>(hash32(seed, i) >> 8) * (2.0f / 16777216.0f) - 1.0f;
}
// n values (n < 2^32) of tensor `seed`, filled in parallel.
std::vector<float> hash_values(uint32_t seed, int64_t n);

// Raw little-endian float32 file (numpy.fromfile reads it).
void write_raw(const std::string& path, const std::vector<float>& values);

// A device buffer of n floats (cudaMalloc; freed at scope end).
class DeviceFloats {
 public:
  explicit DeviceFloats(int64_t n);
  explicit DeviceFloats(const std::vector<float>& host);
  ~DeviceFloats();
  DeviceFloats(const DeviceFloats&) = delete;
  DeviceFloats& operator=(const DeviceFloats&) = delete;
  float* get() const { return p_; }
  int64_t size() const { return n_; }
  std::vector<float> to_host() const;
  void poison();  // every byte 0xFF (NaN), queued on stream()

 private:
  float* p_ = nullptr;
  int64_t n_ = 0;
};

// A device array of n 16-bit values; from a float one: cast on stream() (nearest even).
template <class H>
class Device16 {
 public:
  explicit Device16(int64_t n) : n_(n) { PN_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&p_), n * sizeof(H))); }
  explicit Device16(const DeviceFloats& f) : Device16(f.size()) { cuda::cast(f.get(), p_, n_, stream()); }
  ~Device16() { (void)cudaFree(p_); }
  Device16(const Device16&) = delete;
  Device16& operator=(const Device16&) = delete;
  H* get() const { return p_; }
  int64_t size() const { return n_; }

 private:
  H* p_ = nullptr;
  int64_t n_;
};

// "--key value" options of one subcommand; every key must be known, with a usage line on error.
class Options {
 public:
  Options(std::string usage, std::map<std::string, std::string> defaults);
  void parse(int argc, char** argv, int first);
  const std::string& str(const std::string& key) const;
  int64_t integer(const std::string& key, int64_t min) const;
  [[noreturn]] void usage(const std::string& problem) const;

 private:
  std::string usage_;
  std::map<std::string, std::string> values_;
};

}  // namespace pn::gpu_check
