// cudnnBackendFinalize for each emulated backend descriptor type (cudnn_emu_backend.cpp has
// already checked that every required attribute is present). The rules, from the cuDNN 9
// reference's "Backend Descriptor Types" (cudnn-graph-library.html): a tensor's dimensions and
// strides have equal counts, positive values, and its byte alignment is a power of two; a
// convolution's per-axis arrays have CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS elements; a forward
// convolution's x, w, y have that many spatial dims, x and w agree on the input channels and y's
// dims are the output shape; a pointwise operation's y has x's dims, a binary mode needs its b
// operand, whose dims are 1 or x's on each axis; in an operation graph one uid names one tensor
// and each tensor has at most one producer. Failures are CUDNN_STATUS_BAD_PARAM (with cuDNN 9's
// sub-codes SHAPE_MISMATCH, DUPLICATED_ENTRIES, OUT_OF_BOUND where they fit). Engines: the one
// emulated engines have global indices 0 and 1; finalizing one on a graph it does not run gives
// the engine's NOT_SUPPORTED status (cudnn_emu_backend_engine.cpp).
#include <map>
#include <set>

#include "kernels/cuda/emu/cudnn_emu_backend_internal.h"

namespace pn::cuda::emu::cudnn::backend {
namespace {

std::string list(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

bool valid_dtype(int32_t t) { return t >= CUDNN_DATA_FLOAT && t <= CUDNN_DATA_COMPLEX_FP64; }

cudnnStatus_t finalize_tensor(const std::string& call, const Descriptor& d) {
  const TensorInfo t = tensor_info(d);
  const std::string what = "CUDNN_BACKEND_TENSOR_DESCRIPTOR " + t.describe();
  if (t.dims.size() != t.strides.size())
    return fail(CUDNN_STATUS_BAD_PARAM, call, what + ": DIMENSIONS and STRIDES have different counts");
  for (size_t i = 0; i < t.dims.size(); ++i)
    if (t.dims[i] < 1 || t.strides[i] < 1)
      return fail(CUDNN_STATUS_BAD_PARAM, call, what + ": dimensions and strides must be positive");
  if (t.alignment < 1 || (t.alignment & (t.alignment - 1)) != 0)
    return fail(CUDNN_STATUS_BAD_PARAM, call, what + ": BYTE_ALIGNMENT must be a power of two");
  if (!valid_dtype(t.dtype)) return fail(CUDNN_STATUS_BAD_PARAM, call, what + ": DATA_TYPE is not a cudnnDataType_t");
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t finalize_convolution(const std::string& call, const Descriptor& d) {
  const int64_t spatial = d.i64(CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS);
  const std::string what = "CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR";
  if (spatial < 1 || spatial > 3)
    return fail(CUDNN_STATUS_BAD_PARAM, call, what + ": SPATIAL_DIMS " + std::to_string(spatial) + " is not 1, 2 or 3");
  for (auto n : {CUDNN_ATTR_CONVOLUTION_DILATIONS, CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES,
                 CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS, CUDNN_ATTR_CONVOLUTION_POST_PADDINGS}) {
    const std::vector<int64_t> v = d.i64s(n);
    const bool padding = n == CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS || n == CUDNN_ATTR_CONVOLUTION_POST_PADDINGS;
    if (static_cast<int64_t>(v.size()) != spatial)
      return fail(CUDNN_STATUS_BAD_PARAM, call, what + ": attribute " + std::to_string(n) + " has " +
                                                   std::to_string(v.size()) + " elements, SPATIAL_DIMS is " + std::to_string(spatial));
    for (int64_t x : v)
      if (x < (padding ? 0 : 1))
        return fail(CUDNN_STATUS_BAD_PARAM, call, what + ": attribute " + std::to_string(n) + " " + list(v) +
                                                     (padding ? " has a negative padding" : " must be positive"));
  }
  const int32_t mode = d.enum_value(CUDNN_ATTR_CONVOLUTION_CONV_MODE);
  if (mode != CUDNN_CONVOLUTION && mode != CUDNN_CROSS_CORRELATION)
    return fail(CUDNN_STATUS_BAD_PARAM, call, what + ": CONV_MODE " + std::to_string(mode) + " is not a cudnnConvolutionMode_t");
  if (!valid_dtype(d.enum_value(CUDNN_ATTR_CONVOLUTION_COMP_TYPE)))
    return fail(CUDNN_STATUS_BAD_PARAM, call, what + ": COMP_TYPE is not a cudnnDataType_t");
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t finalize_conv_forward(const std::string& call, const Descriptor& d) {
  const std::string what = "CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR";
  const Descriptor& c = d.ref(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC);
  const TensorInfo x = tensor_info(d.ref(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X));
  const TensorInfo w = tensor_info(d.ref(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W));
  const TensorInfo y = tensor_info(d.ref(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y));
  const size_t rank = static_cast<size_t>(c.i64(CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS)) + 2;
  if (x.dims.size() != rank || w.dims.size() != rank || y.dims.size() != rank)
    return fail(CUDNN_STATUS_BAD_PARAM_SHAPE_MISMATCH, call,
                what + ": x, w and y must have SPATIAL_DIMS + 2 = " + std::to_string(rank) + " dimensions; x " +
                    x.describe() + ", w " + w.describe() + ", y " + y.describe());
  if (x.dims[1] != w.dims[1])
    return fail(CUDNN_STATUS_BAD_PARAM_SHAPE_MISMATCH, call,
                what + ": x has " + std::to_string(x.dims[1]) + " channels, w takes " + std::to_string(w.dims[1]));
  std::vector<int64_t> expect{x.dims[0], w.dims[0]};
  const auto pre = c.i64s(CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS), post = c.i64s(CUDNN_ATTR_CONVOLUTION_POST_PADDINGS);
  const auto stride = c.i64s(CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES), dil = c.i64s(CUDNN_ATTR_CONVOLUTION_DILATIONS);
  for (size_t i = 0; i + 2 < rank; ++i)
    expect.push_back((x.dims[i + 2] + pre[i] + post[i] - ((w.dims[i + 2] - 1) * dil[i] + 1)) / stride[i] + 1);
  if (y.dims != expect)
    return fail(CUDNN_STATUS_BAD_PARAM_SHAPE_MISMATCH, call,
                what + ": y has dims " + list(y.dims) + ", the convolution of x " + list(x.dims) + " by w " +
                    list(w.dims) + " gives " + list(expect));
  return CUDNN_STATUS_SUCCESS;
}

bool binary(int32_t mode) {
  return mode == CUDNN_POINTWISE_ADD || mode == CUDNN_POINTWISE_MUL || mode == CUDNN_POINTWISE_SUB ||
         mode == CUDNN_POINTWISE_MIN || mode == CUDNN_POINTWISE_MAX;
}

cudnnStatus_t finalize_pointwise_op(const std::string& call, const Descriptor& d) {
  const std::string what = "CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR";
  const int32_t mode = d.ref(CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR).enum_value(CUDNN_ATTR_POINTWISE_MODE);
  const TensorInfo x = tensor_info(d.ref(CUDNN_ATTR_OPERATION_POINTWISE_XDESC));
  const TensorInfo y = tensor_info(d.ref(CUDNN_ATTR_OPERATION_POINTWISE_YDESC));
  if (binary(mode) && !d.has(CUDNN_ATTR_OPERATION_POINTWISE_BDESC))
    return fail(CUDNN_STATUS_BAD_PARAM, call, what + ": pointwise mode " + std::to_string(mode) + " takes two inputs, BDESC is not set");
  if (y.dims != x.dims)
    return fail(CUDNN_STATUS_BAD_PARAM_SHAPE_MISMATCH, call, what + ": y " + y.describe() + " must have the dims of x " + x.describe());
  if (!d.has(CUDNN_ATTR_OPERATION_POINTWISE_BDESC)) return CUDNN_STATUS_SUCCESS;
  const TensorInfo b = tensor_info(d.ref(CUDNN_ATTR_OPERATION_POINTWISE_BDESC));
  bool broadcasts = b.dims.size() == x.dims.size();
  for (size_t i = 0; broadcasts && i < b.dims.size(); ++i) broadcasts = b.dims[i] == 1 || b.dims[i] == x.dims[i];
  if (!broadcasts)
    return fail(CUDNN_STATUS_BAD_PARAM_SHAPE_MISMATCH, call,
                what + ": b " + b.describe() + " does not broadcast to x " + x.describe() + " (each dim 1 or x's)");
  return CUDNN_STATUS_SUCCESS;
}

// The tensors an operation reads and writes.
void operands(const Descriptor& op, std::vector<TensorInfo>& in, std::vector<TensorInfo>& out) {
  if (op.type == CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR) {
    in.push_back(tensor_info(op.ref(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X)));
    in.push_back(tensor_info(op.ref(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W)));
    out.push_back(tensor_info(op.ref(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y)));
    return;
  }
  in.push_back(tensor_info(op.ref(CUDNN_ATTR_OPERATION_POINTWISE_XDESC)));
  if (op.has(CUDNN_ATTR_OPERATION_POINTWISE_BDESC)) in.push_back(tensor_info(op.ref(CUDNN_ATTR_OPERATION_POINTWISE_BDESC)));
  out.push_back(tensor_info(op.ref(CUDNN_ATTR_OPERATION_POINTWISE_YDESC)));
}

cudnnStatus_t finalize_graph(const std::string& call, const Descriptor& d) {
  const std::string what = "CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR";
  std::map<int64_t, TensorInfo> by_uid;
  std::set<int64_t> produced;
  for (const Ref& op : d.at(CUDNN_ATTR_OPERATIONGRAPH_OPS).refs) {
    std::vector<TensorInfo> in, out;
    operands(*op, in, out);
    in.insert(in.end(), out.begin(), out.end());
    for (const TensorInfo& t : in) {
      auto [it, fresh] = by_uid.emplace(t.uid, t);
      if (!fresh && (it->second.dims != t.dims || it->second.strides != t.strides || it->second.dtype != t.dtype ||
                     it->second.is_virtual != t.is_virtual))
        return fail(CUDNN_STATUS_BAD_PARAM_DUPLICATED_ENTRIES, call,
                    what + ": uid " + std::to_string(t.uid) + " names two different tensors: " + it->second.describe() +
                        " and " + t.describe());
    }
    for (const TensorInfo& t : out)
      if (!produced.insert(t.uid).second)
        return fail(CUDNN_STATUS_BAD_PARAM, call, what + ": tensor uid " + std::to_string(t.uid) + " is the output of two operations");
  }
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t finalize_engine(const std::string& call, Descriptor& d) {
  const int64_t index = d.i64(CUDNN_ATTR_ENGINE_GLOBAL_INDEX);
  if (index < 0 || index >= kEngineCount)
    return fail(CUDNN_STATUS_BAD_PARAM_OUT_OF_BOUND, call,
                "CUDNN_BACKEND_ENGINE_DESCRIPTOR: GLOBAL_INDEX " + std::to_string(index) +
                    " is not below CUDNN_ATTR_OPERATIONGRAPH_ENGINE_GLOBAL_COUNT (" + std::to_string(kEngineCount) +
                    " emulated engines)");
  std::string why;
  if (cudnnStatus_t s = compile(d.ref(CUDNN_ATTR_ENGINE_OPERATION_GRAPH), index, d.program, why); s != CUDNN_STATUS_SUCCESS)
    return fail(s, call, "CUDNN_BACKEND_ENGINE_DESCRIPTOR: engine " + std::to_string(index) +
                             " does not support the operation graph: " + why);
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t finalize_variant_pack(const std::string& call, const Descriptor& d) {
  const std::vector<int64_t> uids = d.i64s(CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS);
  if (static_cast<int64_t>(uids.size()) != d.at(CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS).count)
    return fail(CUDNN_STATUS_BAD_PARAM, call, "CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR: " + std::to_string(uids.size()) +
                                                 " UNIQUE_IDS but " + std::to_string(d.at(CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS).count) +
                                                 " DATA_POINTERS");
  if (std::set<int64_t>(uids.begin(), uids.end()).size() != uids.size())
    return fail(CUDNN_STATUS_BAD_PARAM_DUPLICATED_ENTRIES, call, "CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR: UNIQUE_IDS " + list(uids) + " repeat a uid");
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t check(const std::string& call, Descriptor& d) {
  switch (d.type) {
    case CUDNN_BACKEND_TENSOR_DESCRIPTOR: return finalize_tensor(call, d);
    case CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR: return finalize_convolution(call, d);
    case CUDNN_BACKEND_POINTWISE_DESCRIPTOR:
      if (!valid_dtype(d.enum_value(CUDNN_ATTR_POINTWISE_MATH_PREC)))
        return fail(CUDNN_STATUS_BAD_PARAM, call, "CUDNN_BACKEND_POINTWISE_DESCRIPTOR: MATH_PREC is not a cudnnDataType_t");
      return CUDNN_STATUS_SUCCESS;
    case CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR: return finalize_conv_forward(call, d);
    case CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR: return finalize_pointwise_op(call, d);
    case CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR: return finalize_graph(call, d);
    case CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR: {
      const int32_t mode = d.enum_value(CUDNN_ATTR_ENGINEHEUR_MODE);
      if (mode < 0 || mode >= CUDNN_HEUR_MODES_COUNT)
        return fail(CUDNN_STATUS_BAD_PARAM, call, "CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR: MODE " + std::to_string(mode) + " is not a cudnnBackendHeurMode_t");
      return CUDNN_STATUS_SUCCESS;
    }
    case CUDNN_BACKEND_ENGINE_DESCRIPTOR: return finalize_engine(call, d);
    case CUDNN_BACKEND_ENGINECFG_DESCRIPTOR: d.program = d.ref(CUDNN_ATTR_ENGINECFG_ENGINE).program; return CUDNN_STATUS_SUCCESS;
    case CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR:
      d.program = d.ref(CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG).program;
      return CUDNN_STATUS_SUCCESS;
    case CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR: return finalize_variant_pack(call, d);
  }
  return fail(CUDNN_STATUS_BAD_PARAM, call, "unknown descriptor type");
}

}  // namespace

TensorInfo tensor_info(const Descriptor& d) {
  TensorInfo t;
  t.uid = d.i64(CUDNN_ATTR_TENSOR_UNIQUE_ID);
  t.alignment = d.i64(CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT);
  t.dtype = static_cast<cudnnDataType_t>(d.enum_value(CUDNN_ATTR_TENSOR_DATA_TYPE));
  t.dims = d.i64s(CUDNN_ATTR_TENSOR_DIMENSIONS);
  t.strides = d.i64s(CUDNN_ATTR_TENSOR_STRIDES);
  t.is_virtual = d.has(CUDNN_ATTR_TENSOR_IS_VIRTUAL) && d.boolean(CUDNN_ATTR_TENSOR_IS_VIRTUAL);
  return t;
}

std::string TensorInfo::describe() const {
  return "uid " + std::to_string(uid) + " (dims " + list(dims) + ", strides " + list(strides) + ", dtype " +
         std::to_string(dtype) + (is_virtual ? ", virtual)" : ")");
}

cudnnStatus_t finalize(const std::string& call, Descriptor& d) {
  if (cudnnStatus_t s = check(call, d); s != CUDNN_STATUS_SUCCESS) return s;
  d.finalized = true;
  return CUDNN_STATUS_SUCCESS;
}

}  // namespace pn::cuda::emu::cudnn::backend
