// Two planted kernel bugs the emulator must expose, so that a kernel passing its emu test
// is known to be free of them:
//  - an out-of-bounds write one element past a device allocation: caught by the guard
//    bytes checked after every launch (plain builds: the launch throws CudaError), or by
//    AddressSanitizer's redzones as the write happens (sanitizer builds: the process dies
//    with a heap-buffer-overflow report, so the kernel is run in a forked child);
//  - a missing __syncthreads between writing and reading shared memory: threads run until
//    their next barrier, so a reader overtakes its writer and reads the NaN/all-ones bytes
//    shared memory is refilled with at every block start; under each schedule the result
//    then differs from the correct one, while the same kernel with the barrier is right.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "emu_util.h"
#include "kernels/cuda/device.h"
#include "kernels/cuda/launch.h"

using pn::cuda::emu::Schedule;
using pn::test::DeviceArray;

namespace {

// y[i] = 2 x[i] for i < n, and (the bug) thread n - 1 also writes y[n].
__global__ void double_with_oob_write(const float* x, float* y, int n) {
  for (int64_t i = pn::cuda::global_index(); i < n; i += pn::cuda::grid_stride()) {
    y[i] = 2 * x[i];
    if (i == n - 1) y[i + 1] = 0;  // planted: one past the end
  }
}

__global__ void double_in_bounds(const float* x, float* y, int n) {
  for (int64_t i = pn::cuda::global_index(); i < n; i += pn::cuda::grid_stride()) y[i] = 2 * x[i];
}

// Reverses each block's slice of x through shared memory; with_barrier = false is the bug.
template <bool with_barrier>
__global__ void reverse_in_block(const float* x, float* y, int n) {
  PN_SHARED(float[256], tile);
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  const int t = static_cast<int>(threadIdx.x);
  const int base = static_cast<int>(blockIdx.x * blockDim.x);
  const int len = n - base < static_cast<int>(blockDim.x) ? n - base : static_cast<int>(blockDim.x);
  if (t < len) tile[t] = x[i];
  if (with_barrier) __syncthreads();
  if (t < len) y[i] = tile[len - 1 - t];
}

std::vector<float> reversed_per_block(const std::vector<float>& x, int block) {
  std::vector<float> y(x.size());
  const int n = static_cast<int>(x.size());
  for (int base = 0; base < n; base += block) {
    const int len = std::min(block, n - base);
    for (int t = 0; t < len; ++t) y[base + t] = x[base + len - 1 - t];
  }
  return y;
}

// Runs f in a forked child; returns its exit status and what it wrote to stderr.
template <class F>
std::pair<int, std::string> run_in_child(F f) {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    dup2(fds[1], STDERR_FILENO);
    f();
    _exit(0);
  }
  close(fds[1]);
  std::string err;
  char buf[4096];
  for (ssize_t k; (k = read(fds[0], buf, sizeof buf)) > 0;) err.append(buf, static_cast<size_t>(k));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return {status, err};
}

}  // namespace

TEST_CASE("planted bug 1: an out-of-bounds write past a device allocation is caught") {
  const int n = 300;  // not a multiple of the 128-thread block
  const auto x = pn::test::random_vector<float>(n, 21);
  {  // the correct kernel passes on the same data
    DeviceArray<float> d_x(x), d_y(n);
    pn::cuda::launch(double_in_bounds, 2, 128, 0, nullptr, d_x.get(), d_y.get(), n);
    const auto y = d_y.to_host();
    for (int i = 0; i < n; ++i) CHECK(y[i] == 2 * x[i]);
  }
  if (pn::cuda::emu::guard_bytes_enabled()) {
    DeviceArray<float> d_x(x), d_y(n);
    try {  // reported asynchronously, as on a GPU: by the launch check or the next synchronising call
      pn::cuda::launch(double_with_oob_write, 2, 128, 0, nullptr, d_x.get(), d_y.get(), n);
      (void)d_y.to_host();
      FAIL("the out-of-bounds write went unnoticed");
    } catch (const pn::cuda::CudaError& e) {
      INFO(e.what());
      CHECK(e.code() == cudaErrorIllegalAddress);
      CHECK(std::string(e.what()).find("byte 0 past its end") != std::string::npos);
      CHECK(std::string(e.what()).find("grid (2,1,1) block (128,1,1)") != std::string::npos);  // names the launch
    }
  } else {  // AddressSanitizer build: the write itself is reported, and the process ends
    auto [status, err] = run_in_child([&] {
      DeviceArray<float> d_x(x), d_y(n);
      pn::cuda::launch(double_with_oob_write, 2, 128, 0, nullptr, d_x.get(), d_y.get(), n);
    });
    INFO("child stderr:\n" << err);
    CHECK(!(WIFEXITED(status) && WEXITSTATUS(status) == 0));
    CHECK(err.find("heap-buffer-overflow") != std::string::npos);
    CHECK(err.find("WRITE of size 4") != std::string::npos);
  }
}

TEST_CASE("planted bug 2: a missing __syncthreads changes the result under every schedule") {
  const int n = 1000 + 37, block = 256;
  const auto x = pn::test::random_vector<float>(n, 22);
  const auto want = reversed_per_block(x, block);
  for (Schedule s : {Schedule::Forward, Schedule::Reverse, Schedule::Shuffle}) {
    pn::cuda::emu::ScopedSchedule scoped(s, 5);
    INFO("schedule " << pn::cuda::emu::schedule_name(s));
    DeviceArray<float> d_x(x), d_y(n);
    const unsigned grid = (n + block - 1) / block;
    pn::cuda::launch(reverse_in_block<true>, grid, block, 0, nullptr, d_x.get(), d_y.get(), n);
    CHECK(d_y.to_host() == want);
    pn::cuda::launch(reverse_in_block<false>, grid, block, 0, nullptr, d_x.get(), d_y.get(), n);
    const auto got = d_y.to_host();
    int wrong = 0;
    for (int i = 0; i < n; ++i) wrong += !(got[i] == want[i]);  // NaN counts as wrong
    CHECK(wrong > n / 4);
  }
}
