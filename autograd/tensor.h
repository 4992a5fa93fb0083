// Tensor: a cheap handle (shared pointer) to a contiguous NC[D]HW array on one device,
// with the autograd bookkeeping: requires_grad, the accumulated .grad of a leaf, and the
// Node that produced it. Copying a Tensor copies the handle, never the data.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "autograd/dtype.h"
#include "autograd/error.h"
#include "autograd/shape.h"
#include "autograd/storage.h"

namespace pn {

struct Node;
class Generator;
struct TensorImpl;

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // --- creation ---------------------------------------------------------------------
  static Tensor empty(const Shape& shape, DType dtype = DType::Float32, Device device = {});
  static Tensor zeros(const Shape& shape, DType dtype = DType::Float32, Device device = {});
  static Tensor ones(const Shape& shape, DType dtype = DType::Float32, Device device = {});
  static Tensor full(const Shape& shape, double value, DType dtype = DType::Float32, Device device = {});
  static Tensor scalar(double value, DType dtype = DType::Float32, Device device = {});
  static Tensor from_vector(const std::vector<double>& values, const Shape& shape,
                            DType dtype = DType::Float32);
  static Tensor from_vector(const std::vector<float>& values, const Shape& shape);
  static Tensor randn(const Shape& shape, Generator& gen, DType dtype = DType::Float32, Device device = {});
  static Tensor rand(const Shape& shape, Generator& gen, DType dtype = DType::Float32, Device device = {});

  // --- metadata ---------------------------------------------------------------------
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  int dim() const { return static_cast<int>(shape().size()); }
  int64_t size(int d) const;
  int64_t numel() const;
  DType dtype() const;
  Device device() const;
  std::string desc() const;  // "float32[2, 3] cpu", for messages

  // --- data -------------------------------------------------------------------------
  template <class T> T* data();
  template <class T> const T* data() const;
  void* raw();
  const void* raw() const;
  double item() const;                   // the value of a one-element tensor
  std::vector<double> to_vector() const; // all values, as double, on the host
  Tensor to(DType dtype) const;          // differentiable cast
  Tensor to(Device device) const;        // differentiable copy to another device
  Tensor clone() const;                  // differentiable deep copy
  Tensor reshape(const Shape& shape) const;  // differentiable; shares storage
  Tensor flatten(int start_axis = 1) const;

  // --- in place (never recorded; for optimisers, initialisers and buffers) ----------
  Tensor& fill_(double value);
  Tensor& copy_(const Tensor& src);  // same shape; dtype and device may differ

  // --- autograd ---------------------------------------------------------------------
  bool requires_grad() const;
  Tensor& requires_grad_(bool on = true);
  bool is_leaf() const;
  const Tensor& grad() const;  // accumulated gradient of a leaf (undefined until backward)
  void set_grad(const Tensor& g);
  void zero_grad();            // drops the accumulated gradient
  std::shared_ptr<Node> grad_fn() const;
  void set_grad_fn(std::shared_ptr<Node> fn);
  Tensor detach() const;       // same storage, cut from the graph
  // Reverse-mode pass from this tensor; see engine.h.
  void backward(const Tensor& grad = {}, bool retain_graph = false, bool create_graph = false) const;

  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool same(const Tensor& o) const { return impl_ == o.impl_; }

 private:
  void check_defined(const char* what) const;
  std::shared_ptr<TensorImpl> impl_;
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  DType dtype = DType::Float32;
  bool requires_grad = false;
  Tensor grad;
  std::shared_ptr<Node> grad_fn;
};

template <class T>
T* Tensor::data() {
  check_defined("data");
  PN_CHECK(impl_->dtype == dtype_of<T>::value, "data<{}>() on a {} tensor",
           dtype_name(dtype_of<T>::value), desc());
  return static_cast<T*>(impl_->storage->data());
}

template <class T>
const T* Tensor::data() const {
  return const_cast<Tensor*>(this)->data<T>();
}

// Operators as shorthand for the ops in autograd/ops (defined there).
Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a);
Tensor operator+(const Tensor& a, double s);
Tensor operator-(const Tensor& a, double s);
Tensor operator*(const Tensor& a, double s);
Tensor operator/(const Tensor& a, double s);
Tensor operator+(double s, const Tensor& a);
Tensor operator-(double s, const Tensor& a);
Tensor operator*(double s, const Tensor& a);

}  // namespace pn
