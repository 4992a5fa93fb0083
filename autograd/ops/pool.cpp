#include "autograd/ops/pool.h"

#include <memory>

#include "autograd/backend.h"
#include "autograd/node.h"
#include "autograd/storage.h"

namespace pn {

namespace {

using kernels::PoolGeom;

void check_spatial(const char* op, const Tensor& x) {
  PN_CHECK(x.defined(), "{}: undefined input", op);
  PN_CHECK(x.dim() == 4 || x.dim() == 5, "{}: input {} must be 4-D (N, C, H, W) or 5-D (N, C, D, H, W)", op,
           x.desc());
  backend_for(x.device(), op);  // fails clearly on a device without kernels
}

// Planes and the (D, H, W) sizes of x's spatial dims, with D = 1 for 2-D.
PoolGeom planes_of(const Tensor& x) {
  PoolGeom g;
  g.planes = x.size(0) * x.size(1);
  for (int i = 2; i < x.dim(); ++i) g.in[i + 3 - x.dim()] = x.size(i);
  return g;
}

// Channels-last x [N, spatial..., C]: the N samples as planes, C values per voxel.
PoolGeom samples_of(const Tensor& x) {
  PoolGeom g;
  g.planes = x.size(0);
  g.interleaved = x.size(x.dim() - 1);
  for (int i = 1; i + 1 < x.dim(); ++i) g.in[i + 4 - x.dim()] = x.size(i);
  return g;
}

// Fills the spatial window params (k, stride) of the dims x has; D stays 1 for 2-D.
void set_window(PoolGeom& g, int ndim, int64_t k, int64_t stride) {
  for (int j = 5 - ndim; j < 3; ++j) { g.k[j] = k; g.stride[j] = stride; }
}

Shape with_spatial(const Tensor& x, const int64_t* sp) {
  Shape s{x.size(0), x.size(1)};
  for (int j = 5 - x.dim(); j < 3; ++j) s.push_back(sp[j]);
  return s;
}

// [N, sp..., C] for channels-last x.
Shape with_spatial_last(const Tensor& x, const int64_t* sp) {
  Shape s{x.size(0)};
  for (int j = 5 - x.dim(); j < 3; ++j) s.push_back(sp[j]);
  s.push_back(x.size(x.dim() - 1));
  return s;
}

// The argmax of a max-pool: per output element, its source's offset within its plane
// (channels-last: within its sample; int64, on the tensors' device). Gathering through it is the pool's forward;
// scattering through it is the adjoint.
struct IndexMap {
  std::shared_ptr<Storage> idx;
  const int64_t* data() const { return static_cast<const int64_t*>(idx->data()); }
  Shape in_shape, out_shape;
  int64_t planes, in_vol, out_vol;
};

Tensor scatter_op(const Tensor& y, const IndexMap& m);

Tensor gather_op(const Tensor& x, const IndexMap& m) {
  PN_CHECK(x.shape() == m.in_shape, "max_pool gather: {} does not match {}", x.desc(), shape_str(m.in_shape));
  Tensor y = Tensor::empty(m.out_shape, x.dtype(), x.device());
  backend_for(x.device(), "max_pool gather")
      .index_gather(x.dtype(), x.raw(), m.data(), y.raw(), m.planes, m.in_vol, m.out_vol);
  record(y, "max_pool_gather", {x}, [m](const Tensor& g, const NeedMask&) -> Grads { return {scatter_op(g, m)}; });
  return y;
}

Tensor scatter_op(const Tensor& y, const IndexMap& m) {
  PN_CHECK(y.shape() == m.out_shape, "max_pool scatter: {} does not match {}", y.desc(), shape_str(m.out_shape));
  Tensor x = Tensor::empty(m.in_shape, y.dtype(), y.device());
  backend_for(y.device(), "max_pool scatter")
      .index_scatter_add(y.dtype(), y.raw(), m.data(), x.raw(), m.planes, m.in_vol, m.out_vol);
  record(x, "max_pool_scatter", {y}, [m](const Tensor& g, const NeedMask&) -> Grads { return {gather_op(g, m)}; });
  return x;
}

// factor^(spatial dims of a rank-`dim` tensor): the phases of a pixel shuffle.
int64_t block_volume(int dim, int factor) {
  int64_t v = 1;
  for (int i = 2; i < dim; ++i) v *= factor;
  return v;
}

// Upsampling geometry: in = the small grid, out = in * factor.
PoolGeom upsample_geom(const Tensor& small, int factor) {
  PoolGeom g = planes_of(small);
  set_window(g, small.dim(), factor, factor);
  for (int j = 0; j < 3; ++j) g.out[j] = g.in[j] * g.k[j];
  return g;
}

}  // namespace

Tensor max_pool(const Tensor& x, int kernel, int stride, MemoryFormat format) {
  check_spatial("max_pool", x);
  PN_CHECK(kernel >= 1 && stride >= 1, "max_pool: kernel {} and stride {} must be >= 1 (input {})", kernel, stride,
           x.desc());
  const bool last = format == MemoryFormat::channels_last;
  PoolGeom g = last ? samples_of(x) : planes_of(x);
  set_window(g, x.dim(), kernel, stride);
  for (int j = 0; j < 3; ++j) {
    PN_CHECK(g.in[j] >= g.k[j], "max_pool: kernel {} larger than input {}{}", kernel, x.desc(),
             last ? " (channels-last)" : "");
    g.out[j] = (g.in[j] - g.k[j]) / g.stride[j] + 1;
  }
  Tensor y = Tensor::empty(last ? with_spatial_last(x, g.out) : with_spatial(x, g.out), x.dtype(), x.device());
  if (y.numel() == 0) return y;
  // The argmax (8 bytes an output, 2-4x the output itself) only where a gradient will read it:
  // not under NoGrad nor for an input without gradient (SPADE's label maps).
  const bool keep_argmax = needs_record({x});
  auto idx = keep_argmax ? std::make_shared<Storage>(static_cast<size_t>(y.numel()) * sizeof(int64_t), x.device())
                         : nullptr;
  backend_for(x.device(), "max_pool")
      .max_pool_forward(x.dtype(), g, x.raw(), y.raw(), idx ? static_cast<int64_t*>(idx->data()) : nullptr);
  if (!keep_argmax) return y;
  IndexMap m{idx, x.shape(), y.shape(), g.planes, g.in_volume() * g.interleaved, g.out_volume() * g.interleaved};
  record(y, "max_pool", {x}, [m](const Tensor& gy, const NeedMask&) -> Grads { return {scatter_op(gy, m)}; });
  return y;
}

Tensor upsample_nearest(const Tensor& x, int factor) {
  check_spatial("upsample_nearest", x);
  PN_CHECK(factor >= 1, "upsample_nearest: factor {} must be >= 1 (input {})", factor, x.desc());
  PoolGeom g = upsample_geom(x, factor);
  Tensor y = Tensor::empty(with_spatial(x, g.out), x.dtype(), x.device());
  if (y.numel() > 0) backend_for(x.device(), "upsample_nearest").upsample_nearest(x.dtype(), g, x.raw(), y.raw());
  record(y, "upsample_nearest", {x}, [factor](const Tensor& gy, const NeedMask&) -> Grads {
    return {block_sum(gy, factor)};
  });
  return y;
}

Tensor block_sum(const Tensor& x, int factor) {
  check_spatial("block_sum", x);
  PN_CHECK(factor >= 1, "block_sum: factor {} must be >= 1 (input {})", factor, x.desc());
  for (int i = 2; i < x.dim(); ++i)
    PN_CHECK(x.size(i) % factor == 0, "block_sum: spatial sizes of {} must be multiples of {}", x.desc(), factor);
  Shape small = x.shape();
  for (int i = 2; i < x.dim(); ++i) small[i] /= factor;
  Tensor y = Tensor::empty(small, x.dtype(), x.device());
  PoolGeom g = upsample_geom(y, factor);
  if (y.numel() > 0) backend_for(x.device(), "block_sum").block_sum(x.dtype(), g, x.raw(), y.raw());
  record(y, "block_sum", {x}, [factor](const Tensor& gy, const NeedMask&) -> Grads {
    return {upsample_nearest(gy, factor)};
  });
  return y;
}

Tensor pixel_shuffle(const Tensor& x, int factor) {
  check_spatial("pixel_shuffle", x);
  const int64_t phases = block_volume(x.dim(), factor);
  PN_CHECK(factor >= 1 && x.size(1) % phases == 0,
           "pixel_shuffle: the channels of {} must be a multiple of factor^{} = {} (factor {})", x.desc(),
           x.dim() - 2, phases, factor);
  PoolGeom g = upsample_geom(x, factor);
  g.planes = x.size(0) * (x.size(1) / phases);
  Shape big = with_spatial(x, g.out);
  big[1] /= phases;
  Tensor y = Tensor::empty(big, x.dtype(), x.device());
  if (y.numel() > 0) backend_for(x.device(), "pixel_shuffle").pixel_shuffle(x.dtype(), g, x.raw(), y.raw());
  record(y, "pixel_shuffle", {x}, [factor](const Tensor& gy, const NeedMask&) -> Grads {
    return {pixel_unshuffle(gy, factor)};
  });
  return y;
}

Tensor pixel_unshuffle(const Tensor& x, int factor) {
  check_spatial("pixel_unshuffle", x);
  PN_CHECK(factor >= 1, "pixel_unshuffle: factor {} must be >= 1 (input {})", factor, x.desc());
  for (int i = 2; i < x.dim(); ++i)
    PN_CHECK(x.size(i) % factor == 0, "pixel_unshuffle: spatial sizes of {} must be multiples of {}", x.desc(),
             factor);
  const int64_t phases = block_volume(x.dim(), factor);
  Shape small = x.shape();
  small[1] *= phases;
  for (int i = 2; i < x.dim(); ++i) small[i] /= factor;
  Tensor y = Tensor::empty(small, x.dtype(), x.device());
  PoolGeom g = upsample_geom(y, factor);
  g.planes = x.size(0) * x.size(1);
  if (y.numel() > 0) backend_for(x.device(), "pixel_unshuffle").pixel_unshuffle(x.dtype(), g, x.raw(), y.raw());
  record(y, "pixel_unshuffle", {x}, [factor](const Tensor& gy, const NeedMask&) -> Grads {
    return {pixel_shuffle(gy, factor)};
  });
  return y;
}

}  // namespace pn
