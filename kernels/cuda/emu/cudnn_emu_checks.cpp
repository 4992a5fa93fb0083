// The descriptor rules of the emulated cuDNN's convolutions, heuristics and workspace
// queries, as cuDNN 9's cudnn_cnn library reference lists them for cudnnConvolutionForward,
// cudnnConvolutionBackwardData and cudnnConvolutionBackwardFilter (each rule is quoted at its
// check), and the geometry read from descriptors that pass them.
#include <string>

#include "kernels/cuda/emu/cudnn_emu_internal.h"

namespace pn::cuda::emu::cudnn {

namespace {

// The names of the three descriptors in the direction's own terms, for messages.
struct Names {
  const char* x;
  const char* w;
  const char* y;
};
Names names(Direction d) {
  switch (d) {
    case Direction::Forward:
      return {"xDesc", "wDesc", "yDesc"};
    case Direction::BackwardData:
      return {"dxDesc", "wDesc", "dyDesc"};
    case Direction::BackwardFilter:
      return {"xDesc", "dwDesc", "dyDesc"};
  }
  return {"x", "w", "y"};
}

std::string dims_str(const int* v, int n) {
  std::string s = "[";
  for (int i = 0; i < n; ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

// The data type configurations of the convolution references' tables (x, w, y data type;
// convDesc compute type): FLOAT_CONFIG (FLOAT, FLOAT), DOUBLE_CONFIG (DOUBLE, DOUBLE),
// PSEUDO_HALF_CONFIG (HALF, FLOAT), PSEUDO_BFLOAT16_CONFIG (BFLOAT16, FLOAT) are emulated;
// HALF_CONFIG (HALF, HALF: true half arithmetic) is legal but not emulated; anything else
// (BFLOAT16 with a BFLOAT16 or HALF compute type, FLOAT with HALF, ...) is in no table. All
// refusals are CUDNN_STATUS_NOT_SUPPORTED ("the combination of the tensor descriptors,
// filter descriptor and convolution descriptor is not supported").
cudnnStatus_t check_config(const std::string& call, cudnnDataType_t data, cudnnDataType_t compute) {
  auto name = [](cudnnDataType_t t) {
    switch (t) {
      case CUDNN_DATA_FLOAT:
        return std::string("CUDNN_DATA_FLOAT");
      case CUDNN_DATA_DOUBLE:
        return std::string("CUDNN_DATA_DOUBLE");
      case CUDNN_DATA_HALF:
        return std::string("CUDNN_DATA_HALF");
      case CUDNN_DATA_BFLOAT16:
        return std::string("CUDNN_DATA_BFLOAT16");
      default:
        return "cudnnDataType_t " + std::to_string(t);
    }
  };
  const bool emulated = (data == CUDNN_DATA_FLOAT && compute == CUDNN_DATA_FLOAT) ||
                        (data == CUDNN_DATA_DOUBLE && compute == CUDNN_DATA_DOUBLE) ||
                        ((data == CUDNN_DATA_HALF || data == CUDNN_DATA_BFLOAT16) && compute == CUDNN_DATA_FLOAT);
  if (emulated) return CUDNN_STATUS_SUCCESS;
  const std::string pair = "data type " + name(data) + " with compute type " + name(compute);
  if (data == CUDNN_DATA_HALF && compute == CUDNN_DATA_HALF)
    return fail(CUDNN_STATUS_NOT_SUPPORTED, call,
                pair + " (HALF_CONFIG) is legal in cuDNN but not emulated; use compute type CUDNN_DATA_FLOAT "
                       "(PSEUDO_HALF_CONFIG)");
  return fail(CUDNN_STATUS_NOT_SUPPORTED, call,
              pair + " is no supported configuration (FLOAT_CONFIG, DOUBLE_CONFIG, PSEUDO_HALF_CONFIG, "
                     "PSEUDO_BFLOAT16_CONFIG: 16-bit data takes compute type CUDNN_DATA_FLOAT)");
}

// The rules on numbers of dimensions, data types and channels, shared by all directions:
//  BAD_PARAM "xDesc and yDesc have a non-matching number of dimensions", "xDesc and wDesc
//  have a non-matching number of dimensions", "xDesc has fewer than three number of
//  dimensions", "xDesc number of dimensions is not equal to convDesc array length + 2",
//  "xDesc, wDesc, and yDesc have a non-matching data type", "xDesc and wDesc have a
//  non-matching number of input feature maps per image";
//  NOT_SUPPORTED "xDesc, wDesc, or yDesc has a number of dimensions that is not 4 or 5",
//  "xDesc or yDesc have negative tensor striding", "The chosen algo does not support the
//  parameters provided" (here: a filter layout other than NCHW or NHWC, more than one group,
//  or a data/compute type pair that check_config refuses).
cudnnStatus_t check_shapes(const std::string& call, Direction dir, const Descs& d) {
  const Names n = names(dir);
  const cudnnTensorStruct &x = *d.x, &y = *d.y;
  const cudnnFilterStruct& w = *d.w;
  const cudnnConvolutionStruct& c = *d.conv;
  if (x.nb != y.nb) return fail(CUDNN_STATUS_BAD_PARAM, call, std::string(n.x) + " and " + n.y + " differ in nbDims");
  if (x.nb != w.nb) return fail(CUDNN_STATUS_BAD_PARAM, call, std::string(n.x) + " and " + n.w + " differ in nbDims");
  if (w.nb < 3) return fail(CUDNN_STATUS_BAD_PARAM, call, std::string(n.w) + " has fewer than 3 dims");
  if (x.nb != c.spatial + 2)
    return fail(CUDNN_STATUS_BAD_PARAM, call,
                std::string(n.x) + " nbDims " + std::to_string(x.nb) + " != convDesc arrayLength " +
                    std::to_string(c.spatial) + " + 2");
  if (x.nb != 4 && x.nb != 5)
    return fail(CUDNN_STATUS_NOT_SUPPORTED, call, "nbDims " + std::to_string(x.nb) + " is not 4 or 5");
  if (x.dtype != w.dtype || x.dtype != y.dtype)
    return fail(CUDNN_STATUS_BAD_PARAM, call, std::string(n.x) + ", " + n.w + " and " + n.y + " differ in data type");
  if (x.dim[1] != w.dim[1] * c.groups)
    return fail(CUDNN_STATUS_BAD_PARAM, call,
                std::string(n.x) + " has " + std::to_string(x.dim[1]) + " channels but " + n.w + " expects " +
                    std::to_string(w.dim[1]));
  for (int i = 0; i < x.nb; ++i)
    if (x.stride[i] < 0 || y.stride[i] < 0)
      return fail(CUDNN_STATUS_NOT_SUPPORTED, call,
                  std::string("negative tensor striding: ") + n.x + " " + describe(x) + ", " + n.y + " " + describe(y));
  if (w.format != CUDNN_TENSOR_NCHW && w.format != CUDNN_TENSOR_NHWC)
    return fail(CUDNN_STATUS_NOT_SUPPORTED, call, "the emulated algorithms support NCHW and NHWC filters only");
  if (c.groups != 1) return fail(CUDNN_STATUS_NOT_SUPPORTED, call, "the emulated algorithms support 1 group only");
  return check_config(call, x.dtype, c.compute);
}

// The output dims against cudnnGetConvolutionNdForwardOutputDim. Forward: BAD_PARAM "For
// some spatial dimension, wDesc has a spatial size that is larger than the input spatial
// size (including zero-padding size)"; NOT_SUPPORTED "yDesc spatial sizes do not match with
// the expected size as determined by cudnnGetConvolutionNdForwardOutputDim()". Backward
// data: BAD_PARAM "dyDesc spatial sizes do not match with the expected size". Backward
// filter's reference lists no rule for it; the emulator applies backward data's. A batch or
// channel count that does not match (not listed either) is BAD_PARAM, a non-matching size.
cudnnStatus_t check_output(const std::string& call, Direction dir, const Descs& d) {
  const Names n = names(dir);
  const cudnnTensorStruct &x = *d.x, &y = *d.y;
  const cudnnFilterStruct& w = *d.w;
  const cudnnConvolutionStruct& c = *d.conv;
  int want[CUDNN_DIM_MAX] = {x.dim[0], w.dim[0]};
  for (int i = 0; i < c.spatial; ++i) {
    const int64_t dilated = static_cast<int64_t>(w.dim[2 + i] - 1) * c.dilation[i] + 1;
    const int64_t padded = static_cast<int64_t>(x.dim[2 + i]) + 2 * c.pad[i];
    if (w.dim[2 + i] < 1 || dilated > padded)
      return fail(CUDNN_STATUS_BAD_PARAM, call,
                  std::string(n.w) + " " + describe(w) + " (dilated " + std::to_string(dilated) +
                      ") does not fit the padded input (" + std::to_string(padded) + ") in spatial dim " +
                      std::to_string(i));
    want[2 + i] = static_cast<int>(1 + (padded - dilated) / c.stride[i]);
  }
  const std::string mismatch = std::string(n.y) + " " + describe(y) + " does not match the output dims " +
                               dims_str(want, x.nb) + " that " + n.x + " " + describe(x) + ", " + n.w + " " +
                               describe(w) + " and the convolution give";
  if (y.dim[0] != want[0] || y.dim[1] != want[1]) return fail(CUDNN_STATUS_BAD_PARAM, call, mismatch);
  for (int i = 2; i < x.nb; ++i)
    if (y.dim[i] != want[i])
      return fail(dir == Direction::Forward ? CUDNN_STATUS_NOT_SUPPORTED : CUDNN_STATUS_BAD_PARAM, call, mismatch);
  return CUDNN_STATUS_SUCCESS;
}

// Element strides of a tensor as (N, C, D, H, W); a 4-D tensor's D stride is 0.
std::array<int64_t, 5> strides5(const cudnnTensorStruct& t) {
  if (t.nb == 5) return {t.stride[0], t.stride[1], t.stride[2], t.stride[3], t.stride[4]};
  return {t.stride[0], t.stride[1], 0, t.stride[2], t.stride[3]};
}

void fill(const Descs& d, Geometry& g) {
  const cudnnTensorStruct &x = *d.x, &y = *d.y;
  const cudnnFilterStruct& w = *d.w;
  const cudnnConvolutionStruct& c = *d.conv;
  g.nb = x.nb;
  g.N = x.dim[0];
  g.C = x.dim[1];
  g.K = w.dim[0];
  const int first = 5 - x.nb;  // spatial slot of the descriptors' first spatial dim
  for (int i = 0; i < c.spatial; ++i) {
    g.in[first + i] = x.dim[2 + i];
    g.k[first + i] = w.dim[2 + i];
    g.out[first + i] = y.dim[2 + i];
    g.pad[first + i] = c.pad[i];
    g.stride[first + i] = c.stride[i];
    g.dilation[first + i] = c.dilation[i];
  }
  g.xs = strides5(x);
  g.ys = strides5(y);
  if (w.format == CUDNN_TENSOR_NHWC)  // KRSC: the channel innermost
    g.ws = {g.C * g.k_volume(), 1, g.k[1] * g.k[2] * g.C, g.k[2] * g.C, g.C};
  else
    g.ws = {g.C * g.k_volume(), g.k_volume(), g.k[1] * g.k[2], g.k[2], 1};
  g.flip = c.mode == CUDNN_CONVOLUTION;
  g.dtype = x.dtype;
  g.math = c.math;
  g.tf32 = x.dtype == CUDNN_DATA_FLOAT && c.math != CUDNN_FMA_MATH;  // 16-bit values are exact in TF32
}

}  // namespace

cudnnStatus_t read_geometry(const std::string& call, Direction dir, const Descs& d, Geometry& g) {
  const Names n = names(dir);
  if (cudnnStatus_t s = check_desc(call, d.x, n.x); s != CUDNN_STATUS_SUCCESS) return s;
  if (cudnnStatus_t s = check_desc(call, d.w, n.w); s != CUDNN_STATUS_SUCCESS) return s;
  if (cudnnStatus_t s = check_desc(call, d.conv, "convDesc"); s != CUDNN_STATUS_SUCCESS) return s;
  if (cudnnStatus_t s = check_desc(call, d.y, n.y); s != CUDNN_STATUS_SUCCESS) return s;
  if (cudnnStatus_t s = check_shapes(call, dir, d); s != CUDNN_STATUS_SUCCESS) return s;
  if (cudnnStatus_t s = check_output(call, dir, d); s != CUDNN_STATUS_SUCCESS) return s;
  fill(d, g);
  return CUDNN_STATUS_SUCCESS;
}

const char* direction_name(Direction d) {
  switch (d) {
    case Direction::Forward:
      return "forward";
    case Direction::BackwardData:
      return "backward data";
    case Direction::BackwardFilter:
      return "backward filter";
  }
  return "?";
}

}  // namespace pn::cuda::emu::cudnn
