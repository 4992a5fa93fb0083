#include "data/tensor_bridge.h"

#include <algorithm>

#include "autograd/error.h"

namespace pn::data {

Tensor to_tensor(const Volume& v) {
  Tensor t = Tensor::empty({1, v.dims[2], v.dims[1], v.dims[0]});
  std::copy(v.data.begin(), v.data.end(), t.data<float>());
  return t;
}

Tensor one_hot(const LabelVolume& v, int num_classes) {
  PN_CHECK(num_classes >= 1, "one_hot: num_classes must be >= 1, got {}", num_classes);
  const int64_t n = v.numel();
  Tensor t = Tensor::zeros({num_classes, v.dims[2], v.dims[1], v.dims[0]});
  float* p = t.data<float>();
  for (int64_t i = 0; i < n; ++i) {
    const int32_t l = v.data[static_cast<size_t>(i)];
    PN_CHECK(l >= 0 && l < num_classes, "one_hot: label {} at voxel {} is outside [0, {})", l, i, num_classes);
    p[l * n + i] = 1.f;
  }
  return t;
}

Tensor stack(const std::vector<Tensor>& items) {
  PN_CHECK(!items.empty(), "stack: no tensors");
  const Shape s = items[0].shape();
  Shape out_shape{static_cast<int64_t>(items.size())};
  out_shape.insert(out_shape.end(), s.begin(), s.end());
  Tensor out = Tensor::empty(out_shape);
  const int64_t per = items[0].numel();
  for (size_t i = 0; i < items.size(); ++i) {
    PN_CHECK(items[i].shape() == s, "stack: item {} has shape {} but item 0 has {}", i, fmt::join(items[i].shape(), "x"),
             fmt::join(s, "x"));
    PN_CHECK(items[i].dtype() == DType::Float32, "stack: item {} is not float32", i);
    std::copy_n(items[i].data<float>(), per, out.data<float>() + static_cast<int64_t>(i) * per);
  }
  return out;
}

}  // namespace pn::data
