// Helpers of the data-parallel tests: batches by sample index, and replica comparison.
#pragma once
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "nn/module.h"

namespace pn::test {

// Stacks the samples `idx` of a float32 dataset [n, ...] into a batch [idx.size(), ...].
inline Tensor gather(const Tensor& data, const std::vector<int64_t>& idx) {
  Shape s = data.shape();
  const int64_t per = data.numel() / s[0];
  s[0] = static_cast<int64_t>(idx.size());
  Tensor out = Tensor::empty(s, data.dtype());
  for (size_t i = 0; i < idx.size(); ++i)
    std::copy_n(data.data<float>() + idx[i] * per, per, out.data<float>() + i * per);
  return out;
}

// Largest |a - b| / (1 + |b|) over the parameters and buffers of two replicas.
inline double state_diff(nn::Module& a, nn::Module& b) {
  auto pa = a.named_parameters(), pb = b.named_parameters();
  auto ba = a.named_buffers(), bb = b.named_buffers();
  pa.insert(pa.end(), ba.begin(), ba.end());
  pb.insert(pb.end(), bb.begin(), bb.end());
  REQUIRE(pa.size() == pb.size());
  double m = 0;
  for (size_t i = 0; i < pa.size(); ++i) {
    auto va = pa[i].second.to_vector(), vb = pb[i].second.to_vector();
    REQUIRE(va.size() == vb.size());
    for (size_t j = 0; j < va.size(); ++j) m = std::max(m, std::abs(va[j] - vb[j]) / (1 + std::abs(vb[j])));
  }
  return m;
}

}  // namespace pn::test
