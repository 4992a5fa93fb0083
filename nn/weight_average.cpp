#include "nn/weight_average.h"

#include <algorithm>

#include "autograd/grad_mode.h"
#include "autograd/error.h"
#include "autograd/shape.h"

namespace pn::nn {

namespace {

void check_same_layout(const NamedTensors& a, const NamedTensors& b, const char* what) {
  PN_CHECK(a.size() == b.size(), "WeightAverage: the source module has {} {}, the average {}; they must be two "
           "modules of the same architecture", a.size(), what, b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    PN_CHECK(a[i].first == b[i].first && a[i].second.shape() == b[i].second.shape() &&
                 a[i].second.dtype() == b[i].second.dtype(),
             "WeightAverage: {} {} of the source ({} {}) does not match the average's {} ({} {}); build both "
             "modules from the same configuration", what, i, a[i].first, shape_str(a[i].second.shape()),
             dtype_name(a[i].second.dtype()), b[i].first, shape_str(b[i].second.shape()),
             dtype_name(b[i].second.dtype()));
  }
}

// dst <- src, tensor by tensor (handles: copy_ writes the modules' storage).
void copy_tensors(const NamedTensors& src, const NamedTensors& dst) {
  for (size_t i = 0; i < src.size(); ++i) Tensor(dst[i].second).copy_(src[i].second);
}

}  // namespace

WeightAverage::WeightAverage(const Module& source, Module& average, double decay)
    : source_(&source), average_(&average), decay_(decay) {
  PN_CHECK(decay >= 0 && decay < 1, "WeightAverage: decay {} must lie in [0, 1)", decay);
  check_same_layout(source.named_parameters(), average.named_parameters(), "parameter");
  check_same_layout(source.named_buffers(), average.named_buffers(), "buffer");
  reset();
}

void WeightAverage::reset() {
  NoGrad ng;
  copy_tensors(source_->named_parameters(), average_->named_parameters());
  copy_tensors(source_->named_buffers(), average_->named_buffers());
}

double WeightAverage::decay_at(double decay, int64_t t) {
  return std::min(decay, (1.0 + static_cast<double>(t)) / (10.0 + static_cast<double>(t)));
}

void WeightAverage::update(int64_t t) {
  NoGrad ng;
  const double d = decay_at(decay_, t);
  const NamedTensors sp = source_->named_parameters(), ap = average_->named_parameters();
  for (size_t i = 0; i < sp.size(); ++i) {
    const Tensor& w = sp[i].second;
    Tensor avg = ap[i].second;
    avg.copy_(w + (avg - w) * d);  // d avg + (1 - d) w, one rounding fewer
  }
  copy_tensors(source_->named_buffers(), average_->named_buffers());
}

}  // namespace pn::nn
