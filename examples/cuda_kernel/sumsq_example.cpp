// Chapter 6: testing a CUDA kernel. Both versions of row_sumsq (row_sumsq.h) against the
// CPU reference on awkward sizes; under the emulator (PN_CUDA_EMU, CI) also under each
// thread schedule, with the two planted bugs shown to be caught; then the kernel as an op
// (sumsq_op.h) on a CUDA tensor against the same op on the CPU, values and gradients, and
// the time and bandwidth of each version with CUDA events (meaningful on a GPU only).
// The same file builds against real CUDA (example_cuda_kernel_gpu): without a GPU it exits
// 77, which CTest reports as skipped.
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "autograd/engine.h"
#include "autograd/generator.h"
#include "autograd/ops/reduce.h"
#include "autograd/tensor.h"
#include "examples/cuda_kernel/sumsq_op.h"
#include "examples/example_check.h"
// CUDA headers last: under the emulator they define CUDA's keywords as macros.
#include "autograd/cuda/cuda_backend.h"
#include "examples/cuda_kernel/row_sumsq.h"
#include "kernels/cuda/check.h"

using namespace pn;
using pn::examples::check;
using pn::examples::SumsqVersion;

namespace {

// rows x cols floats on the device, uniform in [-1, 1), freed at scope end.
struct Problem {
  int64_t rows, cols;
  std::vector<float> x, want;
  float *d_x = nullptr, *d_out = nullptr;
  Problem(int64_t r, int64_t c) : rows(r), cols(c), x(static_cast<size_t>(r * c)), want(static_cast<size_t>(r)) {
    std::mt19937 rng(static_cast<unsigned>(r * 1000 + c));
    std::uniform_real_distribution<float> u(-1, 1);
    for (float& v : x) v = u(rng);
    examples::row_sumsq_cpu(x.data(), want.data(), rows, cols);
    PN_CUDA_CHECK(cudaMalloc(&d_x, x.size() * sizeof(float)));
    PN_CUDA_CHECK(cudaMalloc(&d_out, want.size() * sizeof(float)));
    PN_CUDA_CHECK(cudaMemcpy(d_x, x.data(), x.size() * sizeof(float), cudaMemcpyHostToDevice));
  }
  ~Problem() {
    (void)cudaFree(d_x);
    (void)cudaFree(d_out);
  }
  // Runs version v; true when every row is within a relative 1e-6 of the reference.
  bool run(SumsqVersion v) {
    PN_CUDA_CHECK(cudaMemset(d_out, 0, want.size() * sizeof(float)));
    examples::row_sumsq(v, d_x, d_out, rows, cols, nullptr);
    std::vector<float> got(want.size());
    PN_CUDA_CHECK(cudaMemcpy(got.data(), d_out, got.size() * sizeof(float), cudaMemcpyDeviceToHost));
    for (size_t i = 0; i < got.size(); ++i)
      if (!(std::abs(got[i] - want[i]) <= 1e-6f * std::abs(want[i]) + 1e-30f)) return false;  // NaN fails
    return true;
  }
};

void check_versions() {
  for (SumsqVersion v : {SumsqVersion::Naive, SumsqVersion::Block}) {
    bool ok = true;
    for (int64_t rows : {1, 5, 37})
      for (int64_t cols : {1, 31, 300, 1000}) ok = ok && Problem(rows, cols).run(v);
    check(ok, fmt::format("{}: every row of 1/5/37 x 1/31/300/1000 within 1e-6 of the CPU", examples::version_name(v)));
  }
}

#if defined(PN_CUDA_EMU)
using pn::cuda::emu::Schedule;

// Threads run until their next barrier, in the schedule's order: a reader that runs before
// its writer reads the NaN bytes shared memory holds at each block start.
void check_missing_barrier() {
  for (Schedule s : {Schedule::Forward, Schedule::Reverse, Schedule::Shuffle}) {
    pn::cuda::emu::ScopedSchedule scoped(s, 1);
    Problem p(5, 1000);
    const bool right = p.run(SumsqVersion::Block), buggy_right = p.run(SumsqVersion::MissingSync);
    std::printf("   schedule %-8s: with the barrier %s, without it %s\n", pn::cuda::emu::schedule_name(s),
                right ? "right" : "WRONG", buggy_right ? "right" : "wrong");
    check(right, fmt::format("the correct kernel is right under the {} schedule", pn::cuda::emu::schedule_name(s)));
    if (s != Schedule::Reverse)  // in reverse order every writer happens to run first
      check(!buggy_right, fmt::format("the missing barrier gives wrong sums under the {} schedule",
                                      pn::cuda::emu::schedule_name(s)));
  }
}

// cols = 48 floats: row `rows` lies inside the 256 guard bytes after x, so the stray read
// is harmless and the stray write of out[rows] lands in out's guard bytes.
void check_out_of_bounds() {
  if (pn::cuda::emu::guard_bytes_enabled()) {
    std::string error;
    try {
      Problem p(5, 48);
      p.run(SumsqVersion::PastTheEnd);
    } catch (const pn::cuda::CudaError& e) {
      error = e.what();
    }
    std::printf("   %s\n", error.c_str());
    check(error.find("past its end") != std::string::npos, "the write one past `out` is caught by its guard bytes");
    return;
  }
  // AddressSanitizer build: ASan reports the stray read of x as it happens and ends the
  // process, so the planted kernel runs in a child process.
  int fds[2];
  if (pipe(fds) != 0) return (void)check(false, "pipe");
  std::fflush(stdout);  // or the child's copy of the buffer would print twice
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], STDERR_FILENO);
    Problem p(5, 48);
    p.run(SumsqVersion::PastTheEnd);
    _exit(0);
  }
  close(fds[1]);
  std::string err;
  char buf[4096];
  for (ssize_t k; (k = read(fds[0], buf, sizeof buf)) > 0;) err.append(buf, static_cast<size_t>(k));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  check(err.find("heap-buffer-overflow") != std::string::npos, "AddressSanitizer reports the access past x");
}
#endif

// The op on a CUDA tensor against the op on the CPU: values and the gradient of a loss.
void check_op() {
  Generator gen(3);
  Tensor x = Tensor::randn({3, 2, 17, 5}, gen);
  Tensor xc = x.detach().requires_grad_(), xg = x.to(Device::cuda()).detach().requires_grad_();
  Tensor yc = examples::per_sample_sumsq(xc), yg = examples::per_sample_sumsq(xg);
  check(yg.device() == Device::cuda(), "the op's result stays on the device");
  double worst = 0;
  for (size_t i = 0; i < 3; ++i) worst = std::max(worst, std::abs(yc.to_vector()[i] - yg.to_vector()[i]));
  check(worst <= 1e-5, fmt::format("values on the device match the CPU path (max difference {:.2g})", worst));
  sum(yc * yc).backward();  // a loss that uses y nonlinearly: d/dx = 4 y x
  sum(yg * yg).backward();
  worst = 0;
  const auto gc = xc.grad().to_vector(), gg = xg.grad().to_vector();
  for (size_t i = 0; i < gc.size(); ++i) worst = std::max(worst, std::abs(gc[i] - gg[i]) / (1 + std::abs(gc[i])));
  check(worst <= 1e-5, fmt::format("gradients through the op match too (max relative difference {:.2g})", worst));
}

// Time and bandwidth per version: each reads rows * cols floats once (the compulsory
// traffic). On a GPU these are real numbers; under the emulator they are CPU time.
void time_versions(int64_t rows, int64_t cols) {
  Problem p(rows, cols);
  cudaEvent_t start, stop;
  PN_CUDA_CHECK(cudaEventCreate(&start));
  PN_CUDA_CHECK(cudaEventCreate(&stop));
  for (SumsqVersion v : {SumsqVersion::Naive, SumsqVersion::Block}) {
    examples::row_sumsq(v, p.d_x, p.d_out, rows, cols, nullptr);  // warm-up
    PN_CUDA_CHECK(cudaEventRecord(start, nullptr));
    examples::row_sumsq(v, p.d_x, p.d_out, rows, cols, nullptr);
    PN_CUDA_CHECK(cudaEventRecord(stop, nullptr));
    PN_CUDA_CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    PN_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    const double bytes = 4.0 * static_cast<double>(rows * cols + rows);
    std::printf("   %-24s %lld x %lld: %8.3f ms, %7.1f GB/s of compulsory traffic\n", examples::version_name(v),
                static_cast<long long>(rows), static_cast<long long>(cols), ms, bytes / (ms * 1e6));
  }
  PN_CUDA_CHECK(cudaEventDestroy(start));
  PN_CUDA_CHECK(cudaEventDestroy(stop));
}

}  // namespace

int main() {
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0 || !pn::cuda::install_cuda_backend()) {
    std::printf("no CUDA device: skipped\n");
    return 77;
  }
  check_versions();
#if defined(PN_CUDA_EMU)
  check_missing_barrier();
  check_out_of_bounds();
#endif
  check_op();
#if defined(PN_CUDA_EMU)
  time_versions(8, 4096);  // small: the emulator's times say nothing about a GPU
#else
  time_versions(5, int64_t{1} << 24);  // a batch of 5 samples of 64 MiB each
  time_versions(4096, 4096);
#endif
  return pn::examples::exit_status();
}
