#include "autograd/tensor.h"

#include <cstring>
#include <string_view>

#include "autograd/engine.h"
#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "kernels/cpu/elementwise.h"
#include "autograd/backend.h"

namespace pn {

namespace {

std::shared_ptr<TensorImpl> make_impl(const Shape& shape, DType dtype, Device device) {
  for (int64_t d : shape) PN_CHECK(d >= 0, "tensor: negative size in shape {}", shape_str(shape));
  auto impl = std::make_shared<TensorImpl>();
  impl->shape = shape;
  impl->dtype = dtype;
  impl->storage = std::make_shared<Storage>(static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype), device);
  return impl;
}

}  // namespace

// --- creation ------------------------------------------------------------------------

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  return Tensor(make_impl(shape, dtype, device));
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  return t.fill_(0.0), t;
}

Tensor Tensor::ones(const Shape& shape, DType dtype, Device device) { return full(shape, 1.0, dtype, device); }

Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  return t.fill_(value), t;
}

Tensor Tensor::scalar(double value, DType dtype, Device device) { return full({}, value, dtype, device); }

Tensor Tensor::from_vector(const std::vector<double>& values, const Shape& shape, DType dtype) {
  PN_CHECK(static_cast<int64_t>(values.size()) == shape_numel(shape),
           "from_vector: {} values for shape {}", values.size(), shape_str(shape));
  Tensor t = empty(shape, dtype);
  PN_DISPATCH_ALL(dtype, cpu::cast<double, scalar_t>(values.data(), t.data<scalar_t>(), t.numel()));
  return t;
}

Tensor Tensor::from_vector(const std::vector<float>& values, const Shape& shape) {
  PN_CHECK(static_cast<int64_t>(values.size()) == shape_numel(shape),
           "from_vector: {} values for shape {}", values.size(), shape_str(shape));
  Tensor t = empty(shape, DType::Float32);
  std::memcpy(t.raw(), values.data(), values.size() * sizeof(float));
  return t;
}

// Random fills run on the tensor's own device; Philox makes the values the same on all.
Tensor Tensor::randn(const Shape& shape, Generator& gen, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  uint64_t off = gen.reserve(static_cast<uint64_t>(t.numel()));
  backend_for(device, "randn").fill_normal(dtype, t.raw(), t.numel(), gen.seed(), off, 0.0, 1.0);
  return t;
}

Tensor Tensor::rand(const Shape& shape, Generator& gen, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  uint64_t off = gen.reserve(static_cast<uint64_t>(t.numel()));
  backend_for(device, "rand").fill_uniform(dtype, t.raw(), t.numel(), gen.seed(), off, 0.0, 1.0);
  return t;
}

// --- metadata ------------------------------------------------------------------------

void throw_unsupported_dtype(const char* op, DType t) {
  PN_CHECK(std::string_view(op) != "cast", "cast: this device's backend has no {} casts (the CPU and CUDA backends "
           "have them): keep {} tensors on the CPU or a CUDA device", dtype_name(t), dtype_name(t));
  PN_FAIL("{}: no {} kernel; {} is a storage type (mixed precision) that casts, fills, copies, "
          "elementwise maps, sums, pooling, norms, softmax, convolutions and matrix products take. Cast to float32 first (Tensor::to(DType::Float32)), or run "
          "the model under an autocast scope (autograd/autocast.h), which does the casts",
          op, dtype_name(t), dtype_name(t));
}

void Tensor::check_defined(const char* what) const {
  PN_CHECK(impl_ != nullptr, "{}: the tensor is undefined", what);
}
const Shape& Tensor::shape() const { check_defined("shape"); return impl_->shape; }
int64_t Tensor::size(int d) const { return shape()[normalize_axis(d, dim(), "size")]; }
int64_t Tensor::numel() const { return shape_numel(shape()); }
DType Tensor::dtype() const { check_defined("dtype"); return impl_->dtype; }
Device Tensor::device() const { check_defined("device"); return impl_->storage->device(); }
std::string Tensor::desc() const {
  if (!impl_) return "undefined";
  return fmt::format("{}{} {}", dtype_name(dtype()), shape_str(shape()), device().str());
}

void* Tensor::raw() { check_defined("raw"); return impl_->storage->data(); }
const void* Tensor::raw() const { check_defined("raw"); return impl_->storage->data(); }

std::vector<double> Tensor::to_vector() const {
  Tensor h = device().is_cpu() ? *this : detach().to(Device::cpu());
  std::vector<double> out(static_cast<size_t>(h.numel()));
  PN_DISPATCH_ALL(dtype(), cpu::cast<scalar_t, double>(h.data<scalar_t>(), out.data(), h.numel()));
  return out;
}

double Tensor::item() const {
  PN_CHECK(numel() == 1, "item: tensor {} has {} elements, not one", desc(), numel());
  return to_vector()[0];
}

// --- copies and views ----------------------------------------------------------------

Tensor& Tensor::fill_(double value) {
  check_defined("fill_");
  backend_for(device(), "fill_").fill(dtype(), raw(), numel(), value);
  return *this;
}

Tensor& Tensor::copy_(const Tensor& src) {
  PN_CHECK(src.shape() == shape(), "copy_: source {} and destination {} differ in shape", src.desc(), desc());
  if (src.dtype() != dtype()) {
    // Cast on this tensor's device (a source elsewhere is copied over first).
    Tensor s = src.device() == device() ? src : src.detach().to(device());
    backend_for(device(), "copy_").cast(src.dtype(), dtype(), s.raw(), raw(), numel());
    return *this;
  }
  size_t bytes = static_cast<size_t>(numel()) * dtype_size(dtype());
  if (device().is_cpu() && src.device().is_cpu()) std::memcpy(raw(), src.raw(), bytes);
  else {
    PN_CHECK(cuda_allocator(), "copy_: no CUDA backend for {} -> {}", src.desc(), desc());
    cuda_allocator()->copy(raw(), device(), src.raw(), src.device(), bytes);
  }
  return *this;
}

Tensor Tensor::clone() const {
  Tensor out = empty(shape(), dtype(), device());
  out.copy_(*this);
  record(out, "clone", {*this}, [](const Tensor& g, const NeedMask&) -> Grads { return {g}; });
  return out;
}

Tensor Tensor::to(DType t) const {
  if (t == dtype()) return *this;
  Tensor out = empty(shape(), t, device());
  out.copy_(*this);
  DType src = dtype();
  record(out, "to_dtype", {*this}, [src](const Tensor& g, const NeedMask&) -> Grads { return {g.to(src)}; });
  return out;
}

Tensor Tensor::to(Device d) const {
  if (d == device()) return *this;
  Tensor out = empty(shape(), dtype(), d);
  out.copy_(*this);
  Device src = device();
  record(out, "to_device", {*this}, [src](const Tensor& g, const NeedMask&) -> Grads { return {g.to(src)}; });
  return out;
}

Tensor Tensor::reshape(const Shape& s) const {
  Shape ns = s;
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < ns.size(); ++i) {
    if (ns[i] == -1) {
      PN_CHECK(infer < 0, "reshape: more than one -1 in {}", shape_str(s));
      infer = static_cast<int>(i);
    } else known *= ns[i];
  }
  if (infer >= 0 && known > 0) ns[infer] = numel() / known;
  PN_CHECK(shape_numel(ns) == numel(), "reshape: cannot view {} as {}", desc(), shape_str(s));
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = impl_->storage;
  impl->shape = ns;
  impl->dtype = impl_->dtype;
  Tensor out(impl);
  Shape orig = shape();
  record(out, "reshape", {*this}, [orig](const Tensor& g, const NeedMask&) -> Grads { return {g.reshape(orig)}; });
  return out;
}

Tensor Tensor::flatten(int start_axis) const {
  int a = normalize_axis(start_axis, dim(), "flatten");
  Shape s(shape().begin(), shape().begin() + a);
  s.push_back(-1);
  return reshape(s);
}

// --- autograd ------------------------------------------------------------------------

bool Tensor::requires_grad() const { return impl_ && impl_->requires_grad; }

Tensor& Tensor::requires_grad_(bool on) {
  check_defined("requires_grad_");
  PN_CHECK(is_leaf() || on, "requires_grad_(false) on a non-leaf tensor {}: use detach()", desc());
  impl_->requires_grad = on;
  return *this;
}

bool Tensor::is_leaf() const { return !impl_ || impl_->grad_fn == nullptr; }
const Tensor& Tensor::grad() const { check_defined("grad"); return impl_->grad; }
void Tensor::set_grad(const Tensor& g) { check_defined("set_grad"); impl_->grad = g; }
void Tensor::zero_grad() { if (impl_) impl_->grad = Tensor(); }
std::shared_ptr<Node> Tensor::grad_fn() const { return impl_ ? impl_->grad_fn : nullptr; }
void Tensor::set_grad_fn(std::shared_ptr<Node> fn) {
  impl_->grad_fn = std::move(fn);
  impl_->requires_grad = true;
}

Tensor Tensor::detach() const {
  check_defined("detach");
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = impl_->storage;
  impl->shape = impl_->shape;
  impl->dtype = impl_->dtype;
  return Tensor(impl);
}

void Tensor::backward(const Tensor& grad, bool retain_graph, bool create_graph) const {
  pn::backward(*this, grad, retain_graph, create_graph);
}

}  // namespace pn
