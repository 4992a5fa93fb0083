// Plain geometry structs that describe an op to a kernel (CPU or CUDA): no tensors here,
// just sizes and strides, so that kernels stay independent of the autograd layer.
#pragma once
#include <cstdint>

namespace pn::kernels {

constexpr int kMaxDims = 8;

// A binary elementwise op over broadcast operands, after adjacent dimensions that
// broadcast the same way have been merged. Strides are in elements; 0 means broadcast.
struct BroadcastGeom {
  int ndim = 0;
  int64_t shape[kMaxDims] = {};
  int64_t stride_a[kMaxDims] = {};
  int64_t stride_b[kMaxDims] = {};
  int64_t numel() const {
    int64_t n = 1;
    for (int i = 0; i < ndim; ++i) n *= shape[i];
    return n;
  }
};

// A reduction of a contiguous tensor viewed as [outer, reduce, inner] blocks after merging:
// dims[i] with reduce[i] true are summed away. Output is contiguous over the kept dims.
struct ReduceGeom {
  int ndim = 0;
  int64_t shape[kMaxDims] = {};
  bool reduce[kMaxDims] = {};
};

}  // namespace pn::kernels
