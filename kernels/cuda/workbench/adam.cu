// Workbench family "adam": one Adam step (L2 weight decay and decoupled, AdamW) over a list of
// float32 parameter tensors of mixed sizes, as an optimiser steps a network, in numbered versions.
//   1  production (kernels/cuda/optim.cu adam_update_multi, what nn::Adam calls): one launch over
//      all tensors; their pointers and sizes in a device-side table uploaded per call, each block
//      a tile of 2048 elements of one tensor (found by a binary search of the tile offsets)
//   2  multi-tensor with the table in the kernel's parameters (no copy): one launch per up to 64
//      tensors, the tensor of a tile found by a linear scan (version 1 was promoted from it)
//   3  one launch per parameter tensor (kernels/cuda/optim.cu adam_update: production until the
//      multi-tensor step was promoted; adam_update_ still calls it for a single tensor)
// The check runs every version on lists of awkward sizes (1 .. 4099 elements; 70 tensors, so two
// launches of version 2) against the CPU's adam_update, bit for bit (the same kernels/math step
// in float).
#include "kernels/cpu/optim.h"
#include "kernels/cuda/device.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/optim.h"
#include "kernels/cuda/workbench/buffers.h"
#include "kernels/cuda/workbench/family.h"
#include "kernels/math/optim_math.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {
namespace workbench {

namespace {

constexpr unsigned kBlock = 256;
constexpr int kMaxTensors = 64;     // per launch: 64 x 48 bytes of kernel parameters
constexpr int64_t kTile = 2048;     // elements per block

struct AdamHyper {
  double lr, beta1, beta2, eps, weight_decay, bc1, bc2;
  bool decoupled;
};

struct AdamTensor {
  float* p;
  const float* g;
  float* m;
  float* v;
  int64_t n;
};

struct TensorTable {
  AdamTensor t[kMaxTensors];
  int64_t first_tile[kMaxTensors + 1];  // tensor k owns tiles [first_tile[k], first_tile[k + 1])
  int count;
};

struct AdamFloat {
  float lr, beta1, beta2, eps, weight_decay, bc1, bc2;
  bool decoupled;
};

__global__ void adam_multi_tensor_kernel(TensorTable table, AdamFloat h) {
  const int64_t tile = blockIdx.x;
  int k = 0;
  while (k + 1 < table.count && table.first_tile[k + 1] <= tile) ++k;
  const AdamTensor& a = table.t[k];
  const int64_t first = (tile - table.first_tile[k]) * kTile;
  const int64_t end = first + kTile < a.n ? first + kTile : a.n;
  for (int64_t i = first + threadIdx.x; i < end; i += blockDim.x)
    math::adam_step(a.p[i], a.g[i], a.m[i], a.v[i], h.lr, h.beta1, h.beta2, h.eps, h.weight_decay, h.bc1, h.bc2,
                    h.decoupled);
}

using AdamLauncher = void (*)(const std::vector<AdamTensor>& tensors, const AdamHyper& h, cudaStream_t stream);

void launch_v1(const std::vector<AdamTensor>& tensors, const AdamHyper& h, cudaStream_t stream) {
  std::vector<kernels::AdamChunk> chunks;
  for (const AdamTensor& a : tensors) chunks.push_back({a.p, a.g, a.m, a.v, a.n});
  adam_update_multi<float>(chunks.data(), static_cast<int64_t>(chunks.size()), h.lr, h.beta1, h.beta2, h.eps,
                           h.weight_decay, h.bc1, h.bc2, h.decoupled, stream);
}

void launch_v3(const std::vector<AdamTensor>& tensors, const AdamHyper& h, cudaStream_t stream) {
  for (const AdamTensor& a : tensors)
    adam_update(a.p, a.g, a.m, a.v, a.n, h.lr, h.beta1, h.beta2, h.eps, h.weight_decay, h.bc1, h.bc2, h.decoupled,
                stream);
}

void launch_v2(const std::vector<AdamTensor>& tensors, const AdamHyper& h, cudaStream_t stream) {
  ErrorScope scope("workbench adam v2", static_cast<int64_t>(tensors.size()));
  const AdamFloat hf{static_cast<float>(h.lr),           static_cast<float>(h.beta1), static_cast<float>(h.beta2),
                     static_cast<float>(h.eps),          static_cast<float>(h.weight_decay),
                     static_cast<float>(h.bc1),          static_cast<float>(h.bc2), h.decoupled};
  TensorTable table{};
  auto flush = [&] {
    if (table.count > 0 && table.first_tile[table.count] > 0)
      launch(adam_multi_tensor_kernel, static_cast<unsigned>(table.first_tile[table.count]), kBlock, 0, stream, table,
             hf);
    table = TensorTable{};
  };
  for (const AdamTensor& a : tensors) {
    if (a.n <= 0) continue;
    table.t[table.count] = a;
    table.first_tile[table.count + 1] = table.first_tile[table.count] + (a.n + kTile - 1) / kTile;
    if (++table.count == kMaxTensors) flush();
  }
  flush();
}

constexpr AdamLauncher kLaunchers[] = {launch_v1, launch_v2, launch_v3};

// Device memory for a list of tensors (p, g, m, v each), filled from seeds.
class TensorList {
 public:
  explicit TensorList(const std::vector<int64_t>& sizes) {
    unsigned seed = 101;
    for (int64_t n : sizes) {
      p_.push_back(random_values<float>(n, seed++));
      g_.push_back(random_values<float>(n, seed++));
      m_.push_back(random_values<float>(n, seed++, -0.1, 0.1));
      v_.push_back(random_values<float>(n, seed++, 0.0, 0.2));
    }
    for (size_t k = 0; k < sizes.size(); ++k) {
      for (auto* host : {&p_, &g_, &m_, &v_}) dev_.push_back(std::make_unique<DeviceBuffer<float>>((*host)[k]));
      tensors_.push_back({dev_[4 * k]->get(), dev_[4 * k + 1]->get(), dev_[4 * k + 2]->get(), dev_[4 * k + 3]->get(),
                          sizes[k]});
    }
  }
  const std::vector<AdamTensor>& tensors() const { return tensors_; }
  std::vector<std::vector<float>> p_, g_, m_, v_;  // the host copies, before the step
  std::vector<std::unique_ptr<DeviceBuffer<float>>> dev_;  // p, g, m, v of tensor 0, then of tensor 1, ...

 private:
  std::vector<AdamTensor> tensors_;
};

std::string check_version(int version) {
  std::vector<int64_t> sizes = {1, 31, 32, 33, 257, 2048, 2049, 3037, 4099, 5};
  for (int k = 0; k < 60; ++k) sizes.push_back(1 + k % 7);  // 70 tensors: version 2 launches twice
  for (bool decoupled : {false, true}) {
    const AdamHyper h{1e-3, 0.9, 0.999, 1e-8, 0.01, 1 - 0.9 * 0.9, 1 - 0.999 * 0.999, decoupled};
    TensorList list(sizes);
    kLaunchers[version - 1](list.tensors(), h, nullptr);
    for (size_t k = 0; k < sizes.size(); ++k) {
      std::vector<float> p = list.p_[k], m = list.m_[k], v = list.v_[k];
      cpu::adam_update(p.data(), list.g_[k].data(), m.data(), v.data(), sizes[k], h.lr, h.beta1, h.beta2, h.eps,
                       h.weight_decay, h.bc1, h.bc2, decoupled);
      const std::string what = std::string(decoupled ? "adamw" : "adam") + ", tensor " + std::to_string(k) + " of " +
                               std::to_string(sizes.size()) + " (" + std::to_string(sizes[k]) + " elements)";
      std::string failure = compare(list.dev_[4 * k]->download(), p, 0, 0, what + " p");
      if (failure.empty()) failure = compare(list.dev_[4 * k + 2]->download(), m, 0, 0, what + " m");
      if (failure.empty()) failure = compare(list.dev_[4 * k + 3]->download(), v, 0, 0, what + " v");
      if (!failure.empty()) return failure;
    }
  }
  return "";
}

// Sizes of a small network's parameters adding up to about n: per layer a weight of n / 8 and a
// bias of 64, plus a norm's gamma and beta of 64 each.
std::vector<int64_t> network_sizes(int64_t n) {
  std::vector<int64_t> sizes;
  for (int64_t total = 0; total + n / 8 + 192 <= n;) {
    for (int64_t s : {n / 8, int64_t{64}, int64_t{64}, int64_t{64}}) sizes.push_back(s);
    total += n / 8 + 192;
  }
  return sizes;
}

class AdamCase : public BenchCase {
 public:
  AdamCase(AdamLauncher f, int64_t n) : f_(f), list_(network_sizes(n)) {
    for (const AdamTensor& a : list_.tensors()) elements_ += a.n;
  }
  void launch(cudaStream_t stream) override {
    f_(list_.tensors(), {1e-3, 0.9, 0.999, 1e-8, 0.0, 0.1, 0.001, false}, stream);
  }
  double compulsory_bytes() const override { return 7.0 * static_cast<double>(elements_) * sizeof(float); }
  std::string problem() const override {
    return "adam over " + std::to_string(list_.tensors().size()) + " tensors, " + std::to_string(elements_) +
           " float32 in all";
  }

 private:
  AdamLauncher f_;
  TensorList list_;
  int64_t elements_ = 0;
};

std::unique_ptr<BenchCase> bench_version(int version, int64_t n) {
  return std::make_unique<AdamCase>(kLaunchers[version - 1], n);
}

}  // namespace

const Family& adam_family() {
  static const Family f{"adam",
                        "one Adam step over a network's float32 parameter tensors (kernels/cuda/optim.cu)",
                        {{1, "production: one launch over all tensors, tiles of 2048 elements, table in device memory"},
                         {2, "multi-tensor: one launch per 64 tensors, tiles of 2048 elements, table in parameters"},
                         {3, "one launch per parameter tensor (production before the multi-tensor step)"}},
                        check_version,
                        bench_version,
                        int64_t{1} << 26,
                        int64_t{1} << 16};
  return f;
}

}  // namespace workbench
}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda
