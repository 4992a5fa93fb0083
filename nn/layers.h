// The layers the study's networks are built from, as Modules over the autograd ops.
// Spatial rank (2-D or 3-D) is a constructor setting: kernel, stride and padding apply to
// every spatial dim. Parameter names follow PyTorch ("weight", "bias", "running_mean"...)
// so that checkpoints load in PyTorch and PyTorch weights load here.
#pragma once
#include <memory>
#include <vector>

#include "autograd/generator.h"
#include "nn/communicator.h"
#include "nn/init.h"
#include "nn/module.h"

namespace pn::nn {

struct ConvOptions {
  int dims = 3;  // 2 or 3 spatial dims
  int kernel = 3;
  int stride = 1;
  int padding = 0;
  bool bias = true;
  Init init = Init::he_normal();
  // Keras/TensorFlow "same" padding (Conv only; overrides padding): output = ceil(in /
  // stride), total padding max((out - 1) stride + k - in, 0) split with the extra voxel
  // after (k4 s1 pads 1 before and 2 after), as the study's Keras models do.
  bool same = false;
};

// y = conv(x, weight[out, in, k..]) + bias.
class Conv : public UnaryModule {
 public:
  Conv(int64_t in, int64_t out, ConvOptions opt, Generator& gen);
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;
  Tensor& weight;
  Tensor* bias = nullptr;

 private:
  int64_t in_, out_;
  ConvOptions opt_;
};

// Transposed convolution, weight [in, out, k..] (PyTorch's layout).
class ConvTranspose : public UnaryModule {
 public:
  ConvTranspose(int64_t in, int64_t out, ConvOptions opt, Generator& gen);
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;
  Tensor& weight;
  Tensor* bias = nullptr;

 private:
  int64_t in_, out_;
  ConvOptions opt_;
};

class Linear : public UnaryModule {
 public:
  Linear(int64_t in, int64_t out, Generator& gen, Init init = Init::he_normal(), bool bias = true);
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;
  Tensor& weight;
  Tensor* bias = nullptr;

 private:
  int64_t in_, out_;
};

// Batch normalisation over N and the spatial dims, with running statistics.
class BatchNorm : public UnaryModule {
 public:
  explicit BatchNorm(int64_t channels, double momentum = 0.1, double eps = 1e-5, bool affine = true);
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;
  // Training statistics over every rank of comm (nn/sync_batch_norm.h).
  void set_sync(const Collectives& comm) { sync_ = std::make_shared<Collectives>(comm); }

 private:
  int64_t channels_;
  double momentum_, eps_;
  std::shared_ptr<Collectives> sync_;  // null: local statistics
  Tensor *gamma_ = nullptr, *beta_ = nullptr;
  Tensor& running_mean_;
  Tensor& running_var_;
};

// Instance normalisation per (sample, channel); affine optional. With affine = false it
// is the parameter-free normalisation of SPADE.
class InstanceNorm : public UnaryModule {
 public:
  explicit InstanceNorm(int64_t channels, bool affine = false, double eps = 1e-5);
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;

 private:
  int64_t channels_;
  double eps_;
  Tensor *gamma_ = nullptr, *beta_ = nullptr;
};

class LeakyReLU : public UnaryModule {
 public:
  explicit LeakyReLU(double slope) : slope_(slope) {}
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;

 private:
  double slope_;
};

class ReLU : public UnaryModule {
 public:
  Tensor forward(const Tensor& x) override;
  std::string describe() const override { return "ReLU"; }
};

class Tanh : public UnaryModule {
 public:
  Tensor forward(const Tensor& x) override;
  std::string describe() const override { return "Tanh"; }
};

// Inverted dropout, active in training mode only. Draws from the generator it is given.
class Dropout : public UnaryModule {
 public:
  Dropout(double p, Generator& gen) : p_(p), gen_(gen) {}
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;

 private:
  double p_;
  Generator& gen_;
};

class MaxPool : public UnaryModule {
 public:
  explicit MaxPool(int kernel = 2) : kernel_(kernel) {}
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;

 private:
  int kernel_;
};

class Upsample : public UnaryModule {
 public:
  explicit Upsample(int factor = 2) : factor_(factor) {}
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;

 private:
  int factor_;
};

class Sequential : public UnaryModule {
 public:
  Sequential() = default;
  // Appends a layer, named by its index ("0", "1", ...), and returns it.
  template <class M>
  std::shared_ptr<M> add(std::shared_ptr<M> m) {
    layers_.push_back(m);
    return register_module(std::to_string(layers_.size() - 1), m);
  }
  Tensor forward(const Tensor& x) override;
  std::string describe() const override { return "Sequential"; }
  size_t size() const { return layers_.size(); }

 private:
  std::vector<std::shared_ptr<UnaryModule>> layers_;
};

}  // namespace pn::nn
