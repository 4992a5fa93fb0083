// Helpers for the emulated-NCCL suites: device buffers on a chosen emulated device, the host
// reference of each reduction (NCCL's definitions, ranks in order, as the emulator computes
// them, so results must match bit for bit), per-rank threads, and scoped environment
// variables. Tests that need several emulated devices are marked with kNeedsTwoDevices: they
// are reported as skipped where the emulator has fewer (PN_CUDA_EMU_DEVICES).
#pragma once
#include <doctest/doctest.h>
#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "kernels/cuda/check.h"
#include "kernels/cuda/nccl_api.h"
#include "kernels/cuda/runtime.h"

namespace pn::test {

inline int emulated_devices() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess ? n : 0;
}
#define PN_NEEDS_TWO_DEVICES doctest::skip(::pn::test::emulated_devices() < 2)

// Runs fn with `device` current, then restores the caller's device.
template <class F>
void on_device(int device, F fn) {
  int old = 0;
  PN_CUDA_CHECK(cudaGetDevice(&old));
  PN_CUDA_CHECK(cudaSetDevice(device));
  fn();
  PN_CUDA_CHECK(cudaSetDevice(old));
}

// A device allocation of n elements on `device` (RAII). Copies run on its device's legacy
// default stream; an upload is waited for (cudaDeviceSynchronize), so that work on any
// stream of the device may read it.
template <class T>
class DeviceBuffer {
 public:
  DeviceBuffer(int device, size_t n) : device_(device), n_(n) {
    on_device(device_, [&] { PN_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&p_), bytes())); });
  }
  DeviceBuffer(int device, const std::vector<T>& host) : DeviceBuffer(device, host.size()) { upload(host); }
  ~DeviceBuffer() {
    int old = 0;
    if (cudaGetDevice(&old) == cudaSuccess && cudaSetDevice(device_) == cudaSuccess) {
      (void)cudaFree(p_);
      (void)cudaSetDevice(old);
    }
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  T* get() const { return p_; }
  size_t bytes() const { return n_ * sizeof(T); }
  void upload(const std::vector<T>& host) {
    on_device(device_, [&] {
      PN_CUDA_CHECK(cudaMemcpy(p_, host.data(), bytes(), cudaMemcpyHostToDevice));
      PN_CUDA_CHECK(cudaDeviceSynchronize());
    });
  }
  std::vector<T> download() const {
    std::vector<T> h(n_);
    on_device(device_, [&] { PN_CUDA_CHECK(cudaMemcpy(h.data(), p_, bytes(), cudaMemcpyDeviceToHost)); });
    return h;
  }

 private:
  int device_;
  T* p_ = nullptr;
  size_t n_;
};

// Rank r's input: n values from a seed of its own (integers stay small enough to sum).
template <class T>
std::vector<T> rank_input(size_t n, int rank, uint64_t salt = 0) {
  std::mt19937_64 rng(1000 + 17 * static_cast<uint64_t>(rank) + salt);
  std::vector<T> v(n);
  if constexpr (std::is_floating_point_v<T>) {
    std::uniform_real_distribution<double> u(-3.0, 3.0);
    for (T& x : v) x = static_cast<T>(u(rng));
  } else {
    std::uniform_int_distribution<int> u(-100, 100);
    for (T& x : v) x = static_cast<T>(u(rng));
  }
  return v;
}

// NCCL's reduction of in[0..ranks) element-wise, ranks in order: fmax/fmin for floating
// max/min; avg = sum of x * (1/ranks) for floating types, sum / ranks for integers.
template <class T>
std::vector<T> host_reduce(const std::vector<std::vector<T>>& in, ncclRedOp_t op) {
  const int ranks = static_cast<int>(in.size());
  std::vector<T> out(in[0].size());
  for (size_t i = 0; i < out.size(); ++i) {
    if constexpr (std::is_floating_point_v<T>) {
      const T scale = static_cast<T>(1.0 / ranks);
      T acc = op == ncclAvg ? in[0][i] * scale : in[0][i];
      for (int r = 1; r < ranks; ++r) {
        const T x = in[r][i];
        if (op == ncclSum) acc = acc + x;
        if (op == ncclProd) acc = acc * x;
        if (op == ncclMax) acc = std::fmax(acc, x);
        if (op == ncclMin) acc = std::fmin(acc, x);
        if (op == ncclAvg) acc = acc + x * scale;
      }
      out[i] = acc;
    } else {
      int64_t acc = in[0][i];
      for (int r = 1; r < ranks; ++r) {
        const int64_t x = in[r][i];
        if (op == ncclSum || op == ncclAvg) acc += x;
        if (op == ncclProd) acc *= x;
        if (op == ncclMax) acc = std::max(acc, x);
        if (op == ncclMin) acc = std::min(acc, x);
      }
      out[i] = static_cast<T>(op == ncclAvg ? static_cast<T>(acc) / static_cast<T>(ranks) : acc);
    }
  }
  return out;
}

// Elements that differ in their bits (exact comparison, NaN-safe).
template <class T>
size_t count_differences(const std::vector<T>& a, const std::vector<T>& b) {
  REQUIRE(a.size() == b.size());
  size_t bad = 0;
  for (size_t i = 0; i < a.size(); ++i) bad += std::memcmp(&a[i], &b[i], sizeof(T)) != 0;
  return bad;
}

// Runs body(rank) on one thread per rank, each with that rank's device current.
inline void per_rank_threads(int ranks, const std::function<void(int)>& body) {
  std::vector<std::thread> threads;
  for (int r = 0; r < ranks; ++r)
    threads.emplace_back([r, &body] {
      PN_CUDA_CHECK(cudaSetDevice(r));
      body(r);
    });
  for (std::thread& t : threads) t.join();
}

// Sets an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    const char* old = getenv(name);
    had_ = old != nullptr;
    if (had_) old_ = old;
    setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (had_)
      setenv(name_.c_str(), old_.c_str(), 1);
    else
      unsetenv(name_.c_str());
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_, old_;
  bool had_ = false;
};

inline bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace pn::test
