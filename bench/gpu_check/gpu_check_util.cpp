#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include <omp.h>

#include "bench/gpu_check/gpu_check_util.h"
#include "kernels/cuda/device_guard.h"

namespace pn::gpu_check {

Line& Line::add(const std::string& key, const std::string& value) {
  text_ += " " + key + "=" + (value.empty() ? std::string("-") : value);
  return *this;
}

Line& Line::add(const std::string& key, double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", value);
  return add(key, std::string(buf));
}

Line& Line::add(const std::string& key, int64_t value) { return add(key, std::to_string(value)); }

void Line::print() const {
  std::printf("%s\n", text_.c_str());
  std::fflush(stdout);
}

DeviceTimer::DeviceTimer() {
  PN_CUDA_CHECK(cudaEventCreate(&start_));
  PN_CUDA_CHECK(cudaEventCreate(&stop_));
}

DeviceTimer::~DeviceTimer() {
  (void)cudaEventDestroy(start_);
  (void)cudaEventDestroy(stop_);
}

double DeviceTimer::milliseconds(const std::function<void()>& fn) {
  PN_CUDA_CHECK(cudaEventRecord(start_, stream()));
  fn();
  PN_CUDA_CHECK(cudaEventRecord(stop_, stream()));
  PN_CUDA_CHECK(cudaEventSynchronize(stop_));
  float ms = 0;
  PN_CUDA_CHECK(cudaEventElapsedTime(&ms, start_, stop_));
  return ms;
}

double DeviceTimer::median_ms(const std::function<void()>& fn, int reps, int warmup) {
  for (int w = 0; w < warmup; ++w) milliseconds(fn);
  std::vector<double> t;
  for (int r = 0; r < std::max(reps, 1); ++r) t.push_back(milliseconds(fn));
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

std::vector<float> hash_values(uint32_t seed, int64_t n) {
  if (n < 0 || n > int64_t{0xFFFFFFFF}) throw std::invalid_argument("hash_values: n must be in [0, 2^32)");
  std::vector<float> v(static_cast<size_t>(n));
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = hash_uniform(seed, static_cast<uint32_t>(i));
  return v;
}

void write_raw(const std::string& path, const std::vector<float>& values) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(values.data()), static_cast<std::streamsize>(values.size() * sizeof(float)));
  if (!f) throw std::runtime_error("gpu_check: cannot write " + path + " (disk full? folder missing?)");
}

DeviceFloats::DeviceFloats(int64_t n) : n_(n) {
  PN_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&p_), static_cast<size_t>(n) * sizeof(float)));
}

DeviceFloats::DeviceFloats(const std::vector<float>& host) : DeviceFloats(static_cast<int64_t>(host.size())) {
  PN_CUDA_CHECK(cudaMemcpyAsync(p_, host.data(), host.size() * sizeof(float), cudaMemcpyHostToDevice, stream()));
  PN_CUDA_CHECK(cudaStreamSynchronize(stream()));  // host stays valid until the copy is done
}

DeviceFloats::~DeviceFloats() { (void)cudaFree(p_); }

void DeviceFloats::poison() {
  PN_CUDA_CHECK(cudaMemsetAsync(p_, 0xFF, static_cast<size_t>(n_) * sizeof(float), stream()));
}

cudaStream_t stream() { return cuda::device_stream(0); }

std::vector<float> DeviceFloats::to_host() const {
  std::vector<float> h(static_cast<size_t>(n_));
  PN_CUDA_CHECK(cudaMemcpyAsync(h.data(), p_, h.size() * sizeof(float), cudaMemcpyDeviceToHost, stream()));
  PN_CUDA_CHECK(cudaStreamSynchronize(stream()));
  return h;
}

Options::Options(std::string usage, std::map<std::string, std::string> defaults)
    : usage_(std::move(usage)), values_(std::move(defaults)) {}

void Options::parse(int argc, char** argv, int first) {
  for (int i = first; i < argc; i += 2) {
    const std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0 || !values_.count(arg.substr(2))) usage("unknown option '" + arg + "'");
    if (i + 1 >= argc) usage(arg + " needs a value");
    values_[arg.substr(2)] = argv[i + 1];
  }
}

const std::string& Options::str(const std::string& key) const { return values_.at(key); }

int64_t Options::integer(const std::string& key, int64_t min) const {
  const std::string& s = str(key);
  char* end = nullptr;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || v < min) usage("--" + key + " must be an integer >= " + std::to_string(min) + ", got '" + s + "'");
  return v;
}

void Options::usage(const std::string& problem) const {
  std::fprintf(stderr, "gpu_check: %s\nusage: %s\n", problem.c_str(), usage_.c_str());
  std::exit(2);
}

}  // namespace pn::gpu_check
