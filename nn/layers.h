// The layers the study's networks are built from, as Modules over the autograd ops.
// Spatial rank (2-D or 3-D) is a constructor setting: kernel, stride and padding apply to
// every spatial dim. Parameter names follow PyTorch ("weight", "bias", "running_mean"...)
// so that checkpoints load in PyTorch and PyTorch weights load here.
// A Sequential runs a norm layer followed by a ReLU / LeakyReLU as one fused op, and an
// Upsample followed by a stride-1 "same" Conv as one convolution on the small grid (below).
#pragma once
#include <memory>
#include <vector>

#include "autograd/generator.h"
#include "autograd/memory_format.h"
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

// A layer that also runs on channels-last activations (autograd/memory_format.h): Conv,
// ConvTranspose, BatchNorm, InstanceNorm, MaxPool. nn::set_memory_format (below) sets every such
// layer of a network; the network converts its input and output (to_channels_last /
// to_channels_first) and concatenates along the last axis.
class FormatAware {
 public:
  virtual ~FormatAware() = default;
  void set_memory_format(MemoryFormat f) { format_ = f; }
  MemoryFormat memory_format() const { return format_; }
  bool channels_last() const { return format_ == MemoryFormat::channels_last; }

 protected:
  MemoryFormat format_ = MemoryFormat::channels_first;
};

// y = conv(x, weight[out, in, k..]) + bias.
class Conv : public UnaryModule, public FormatAware {
 public:
  Conv(int64_t in, int64_t out, ConvOptions opt, Generator& gen);
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;
  // Whether forward_upsampled(x, factor) applies and pays: a stride-1 "same" convolution whose
  // kernel has a polyphase form (autograd/ops/upsample_conv.h), and a small grid of at least
  // kPolyphaseMinVoxels voxels over the batch (below it, the f^d times larger combined kernel
  // costs more than the multiplications it saves: measured on oneDNN, docs/02-convolution.md).
  bool takes_upsampled(const Tensor& x, int factor) const;
  // forward(upsample_nearest(x, factor)), computed on the small grid (upsample_conv_same).
  Tensor forward_upsampled(const Tensor& x, int factor);
  static constexpr int64_t kPolyphaseMinVoxels = 256;
  Tensor& weight;
  Tensor* bias = nullptr;

 private:
  int64_t in_, out_;
  ConvOptions opt_;
};

// Transposed convolution, weight [in, out, k..] (PyTorch's layout).
class ConvTranspose : public UnaryModule, public FormatAware {
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

// A norm layer that can apply a following leaky ReLU (slope >= 0; 0 is ReLU) in the same op
// (autograd/ops/norm.h batch_norm_act / instance_norm_act): what Sequential fuses.
class FusableNorm {
 public:
  virtual ~FusableNorm() = default;
  // leaky_relu(forward(x), slope), computed as one op where the layer can.
  virtual Tensor forward_act(const Tensor& x, double slope) = 0;
  // Whether forward_act takes a bfloat16 / float16 x (returning y in x's dtype; mixed
  // precision, autograd/autocast.h rule 2).
  virtual bool takes_16bit() const { return true; }
};

// Batch normalisation over N and the spatial dims, with running statistics.
class BatchNorm : public UnaryModule, public FusableNorm, public FormatAware {
 public:
  explicit BatchNorm(int64_t channels, double momentum = 0.1, double eps = 1e-5, bool affine = true);
  Tensor forward(const Tensor& x) override;
  // Fused unless statistics are synchronised across ranks (then the norm, then the activation).
  Tensor forward_act(const Tensor& x, double slope) override;
  bool takes_16bit() const override { return !sync_; }  // synchronised statistics: float32 only
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
class InstanceNorm : public UnaryModule, public FusableNorm, public FormatAware {
 public:
  explicit InstanceNorm(int64_t channels, bool affine = false, double eps = 1e-5);
  Tensor forward(const Tensor& x) override;
  Tensor forward_act(const Tensor& x, double slope) override;
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
  double slope() const { return slope_; }
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

class MaxPool : public UnaryModule, public FormatAware {
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
  int factor() const { return factor_; }

 private:
  int factor_;
};

// Runs its layers in order. A FusableNorm layer directly followed by a ReLU or a LeakyReLU of
// slope >= 0 runs as one fused op (forward_act) when fusion is on (the default): the same
// result up to float rounding, one pass over memory instead of two, and the pre-activation is
// not kept for the backward. Layers, names and parameters are the same either way (checkpoints
// do not change); both layers' output_shape() are recorded.
// Likewise an Upsample directly followed by a Conv that takes_upsampled() runs as the Conv's
// forward_upsampled (the polyphase form: the same function up to float rounding, 2-2.4x fewer
// multiplications at kernel 4, no upsampled copy) when that fusion is on (the default).
// Mixed precision: under a bf16 / fp16 autocast scope, a Conv / ConvTranspose whose output goes
// to a layer that takes 16-bit activations (convolutions, norms, ReLU, LeakyReLU, Tanh, Dropout,
// MaxPool, Upsample), or leaves a Sequential that hands 16 bits on, runs under a Keep16BitScope:
// it returns its 16-bit result, any bias added in 16 bits (autograd/autocast.h, rule 1b). The
// 16-bit activation goes on as it is through the layers that take it; it is cast to float32
// before any other layer and on leaving the Sequential, unless set_output_16bit(true) (rule 2).
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
  void set_fuse_norm_activation(bool on) { fuse_norm_activation_ = on; }
  bool fuse_norm_activation() const { return fuse_norm_activation_; }
  void set_fuse_upsample_conv(bool on) { fuse_upsample_conv_ = on; }
  // Under a 16-bit autocast scope, hand a 16-bit output on as it is instead of casting it to
  // float32 (the blocks of the U-Net, pix2pix, PatchGAN and the lesion generator, whose outputs
  // go to 16-bit pooling, concatenation or the next block; the lesion critic's blocks).
  void set_output_16bit(bool on) { output_16bit_ = on; }

 private:
  double fused_slope(size_t i) const;
  int upsample_factor_for_conv(size_t i, const Tensor& h) const;
  bool layer_takes_16bit(size_t i) const;
  bool conv_keeps_16bit(size_t i) const;
  std::vector<std::shared_ptr<UnaryModule>> layers_;
  bool fuse_norm_activation_ = true;
  bool fuse_upsample_conv_ = true;
  bool output_16bit_ = false;
};

// Turns norm + activation fusion on or off in every Sequential of the tree under root (e.g. to
// compare the fused and unfused networks: tests/models, bench/training/bench_unet_step).
void set_norm_activation_fusion(Module& root, bool on);

// Turns the polyphase Upsample + Conv fusion on or off in every Sequential under root (the
// pix2pix generator's `upsample` setting; tests compare the two forms).
void set_upsample_conv_fusion(Module& root, bool on);

// Sets the memory format of every FormatAware layer under root (itself included).
void set_memory_format(Module& root, MemoryFormat format);

}  // namespace pn::nn
