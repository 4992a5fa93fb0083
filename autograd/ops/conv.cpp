#include "autograd/ops/conv.h"

#include "autograd/autocast.h"
#include "autograd/backend.h"
#include "autograd/node.h"
#include "autograd/ops/elementwise.h"
#include "kernels/op_geometry.h"

namespace pn {

namespace {

using kernels::ConvGeom;

// The three passes of one convolution geometry. Each is a recorded op, bilinear in its
// two operands, and the derivatives of each are the other two (see the record calls):
//   y  = fwd(x, w)        gx = bwd_input(gy, w)        gw = bwd_weight(x, gy)
Tensor conv_fwd(const Tensor& x, const Tensor& w, const ConvGeom& g);
Tensor conv_bwd_input(const Tensor& gy, const Tensor& w, const ConvGeom& g);
Tensor conv_bwd_weight(const Tensor& x, const Tensor& gy, const ConvGeom& g);

// [a, b, sp...], or [a, sp..., b] when b is the channel count of a channels-last activation.
Shape with_spatial(int64_t a, int64_t b, const int64_t* sp, int dims, bool b_last = false) {
  Shape s{a};
  if (!b_last) s.push_back(b);
  for (int i = 3 - dims; i < 3; ++i) s.push_back(sp[i]);
  if (b_last) s.push_back(b);
  return s;
}
Shape input_shape(const ConvGeom& g) { return with_spatial(g.N, g.C_in, g.in, g.spatial_dims, g.channels_last); }
Shape output_shape(const ConvGeom& g) { return with_spatial(g.N, g.C_out, g.out, g.spatial_dims, g.channels_last); }
Shape weight_shape(const ConvGeom& g) { return with_spatial(g.C_out, g.C_in, g.k, g.spatial_dims); }

// Runs one pass: a and b are its operands (checked against the geometry, which the
// public ops have validated), the result is a fresh tensor.
enum class Pass { Forward, BackwardInput, BackwardWeight };
Tensor run_pass(Pass pass, const Tensor& a, const Tensor& b, const ConvGeom& g) {
  static constexpr const char* kName[] = {"conv_forward", "conv_backward_input", "conv_backward_weight"};
  const char* name = kName[static_cast<int>(pass)];
  detail::check_same(a, b, name);
  Backend& be = backend_for(a.device(), name);
  const Shape sa = pass == Pass::BackwardInput ? output_shape(g) : input_shape(g);
  const Shape sb = pass == Pass::Forward ? weight_shape(g) : pass == Pass::BackwardInput ? weight_shape(g)
                                                                                          : output_shape(g);
  PN_CHECK(a.shape() == sa && b.shape() == sb, "{}: operands {} and {} do not match the geometry ({} and {})", name,
           a.desc(), b.desc(), shape_str(sa), shape_str(sb));
  const Shape so = pass == Pass::Forward ? output_shape(g) : pass == Pass::BackwardInput ? input_shape(g)
                                                                                          : weight_shape(g);
  Tensor out = Tensor::empty(so, a.dtype(), a.device());
  if (out.numel() == 0) return out;
  if (a.numel() == 0 || b.numel() == 0) return out.fill_(0.0);
  switch (pass) {
    case Pass::Forward: be.conv_forward(a.dtype(), g, a.raw(), b.raw(), out.raw()); break;
    case Pass::BackwardInput: be.conv_backward_input(a.dtype(), g, a.raw(), b.raw(), out.raw()); break;
    case Pass::BackwardWeight: be.conv_backward_weight(a.dtype(), g, a.raw(), b.raw(), out.raw()); break;
  }
  return out;
}

Tensor conv_fwd(const Tensor& x, const Tensor& w, const ConvGeom& g) {
  Tensor y = run_pass(Pass::Forward, x, w, g);
  record(y, "conv", {x, w}, [x, w, g](const Tensor& gy, const NeedMask& need) -> Grads {
    return {need[0] ? conv_bwd_input(gy, w, g) : Tensor(), need[1] ? conv_bwd_weight(x, gy, g) : Tensor()};
  });
  return y;
}

Tensor conv_bwd_input(const Tensor& gy, const Tensor& w, const ConvGeom& g) {
  Tensor gx = run_pass(Pass::BackwardInput, gy, w, g);
  // <ggx, bwd_input(gy, w)> = <gy, fwd(ggx, w)>: d/dgy = fwd(ggx, w), d/dw = bwd_weight(ggx, gy).
  record(gx, "conv_backward_input", {gy, w}, [gy, w, g](const Tensor& ggx, const NeedMask& need) -> Grads {
    return {need[0] ? conv_fwd(ggx, w, g) : Tensor(), need[1] ? conv_bwd_weight(ggx, gy, g) : Tensor()};
  });
  return gx;
}

Tensor conv_bwd_weight(const Tensor& x, const Tensor& gy, const ConvGeom& g) {
  Tensor gw = run_pass(Pass::BackwardWeight, x, gy, g);
  // <ggw, bwd_weight(x, gy)> = <gy, fwd(x, ggw)>: d/dx = bwd_input(gy, ggw), d/dgy = fwd(x, ggw).
  record(gw, "conv_backward_weight", {x, gy}, [x, gy, g](const Tensor& ggw, const NeedMask& need) -> Grads {
    return {need[0] ? conv_bwd_input(gy, ggw, g) : Tensor(), need[1] ? conv_fwd(x, ggw, g) : Tensor()};
  });
  return gw;
}

// stride / padding: one entry for every spatial dim, or one per dim; values >= lo.
std::vector<int64_t> per_dim(const std::vector<int>& v, int dims, int lo, const char* op, const char* what) {
  PN_CHECK(v.size() == 1 || static_cast<int>(v.size()) == dims, "{}: {} needs 1 or {} entries, got {}", op, what,
           dims, fmt::join(v, ", "));
  std::vector<int64_t> r(dims);
  for (int i = 0; i < dims; ++i) {
    r[i] = v.size() == 1 ? v[0] : v[i];
    PN_CHECK(r[i] >= lo, "{}: {} must be >= {}, got [{}]", op, what, lo, fmt::join(v, ", "));
  }
  return r;
}

// Checks what conv and conv_transpose share: ranks, dtype, device, the operand names.
void check_operands(const char* op, const Tensor& x, const Tensor& w) {
  PN_CHECK(x.defined() && w.defined(), "{}: undefined input or weight", op);
  PN_CHECK(x.dim() == 4 || x.dim() == 5, "{}: input {} must be 4-D (N, C, H, W) or 5-D (N, C, D, H, W)", op,
           x.desc());
  PN_CHECK(w.dim() == x.dim(), "{}: weight {} must have {} dims to match input {}", op, w.desc(), x.dim(),
           x.desc());
  detail::check_same(x, w, op);
  backend_for(x.device(), op);  // fails clearly on a device without kernels
  for (int d = 2; d < w.dim(); ++d) PN_CHECK(w.size(d) >= 1, "{}: empty kernel in weight {}", op, w.desc());
}

// The geometry of a convolution whose input has shape in_shape and whose weight, viewed
// as [C_out, C_in, k...], has shape w_shape.
ConvGeom make_geom(const Shape& in_shape, const Shape& w_shape, const std::vector<int64_t>& stride,
                   const std::vector<int64_t>& pad) {
  ConvGeom g;
  g.spatial_dims = static_cast<int>(in_shape.size()) - 2;
  g.N = in_shape[0];
  g.C_in = in_shape[1];
  g.C_out = w_shape[0];
  for (int i = 0; i < g.spatial_dims; ++i) {
    const int j = 3 - g.spatial_dims + i;
    g.in[j] = in_shape[2 + i];
    g.k[j] = w_shape[2 + i];
    g.stride[j] = stride[i];
    g.pad[j] = pad[i];
    g.out[j] = ConvGeom::out_size(g.in[j], g.k[j], g.stride[j], g.pad[j]);
  }
  return g;
}

// Rule 1 (autocast.h): whether the convolution's result goes back to float32 before the bias:
// when the operands were cast, or when a 16-bit result meets a float32 bias under autocast;
// never inside a Keep16BitScope (rule 1b).
bool result_to_fp32(const Tensor& x, const Tensor& xa, const Tensor& y, const Tensor& bias) {
  if (autocast_keeps_16bit()) return false;
  if (!xa.same(x)) return true;
  return autocast_dtype() != DType::Float32 && is_low_precision(y.dtype()) && bias.defined() &&
         bias.dtype() == DType::Float32;
}

// Adds the per-channel bias (channels on axis `channel_axis` of y); under rule 1b a float32 bias
// meeting a 16-bit result is cast to the result's dtype first.
Tensor add_bias(const char* op, const Tensor& y, const Tensor& bias_in, int channel_axis) {
  if (!bias_in.defined()) return y;
  const bool cast = autocast_keeps_16bit() && is_low_precision(y.dtype()) && bias_in.dtype() == DType::Float32;
  const Tensor bias = cast ? bias_in.to(y.dtype()) : bias_in;
  detail::check_same(y, bias, op);
  const int64_t c = y.size(channel_axis);
  PN_CHECK(bias.dim() == 1 && bias.size(0) == c, "{}: bias {} does not match the {} output channels", op, bias.desc(),
           c);
  Shape s(y.dim(), 1);
  s[channel_axis] = c;
  return add(y, bias.reshape(s));
}

// [N, S..., C] -> [N, C, S...] and [N, C, S...] -> [N, S..., C].
Shape channels_first_shape(const Shape& s) {
  Shape f{s[0], s.back()};
  f.insert(f.end(), s.begin() + 1, s.end() - 1);
  return f;
}
Shape channels_last_shape(const Shape& s) {
  Shape l{s[0]};
  l.insert(l.end(), s.begin() + 2, s.end());
  l.push_back(s[1]);
  return l;
}

// x [N, C, S...] -> [N, S..., C] (to_last) or back: one batched transpose per sample.
Tensor move_channels(const Tensor& x, bool to_last, const char* op) {
  PN_CHECK(x.defined(), "{}: undefined input", op);
  PN_CHECK(x.dim() == 4 || x.dim() == 5, "{}: input {} must be 4-D or 5-D", op, x.desc());
  const Shape out = to_last ? channels_last_shape(x.shape()) : channels_first_shape(x.shape());
  const int64_t n = x.size(0), c = to_last ? x.size(1) : x.size(x.dim() - 1);
  Tensor y = Tensor::empty(out, x.dtype(), x.device());
  if (y.numel() > 0) {
    const int64_t volume = y.numel() / (n * c);
    backend_for(x.device(), op).transpose_last_two(x.dtype(), x.raw(), y.raw(), n, to_last ? c : volume,
                                                  to_last ? volume : c);
  }
  record(y, op, {x}, [to_last](const Tensor& g, const NeedMask&) -> Grads {
    return {to_last ? to_channels_first(g) : to_channels_last(g)};
  });
  return y;
}

}  // namespace

Tensor to_channels_last(const Tensor& x) { return move_channels(x, true, "to_channels_last"); }
Tensor to_channels_first(const Tensor& x) { return move_channels(x, false, "to_channels_first"); }

Tensor conv(const Tensor& x, const Tensor& w, const Tensor& bias, std::vector<int> stride, std::vector<int> padding,
            MemoryFormat format) {
  // Mixed precision (autocast.h): a float32 x or w is cast to the scope's 16-bit dtype first, so
  // that a 16-bit activation meets the float32 master weight.
  const Tensor xa = autocast_operand(x), wa = autocast_operand(w);
  check_operands("conv", xa, wa);
  const bool last = format == MemoryFormat::channels_last;
  const Shape xs = last ? channels_first_shape(x.shape()) : x.shape();  // [N, C_in, spatial...]
  const int dims = x.dim() - 2;
  PN_CHECK(xs[1] == w.size(1), "conv: input {} has {} channels{} but weight {} expects {}", x.desc(), xs[1],
           last ? " (channels-last)" : "", w.desc(), w.size(1));
  auto s = per_dim(stride, dims, 1, "conv", "stride");
  auto p = per_dim(padding, dims, 0, "conv", "padding");
  for (int i = 0; i < dims; ++i)
    PN_CHECK(xs[2 + i] + 2 * p[i] >= w.size(2 + i),
             "conv: kernel {} does not fit input {} with padding [{}] (spatial dim {})", shape_str(w.shape()),
             x.desc(), fmt::join(p, ", "), i);
  ConvGeom g = make_geom(xs, w.shape(), s, p);
  g.channels_last = last;
  const Tensor y = conv_fwd(xa, wa, g);
  return add_bias("conv", autocast_result(y, result_to_fp32(x, xa, y, bias)), bias, last ? y.dim() - 1 : 1);
}

Tensor conv_transpose(const Tensor& x, const Tensor& w, const Tensor& bias, std::vector<int> stride,
                      std::vector<int> padding, MemoryFormat format) {
  // Mixed precision (autocast.h): a float32 x or w is cast to the scope's 16-bit dtype first, so
  // that a 16-bit activation meets the float32 master weight.
  const Tensor xa = autocast_operand(x), wa = autocast_operand(w);
  check_operands("conv_transpose", xa, wa);
  const bool last = format == MemoryFormat::channels_last;
  const Shape xs = last ? channels_first_shape(x.shape()) : x.shape();  // [N, C_in, spatial...]
  const int dims = x.dim() - 2;
  PN_CHECK(xs[1] == w.size(0), "conv_transpose: input {} has {} channels{} but weight {} expects {}", x.desc(),
           xs[1], last ? " (channels-last)" : "", w.desc(), w.size(0));
  auto s = per_dim(stride, dims, 1, "conv_transpose", "stride");
  auto p = per_dim(padding, dims, 0, "conv_transpose", "padding");
  // The output is the input of a conv (weight [C_out = C_in_t, C_in = C_out_t, k...],
  // PyTorch's transposed layout read as a conv weight) whose output has x's shape.
  Shape y_shape{xs[0], w.size(1)};
  for (int i = 0; i < dims; ++i) {
    const int64_t o = (xs[2 + i] - 1) * s[i] - 2 * p[i] + w.size(2 + i);
    PN_CHECK(o >= 1, "conv_transpose: padding [{}] leaves no output for input {} and weight {} (spatial dim {})",
             fmt::join(p, ", "), x.desc(), w.desc(), i);
    y_shape.push_back(o);
  }
  ConvGeom g = make_geom(y_shape, w.shape(), s, p);
  g.channels_last = last;
  const Tensor y = conv_bwd_input(xa, wa, g);
  return add_bias("conv_transpose", autocast_result(y, result_to_fp32(x, xa, y, bias)), bias, last ? y.dim() - 1 : 1);
}

}  // namespace pn
