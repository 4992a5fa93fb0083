// Concatenation and its inverse, narrowing, along one axis, exchanging two neighbouring
// axes, and cropping / zero padding of the spatial dims of (N, C, spatial...) tensors. Each
// op's backward is the other of its pair (concat <-> narrow, crop_pad <-> crop_pad with
// negated offsets, swap_axes <-> itself), so all of them are differentiable to any order.
// All are box copies (kernels/cpu/copy.h).
#pragma once
#include <cstdint>
#include <vector>

#include "autograd/tensor.h"

namespace pn {

// x with axes `axis` and `axis` + 1 exchanged, as a new tensor (its own backward). One box
// copy whose contiguous runs are the axes after the pair: cheap when those hold many elements.
Tensor swap_axes(const Tensor& x, int axis);

// Joins tensors whose shapes agree except along axis.
Tensor concat(const std::vector<Tensor>& xs, int axis);

// x[..., start : start + length, ...] along axis, as a new tensor.
Tensor narrow(const Tensor& x, int axis, int64_t start, int64_t length);

// Places x inside zeros of size `total` along axis, starting at start: narrow's adjoint.
Tensor pad_axis(const Tensor& x, int axis, int64_t start, int64_t total);

// y has x's N and C and spatial sizes out_spatial; y[n, c, o] = x[n, c, o + offsets]
// where that lies inside x, else 0. Positive offsets crop, negative ones pad.
Tensor crop_pad(const Tensor& x, const Shape& out_spatial, const std::vector<int64_t>& offsets);

// Crops the centre region of size spatial (each <= x's size); the start is floor((in - out) / 2).
Tensor center_crop(const Tensor& x, const Shape& spatial);

// Zero-pads x to size spatial (each >= x's size), x at floor((out - in) / 2): the inverse
// of center_crop.
Tensor zero_pad_center(const Tensor& x, const Shape& spatial);

}  // namespace pn
