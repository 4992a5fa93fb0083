#include "nn/layers.h"
#include "nn/sync_batch_norm.h"

#include "autograd/autocast.h"
#include "autograd/ops/conv.h"
#include "autograd/ops/dropout.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/linalg.h"
#include "autograd/ops/norm.h"
#include "autograd/ops/upsample_conv.h"

namespace pn::nn {

namespace {

Shape conv_weight_shape(int64_t a, int64_t b, const ConvOptions& o) {
  Shape s{a, b};
  for (int i = 0; i < o.dims; ++i) s.push_back(o.kernel);
  return s;
}

int64_t kernel_volume(const ConvOptions& o) {
  int64_t v = 1;
  for (int i = 0; i < o.dims; ++i) v *= o.kernel;
  return v;
}

Tensor make_weight(const Shape& s, Generator& gen, Init init, int64_t fan_in) {
  Tensor w = Tensor::empty(s);
  init_weight_(w, gen, init, fan_in);
  return w;
}

void check_rank(const Tensor& x, int dims, const char* layer) {
  PN_CHECK(x.dim() == dims + 2, "{}: expects a {}-D input (N, C, {}), got {}", layer, dims + 2,
           dims == 3 ? "D, H, W" : "H, W", x.desc());
}

std::string conv_desc(const char* type, int64_t in, int64_t out, const ConvOptions& o) {
  return fmt::format("{}{}d({} -> {}, kernel {}, stride {}, padding {}{})", type, o.dims, in, out, o.kernel,
                     o.stride, o.same ? std::string("same") : std::to_string(o.padding), o.bias ? "" : ", no bias");
}

}  // namespace

Conv::Conv(int64_t in, int64_t out, ConvOptions opt, Generator& gen)
    : weight(register_parameter("weight", make_weight(conv_weight_shape(out, in, opt), gen, opt.init,
                                                      in * kernel_volume(opt)))),
      in_(in), out_(out), opt_(opt) {
  if (opt.bias) bias = &register_parameter("bias", Tensor::zeros({out}));
}

Tensor Conv::forward(const Tensor& x) {
  check_rank(x, opt_.dims, "Conv");
  if (!opt_.same) return conv(x, weight, bias ? *bias : Tensor(), {opt_.stride}, {opt_.padding}, format_);
  // "same": symmetric padding goes to the convolution; an odd total pads explicitly first.
  std::vector<int> pad;
  Shape padded;
  std::vector<int64_t> offsets;
  bool symmetric = true;
  for (int d = 0; d < opt_.dims; ++d) {
    const int64_t in = x.size((channels_last() ? 1 : 2) + d), out = (in + opt_.stride - 1) / opt_.stride;
    const int64_t total = std::max<int64_t>((out - 1) * opt_.stride + opt_.kernel - in, 0);
    pad.push_back(static_cast<int>(total / 2));
    padded.push_back(in + total);
    offsets.push_back(-(total / 2));
    symmetric = symmetric && total % 2 == 0;
  }
  if (symmetric) return conv(x, weight, bias ? *bias : Tensor(), {opt_.stride}, pad, format_);
  PN_CHECK(!channels_last(), "Conv: \"same\" padding of kernel {} with stride {} pads one voxel more after than "
           "before, which takes a channels-first input (crop_pad), but this layer is channels-last ({}); use the "
           "channels-first memory format for this network", opt_.kernel, opt_.stride, x.desc());
  return conv(crop_pad(x, padded, offsets), weight, bias ? *bias : Tensor(), {opt_.stride}, {0});
}

bool Conv::takes_upsampled(const Tensor& x, int factor) const {
  if (channels_last() || !opt_.same || opt_.stride != 1 || x.dim() != opt_.dims + 2 ||
      !polyphase_applies(opt_.kernel, factor))
    return false;  // (the polyphase form takes channels-first input)
  return x.size(1) > 0 && x.numel() / x.size(1) >= kPolyphaseMinVoxels;
}

Tensor Conv::forward_upsampled(const Tensor& x, int factor) {
  check_rank(x, opt_.dims, "Conv");
  return upsample_conv_same(x, weight, bias ? *bias : Tensor(), factor);
}

std::string Conv::describe() const { return conv_desc("Conv", in_, out_, opt_); }

ConvTranspose::ConvTranspose(int64_t in, int64_t out, ConvOptions opt, Generator& gen)
    : weight(register_parameter("weight", make_weight(conv_weight_shape(in, out, opt), gen, opt.init,
                                                      out * kernel_volume(opt)))),
      in_(in), out_(out), opt_(opt) {
  if (opt.bias) bias = &register_parameter("bias", Tensor::zeros({out}));
}

Tensor ConvTranspose::forward(const Tensor& x) {
  check_rank(x, opt_.dims, "ConvTranspose");
  return conv_transpose(x, weight, bias ? *bias : Tensor(), {opt_.stride}, {opt_.padding}, format_);
}

std::string ConvTranspose::describe() const { return conv_desc("ConvTranspose", in_, out_, opt_); }

Linear::Linear(int64_t in, int64_t out, Generator& gen, Init init, bool with_bias)
    : weight(register_parameter("weight", make_weight({out, in}, gen, init, in))), in_(in), out_(out) {
  if (with_bias) bias = &register_parameter("bias", Tensor::zeros({out}));
}

Tensor Linear::forward(const Tensor& x) { return linear(x, weight, bias ? *bias : Tensor()); }
std::string Linear::describe() const { return fmt::format("Linear({} -> {})", in_, out_); }

BatchNorm::BatchNorm(int64_t channels, double momentum, double eps, bool affine)
    : channels_(channels), momentum_(momentum), eps_(eps),
      running_mean_(register_buffer("running_mean", Tensor::zeros({channels}))),
      running_var_(register_buffer("running_var", Tensor::ones({channels}))) {
  if (affine) {
    gamma_ = &register_parameter("weight", Tensor::ones({channels}));
    beta_ = &register_parameter("bias", Tensor::zeros({channels}));
  }
}

Tensor BatchNorm::forward(const Tensor& x) {
  PN_CHECK(!(sync_ && channels_last()), "BatchNorm: synchronised statistics (nn/sync_batch_norm.h) take channels-first "
           "input only, but this layer is channels-last ({}); use the channels-first memory format", x.desc());
  if (sync_)
    return sync_batch_norm(x, gamma_ ? *gamma_ : Tensor(), beta_ ? *beta_ : Tensor(), running_mean_, running_var_,
                           is_training(), momentum_, eps_, *sync_);
  return batch_norm(x, gamma_ ? *gamma_ : Tensor(), beta_ ? *beta_ : Tensor(), running_mean_, running_var_,
                    is_training(), momentum_, eps_, format_);
}

Tensor BatchNorm::forward_act(const Tensor& x, double slope) {
  if (sync_) return leaky_relu(forward(x), slope);
  return batch_norm_act(x, gamma_ ? *gamma_ : Tensor(), beta_ ? *beta_ : Tensor(), running_mean_, running_var_,
                        is_training(), slope, momentum_, eps_, format_);
}

std::string BatchNorm::describe() const { return fmt::format("BatchNorm({}, momentum {}, eps {})", channels_, momentum_, eps_); }

InstanceNorm::InstanceNorm(int64_t channels, bool affine, double eps) : channels_(channels), eps_(eps) {
  if (affine) {
    gamma_ = &register_parameter("weight", Tensor::ones({channels}));
    beta_ = &register_parameter("bias", Tensor::zeros({channels}));
  }
}

Tensor InstanceNorm::forward(const Tensor& x) {
  return instance_norm(x, gamma_ ? *gamma_ : Tensor(), beta_ ? *beta_ : Tensor(), eps_, format_);
}

Tensor InstanceNorm::forward_act(const Tensor& x, double slope) {
  return instance_norm_act(x, gamma_ ? *gamma_ : Tensor(), beta_ ? *beta_ : Tensor(), slope, eps_, format_);
}

std::string InstanceNorm::describe() const {
  return fmt::format("InstanceNorm({}{})", channels_, gamma_ ? ", affine" : "");
}

Tensor LeakyReLU::forward(const Tensor& x) { return leaky_relu(x, slope_); }
std::string LeakyReLU::describe() const { return fmt::format("LeakyReLU({})", slope_); }
Tensor ReLU::forward(const Tensor& x) { return relu(x); }
Tensor Tanh::forward(const Tensor& x) { return tanh(x); }

Tensor Dropout::forward(const Tensor& x) { return dropout(x, p_, gen_, is_training()); }
std::string Dropout::describe() const { return fmt::format("Dropout({})", p_); }

Tensor MaxPool::forward(const Tensor& x) { return max_pool(x, kernel_, kernel_, format_); }
std::string MaxPool::describe() const { return fmt::format("MaxPool(kernel {})", kernel_); }

Tensor Upsample::forward(const Tensor& x) { return upsample_nearest(x, factor_); }
std::string Upsample::describe() const { return fmt::format("Upsample(nearest x{})", factor_); }

namespace {

// The slope of an activation layer a norm can absorb (ReLU: 0, LeakyReLU of slope >= 0), or -1.
double fusable_slope(const UnaryModule& m) {
  if (dynamic_cast<const ReLU*>(&m)) return 0.0;
  if (const auto* l = dynamic_cast<const LeakyReLU*>(&m)) return l->slope() >= 0 ? l->slope() : -1.0;
  return -1.0;
}

}  // namespace

// The slope with which layer i (a norm) absorbs layer i + 1 (its activation), or -1.
double Sequential::fused_slope(size_t i) const {
  if (!fuse_norm_activation_ || i + 1 >= layers_.size() || !dynamic_cast<FusableNorm*>(layers_[i].get())) return -1;
  return fusable_slope(*layers_[i + 1]);
}

// The factor of layer i (an Upsample) when layer i + 1 (a Conv) computes both on the small
// grid h (Conv::takes_upsampled), else 0.
int Sequential::upsample_factor_for_conv(size_t i, const Tensor& h) const {
  if (!fuse_upsample_conv_ || i + 1 >= layers_.size()) return 0;
  const auto* up = dynamic_cast<const Upsample*>(layers_[i].get());
  const auto* conv = dynamic_cast<const Conv*>(layers_[i + 1].get());
  return up && conv && conv->takes_upsampled(h, up->factor()) ? up->factor() : 0;
}

// Whether layer i takes a 16-bit activation as it is (rule 2): convolutions (rule 1), norms that
// take 16-bit input, and the layers that run in their input's dtype.
bool Sequential::layer_takes_16bit(size_t i) const {
  const UnaryModule* m = layers_[i].get();
  if (const auto* n = dynamic_cast<const FusableNorm*>(m)) return n->takes_16bit();
  return dynamic_cast<const Conv*>(m) || dynamic_cast<const ConvTranspose*>(m) || dynamic_cast<const ReLU*>(m) ||
         dynamic_cast<const LeakyReLU*>(m) || dynamic_cast<const Tanh*>(m) || dynamic_cast<const Dropout*>(m) ||
         dynamic_cast<const MaxPool*>(m) || dynamic_cast<const Upsample*>(m);
}

// Mixed precision (autograd/autocast.h, rule 1b): under a 16-bit autocast scope, layer i is a
// convolution whose output goes on in 16 bits, to a layer that takes them (a norm, fused or not,
// the next convolution, an activation, pooling) or out of a Sequential that hands them on: its
// 16-bit result, bias added in 16 bits, goes on with no cast to float32 between the layers.
bool Sequential::conv_keeps_16bit(size_t i) const {
  if (autocast_dtype() == DType::Float32) return false;
  const UnaryModule* m = layers_[i].get();
  if (!dynamic_cast<const Conv*>(m) && !dynamic_cast<const ConvTranspose*>(m)) return false;
  return i + 1 < layers_.size() ? layer_takes_16bit(i + 1) : output_16bit_;
}

Tensor Sequential::forward(const Tensor& x) {
  const bool mixed = autocast_dtype() != DType::Float32;
  Tensor h = x;
  for (size_t i = 0; i < layers_.size(); ++i) {
    if (mixed && is_low_precision(h.dtype()) && !layer_takes_16bit(i)) h = h.to(DType::Float32);
    if (const double slope = fused_slope(i); slope >= 0) {
      h = dynamic_cast<FusableNorm*>(layers_[i].get())->forward_act(h, slope);
      layers_[i]->set_output_shape(h.shape());
      layers_[++i]->set_output_shape(h.shape());
      continue;
    }
    if (const int factor = upsample_factor_for_conv(i, h); factor > 0) {
      Shape upsampled = h.shape();
      for (size_t d = 2; d < upsampled.size(); ++d) upsampled[d] *= factor;
      Keep16BitScope keep(conv_keeps_16bit(i + 1));
      h = dynamic_cast<Conv*>(layers_[i + 1].get())->forward_upsampled(h, factor);
      layers_[i]->set_output_shape(upsampled);
      layers_[++i]->set_output_shape(h.shape());
      continue;
    }
    Keep16BitScope keep(conv_keeps_16bit(i));
    h = (*layers_[i])(h);  // a convolution given a 16-bit input returns its 16-bit result
  }
  return mixed && is_low_precision(h.dtype()) && !output_16bit_ ? h.to(DType::Float32) : h;
}

void set_norm_activation_fusion(Module& root, bool on) {
  root.for_each<Sequential>([on](Sequential& s) { s.set_fuse_norm_activation(on); });
}

void set_upsample_conv_fusion(Module& root, bool on) {
  root.for_each<Sequential>([on](Sequential& s) { s.set_fuse_upsample_conv(on); });
}

void set_memory_format(Module& root, MemoryFormat format) {
  root.for_each<FormatAware>([format](FormatAware& m) { m.set_memory_format(format); });
}

}  // namespace pn::nn
