#include "autograd/ops/concat.h"

#include <algorithm>

#include "autograd/backend.h"
#include "autograd/node.h"
#include "autograd/ops/elementwise.h"
#include "kernels/cpu/copy.h"

namespace pn {

namespace {

using kernels::BoxCopy;

int64_t prod(const Shape& s, int from, int to) {
  int64_t n = 1;
  for (int i = from; i < to; ++i) n *= s[i];
  return n;
}

// Copies src[.., src_start : src_start + len, ..] (along axis) to the same place shifted to
// dst_start in dst; both are viewed as [outer, size along axis, inner].
void copy_along_axis(const Tensor& src, Tensor& dst, int axis, int64_t src_start, int64_t dst_start, int64_t len) {
  const int64_t outer = prod(src.shape(), 0, axis), inner = prod(src.shape(), axis + 1, src.dim());
  BoxCopy b;
  b.extent[2] = outer;
  b.extent[3] = len * inner;
  b.src_stride[2] = src.size(axis) * inner;
  b.dst_stride[2] = dst.size(axis) * inner;
  if (outer == 0 || inner == 0 || len == 0) return;
  const size_t es = dtype_size(src.dtype());
  backend_for(src.device(), "copy")
      .copy_box(src.dtype(), static_cast<const char*>(src.raw()) + src_start * inner * es,
                static_cast<char*>(dst.raw()) + dst_start * inner * es, b);
}

void check_cpu(const char* op, const Tensor& x) {
  PN_CHECK(x.defined(), "{}: undefined input", op);
  backend_for(x.device(), op);  // fails clearly on a device without kernels
}

}  // namespace

Tensor swap_axes(const Tensor& x, int axis) {
  check_cpu("swap_axes", x);
  const int ax = normalize_axis(axis, x.dim(), "swap_axes");
  PN_CHECK(ax + 1 < x.dim(), "swap_axes: axis {} of {} has no next axis to swap with", axis, x.desc());
  Shape s = x.shape();
  std::swap(s[ax], s[ax + 1]);
  Tensor y = Tensor::empty(s, x.dtype(), x.device());
  const int64_t a = x.size(ax), b = x.size(ax + 1), inner = prod(x.shape(), ax + 2, x.dim());
  // [outer, a, b, inner] -> [outer, b, a, inner], walked in x's order.
  BoxCopy box;
  box.extent[0] = prod(x.shape(), 0, ax);
  box.extent[1] = a;
  box.extent[2] = b;
  box.extent[3] = inner;
  box.src_stride[0] = box.dst_stride[0] = a * b * inner;
  box.src_stride[1] = b * inner;
  box.src_stride[2] = inner;
  box.dst_stride[1] = inner;
  box.dst_stride[2] = a * inner;
  if (y.numel() > 0) backend_for(x.device(), "swap_axes").copy_box(x.dtype(), x.raw(), y.raw(), box);
  record(y, "swap_axes", {x}, [ax](const Tensor& g, const NeedMask&) -> Grads { return {swap_axes(g, ax)}; });
  return y;
}

Tensor concat(const std::vector<Tensor>& xs, int axis) {
  PN_CHECK(!xs.empty(), "concat: no tensors given");
  check_cpu("concat", xs[0]);
  const Tensor& x0 = xs[0];
  const int ax = normalize_axis(axis, x0.dim(), "concat");
  Shape out = x0.shape();
  out[ax] = 0;
  std::vector<int64_t> starts;
  for (const Tensor& x : xs) {
    detail::check_same(x0, x, "concat");
    bool fits = x.dim() == x0.dim();
    for (int i = 0; fits && i < x.dim(); ++i) fits = i == ax || x.size(i) == x0.size(i);
    PN_CHECK(fits, "concat: {} does not match {} outside axis {}", x.desc(), x0.desc(), ax);
    starts.push_back(out[ax]);
    out[ax] += x.size(ax);
  }
  if (xs.size() == 1) return x0;
  Tensor y = Tensor::empty(out, x0.dtype(), x0.device());
  for (size_t k = 0; k < xs.size(); ++k) copy_along_axis(xs[k], y, ax, 0, starts[k], xs[k].size(ax));
  std::vector<int64_t> lens;
  for (const Tensor& x : xs) lens.push_back(x.size(ax));
  record(y, "concat", xs, [ax, starts, lens](const Tensor& g, const NeedMask& need) -> Grads {
    Grads gs(need.size());
    for (size_t k = 0; k < need.size(); ++k)
      if (need[k]) gs[k] = narrow(g, ax, starts[k], lens[k]);
    return gs;
  });
  return y;
}

Tensor narrow(const Tensor& x, int axis, int64_t start, int64_t length) {
  check_cpu("narrow", x);
  const int ax = normalize_axis(axis, x.dim(), "narrow");
  PN_CHECK(start >= 0 && length >= 0 && start + length <= x.size(ax),
           "narrow: range [{}, {}) out of bounds for axis {} of {}", start, start + length, ax, x.desc());
  Shape s = x.shape();
  s[ax] = length;
  Tensor y = Tensor::empty(s, x.dtype(), x.device());
  copy_along_axis(x, y, ax, start, 0, length);
  const int64_t total = x.size(ax);
  record(y, "narrow", {x}, [ax, start, total](const Tensor& g, const NeedMask&) -> Grads {
    return {pad_axis(g, ax, start, total)};
  });
  return y;
}

Tensor pad_axis(const Tensor& x, int axis, int64_t start, int64_t total) {
  check_cpu("pad_axis", x);
  const int ax = normalize_axis(axis, x.dim(), "pad_axis");
  PN_CHECK(start >= 0 && start + x.size(ax) <= total, "pad_axis: {} placed at {} does not fit in {} along axis {}",
           x.desc(), start, total, ax);
  Shape s = x.shape();
  s[ax] = total;
  Tensor y = Tensor::zeros(s, x.dtype(), x.device());
  copy_along_axis(x, y, ax, 0, start, x.size(ax));
  const int64_t len = x.size(ax);
  record(y, "pad_axis", {x}, [ax, start, len](const Tensor& g, const NeedMask&) -> Grads {
    return {narrow(g, ax, start, len)};
  });
  return y;
}

Tensor crop_pad(const Tensor& x, const Shape& out_spatial, const std::vector<int64_t>& offsets) {
  check_cpu("crop_pad", x);
  const int nsp = x.dim() - 2;
  PN_CHECK(nsp >= 1 && nsp <= 3, "crop_pad: input {} must have 1 to 3 spatial dims after (N, C)", x.desc());
  PN_CHECK(static_cast<int>(out_spatial.size()) == nsp && static_cast<int>(offsets.size()) == nsp,
           "crop_pad: input {} needs {} output sizes and offsets, got {} and [{}]", x.desc(), nsp,
           shape_str(out_spatial), fmt::join(offsets, ", "));
  Shape ys{x.size(0), x.size(1)};
  for (int64_t o : out_spatial) {
    PN_CHECK(o >= 0, "crop_pad: negative output size in {}", shape_str(out_spatial));
    ys.push_back(o);
  }
  // Dims as (planes, D, H, W) with leading 1s; per spatial dim, the output range
  // [lo, hi) whose source o + offset lies inside x. Only an output the copy does not cover
  // (padding) is zeroed first; a pure crop is written once.
  bool covered = true;
  for (int i = 0; i < nsp; ++i) {
    const int64_t off = offsets[i];
    covered = covered && off >= 0 && off + ys[2 + i] <= x.size(2 + i);
  }
  Tensor y = covered ? Tensor::empty(ys, x.dtype(), x.device()) : Tensor::zeros(ys, x.dtype(), x.device());
  BoxCopy b;
  b.extent[0] = x.size(0) * x.size(1);
  int64_t src_off = 0, dst_off = 0;
  int64_t src_acc = 1, dst_acc = 1;  // strides of the current dim, built from the innermost
  for (int i = nsp - 1; i >= 0; --i) {
    const int j = 3 - nsp + i + 1;  // slot in extent[1..3]
    const int64_t in_n = x.size(2 + i), out_n = ys[2 + i], off = offsets[i];
    const int64_t lo = std::clamp<int64_t>(-off, 0, out_n), hi = std::clamp<int64_t>(in_n - off, lo, out_n);
    b.extent[j] = hi - lo;
    src_off += (lo + off) * src_acc;
    dst_off += lo * dst_acc;
    if (j < 3) { b.src_stride[j] = src_acc; b.dst_stride[j] = dst_acc; }
    src_acc *= in_n;
    dst_acc *= out_n;
  }
  b.src_stride[0] = src_acc;
  b.dst_stride[0] = dst_acc;
  if (b.numel() > 0)
    backend_for(x.device(), "crop_pad")
        .copy_box(x.dtype(), static_cast<const char*>(x.raw()) + src_off * dtype_size(x.dtype()),
                  static_cast<char*>(y.raw()) + dst_off * dtype_size(x.dtype()), b);
  Shape in_spatial(x.shape().begin() + 2, x.shape().end());
  std::vector<int64_t> back(offsets.size());
  for (size_t i = 0; i < offsets.size(); ++i) back[i] = -offsets[i];
  // y[o] = x[o + off] is a partial permutation; its adjoint is x[i] = y[i - off].
  record(y, "crop_pad", {x}, [in_spatial, back](const Tensor& g, const NeedMask&) -> Grads {
    return {crop_pad(g, in_spatial, back)};
  });
  return y;
}

Tensor center_crop(const Tensor& x, const Shape& spatial) {
  PN_CHECK(x.defined() && x.dim() - 2 == static_cast<int>(spatial.size()),
           "center_crop: size {} does not match the spatial dims of {}", shape_str(spatial), x.desc());
  std::vector<int64_t> off(spatial.size());
  for (size_t i = 0; i < spatial.size(); ++i) {
    PN_CHECK(spatial[i] >= 0 && spatial[i] <= x.size(2 + static_cast<int>(i)), "center_crop: {} larger than input {}",
             shape_str(spatial), x.desc());
    off[i] = (x.size(2 + static_cast<int>(i)) - spatial[i]) / 2;
  }
  return crop_pad(x, spatial, off);
}

Tensor zero_pad_center(const Tensor& x, const Shape& spatial) {
  PN_CHECK(x.defined() && x.dim() - 2 == static_cast<int>(spatial.size()),
           "zero_pad_center: size {} does not match the spatial dims of {}", shape_str(spatial), x.desc());
  std::vector<int64_t> off(spatial.size());
  for (size_t i = 0; i < spatial.size(); ++i) {
    PN_CHECK(spatial[i] >= x.size(2 + static_cast<int>(i)), "zero_pad_center: {} smaller than input {}",
             shape_str(spatial), x.desc());
    off[i] = -((spatial[i] - x.size(2 + static_cast<int>(i))) / 2);
  }
  return crop_pad(x, spatial, off);
}

}  // namespace pn
