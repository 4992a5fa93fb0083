// Module: a node of a model tree with named parameters (trained), buffers (saved but not
// trained, e.g. batch-norm running statistics) and children. Names are dotted paths
// ("down.0.conv.weight"), the keys checkpoints use. Layers that map one tensor to one
// tensor derive from UnaryModule so they fit in a Sequential.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "autograd/tensor.h"

namespace pn::nn {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class Module {
 public:
  virtual ~Module() = default;
  Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  NamedTensors named_parameters() const;
  NamedTensors named_buffers() const;
  std::vector<Tensor> parameters() const;
  int64_t num_parameters() const;

  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  void zero_grad();
  // Moves parameters and buffers to a device (the CUDA backend's seam).
  void to(Device device);
  // Where the parameters live (the first one's device; the CPU for a module without any).
  Device device() const;

  // A one-line description of this module (type and settings) for summaries.
  virtual std::string describe() const = 0;
  // Lists every module with its parameter count and, once a forward pass has run, the
  // shape of its last output; indented by depth.
  std::string summary() const;
  // The shape of the last output (recorded by UnaryModule::operator() and by models).
  const Shape& output_shape() const { return output_shape_; }
  void set_output_shape(const Shape& s) { output_shape_ = s; }
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children() const { return children_; }
  // Calls f(m) for every module m of type M in the tree under this one, itself included.
  template <class M, class F>
  void for_each(F f) {
    if (auto* m = dynamic_cast<M*>(this)) f(*m);
    for (const auto& [name, child] : children_) child->template for_each<M>(f);
  }

 protected:
  Tensor& register_parameter(const std::string& name, Tensor t);
  Tensor& register_buffer(const std::string& name, Tensor t);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    children_.emplace_back(name, m);
    return m;
  }

 private:
  void collect(const std::string& prefix, bool params, NamedTensors& out) const;
  void summary_into(const std::string& name, int depth, std::string& out) const;
  // Parameters and buffers are kept by pointer-stable storage so that references stay valid.
  std::vector<std::pair<std::string, std::unique_ptr<Tensor>>> params_, buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
  Shape output_shape_;
};

class UnaryModule : public Module {
 public:
  virtual Tensor forward(const Tensor& x) = 0;
  // forward, recording the output's shape for summary().
  Tensor operator()(const Tensor& x) {
    Tensor y = forward(x);
    set_output_shape(y.shape());
    return y;
  }
};

}  // namespace pn::nn
