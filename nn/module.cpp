#include "nn/module.h"

namespace pn::nn {

Tensor& Module::register_parameter(const std::string& name, Tensor t) {
  t.requires_grad_(true);
  params_.emplace_back(name, std::make_unique<Tensor>(std::move(t)));
  return *params_.back().second;
}

Tensor& Module::register_buffer(const std::string& name, Tensor t) {
  buffers_.emplace_back(name, std::make_unique<Tensor>(std::move(t)));
  return *buffers_.back().second;
}

void Module::collect(const std::string& prefix, bool params, NamedTensors& out) const {
  for (const auto& [n, t] : params ? params_ : buffers_) out.emplace_back(prefix + n, *t);
  for (const auto& [n, c] : children_) c->collect(prefix + n + ".", params, out);
}

NamedTensors Module::named_parameters() const {
  NamedTensors out;
  collect("", true, out);
  return out;
}

NamedTensors Module::named_buffers() const {
  NamedTensors out;
  collect("", false, out);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [n, t] : named_parameters()) out.push_back(t);
  return out;
}

Device Module::device() const {
  const auto params = named_parameters();
  return params.empty() ? Device::cpu() : params.front().second.device();
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (auto& [name, t] : named_parameters()) n += t.numel();
  return n;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [n, c] : children_) c->train(on);
}

void Module::zero_grad() {
  for (auto& [n, t] : params_) t->zero_grad();
  for (auto& [n, c] : children_) c->zero_grad();
}

void Module::to(Device device) {
  for (auto& [n, t] : params_) {
    Tensor moved = t->detach().to(device);
    moved.requires_grad_(true);
    *t = moved;  // the handle changes; Optimizers must be built after to()
  }
  for (auto& [n, t] : buffers_) *t = t->to(device);
  for (auto& [n, c] : children_) c->to(device);
}

void Module::summary_into(const std::string& name, int depth, std::string& out) const {
  int64_t own = 0;
  for (auto& [n, t] : params_) own += t->numel();
  out += fmt::format("{:{}}{}{}{}  [{} params{}]{}\n", "", depth * 2, name, name.empty() ? "" : ": ", describe(),
                     num_parameters(), own != num_parameters() ? fmt::format(", {} own", own) : "",
                     output_shape_.empty() ? "" : " -> " + shape_str(output_shape_));
  for (auto& [n, c] : children_) c->summary_into(n, depth + 1, out);
}

std::string Module::summary() const {
  std::string out;
  summary_into("", 0, out);
  out += fmt::format("total parameters: {}\n", num_parameters());
  return out;
}

}  // namespace pn::nn
