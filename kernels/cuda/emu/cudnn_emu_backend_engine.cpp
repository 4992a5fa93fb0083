// The emulated cuDNN backend's engines (global index 0: a tensor-core runtime-fusion engine, whose
// float convolutions run in TF32; 1: the same in FP32): which operation graphs they run (compile)
// and how (cudnn_emu_backend_execute.cpp). Supported, intermediates virtual, per-channel operands
// [1, C, 1, ...] (or [N, C, 1, ...], per sample) not virtual:
//   conv + bias + act:    CONVOLUTION_FORWARD (alpha 1, beta 0, symmetric padding) -> ADD bias
//                         -> optional RELU_FWD
//   scale/shift + act:    MUL scale -> ADD shift -> optional RELU_FWD (batch-norm apply)
// with x, w, y all FLOAT, HALF or BFLOAT16, per-channel operands FLOAT or the data type, the
// convolution's compute type and the pointwise math precision FLOAT, 4-D or 5-D tensors.
// Anything else: CUDNN_STATUS_NOT_SUPPORTED_GRAPH_PATTERN (or _DATA_TYPE, _SHAPE, _PADDING),
// so the heuristics offer no configuration and finalizing the engine fails, as real cuDNN
// behaves when no engine supports a graph.
// Arithmetic (float throughout): the convolution is the emulated legacy forward body
// (cudnn_emu_conv.cpp, IMPLICIT_GEMM: float sums in (C, r) order; engine 0 with float data first
// rounds x and w to TF32, as the legacy body does under a tensor-op math type) on float copies,
// into float scratch; then per element v = sum + bias[k] (or v = x * scale[c], then
// v = v + shift[c], each rounded to float), the activation
//   RELU_FWD: v < lower_clip ? lower_clip + slope * (v - lower_clip) : min(v, upper_clip)
// (cuDNN's RELU_LOWER_CLIP default 0, RELU_LOWER_CLIP_SLOPE default 0, RELU_UPPER_CLIP default
// the largest value), and one rounding to y's type (nearest even).
#include <cfloat>
#include <cstring>
#include <map>

#include "kernels/cuda/emu/cudnn_emu_backend_internal.h"
#include "kernels/cuda/emu/half_types.h"
#include "kernels/cuda/emu/library_op.h"

namespace pn::cuda::emu::cudnn::backend {

namespace {

cudnnStatus_t no(std::string& why, cudnnStatus_t s, std::string text) {
  why = std::move(text);
  return s;
}

bool storage_type(cudnnDataType_t t) { return t == CUDNN_DATA_FLOAT || t == CUDNN_DATA_HALF || t == CUDNN_DATA_BFLOAT16; }

// The pointwise operation that reads tensor `uid` (x or b), or nullptr.
const Descriptor* consumer(const std::vector<const Descriptor*>& pws, int64_t uid) {
  for (const Descriptor* op : pws) {
    if (tensor_info(op->ref(CUDNN_ATTR_OPERATION_POINTWISE_XDESC)).uid == uid) return op;
    if (op->has(CUDNN_ATTR_OPERATION_POINTWISE_BDESC) && tensor_info(op->ref(CUDNN_ATTR_OPERATION_POINTWISE_BDESC)).uid == uid)
      return op;
  }
  return nullptr;
}

int32_t mode_of(const Descriptor& op) {
  return op.ref(CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR).enum_value(CUDNN_ATTR_POINTWISE_MODE);
}

// A binary step of the chain: the operand that is not `from`, which must be a per-channel
// tensor of `channels` channels ([1, C, 1, ...], or [N, C, 1, ...]: per sample and channel, as
// instance norm's scale and shift), not virtual.
cudnnStatus_t channel_operand(const Descriptor& op, int64_t from, int64_t samples, int64_t channels,
                              cudnnDataType_t data, TensorInfo& out, std::string& why) {
  const TensorInfo x = tensor_info(op.ref(CUDNN_ATTR_OPERATION_POINTWISE_XDESC));
  const TensorInfo b = tensor_info(op.ref(CUDNN_ATTR_OPERATION_POINTWISE_BDESC));
  out = x.uid == from ? b : x;
  bool per_channel = out.dims.size() >= 2 && out.dims[1] == channels && !out.is_virtual;
  for (size_t i = 0; per_channel && i < out.dims.size(); ++i)
    per_channel = i == 1 || out.dims[i] == 1 || (i == 0 && out.dims[0] == samples);
  if (!per_channel)
    return no(why, CUDNN_STATUS_NOT_SUPPORTED_GRAPH_PATTERN,
              "the operand " + out.describe() + " of pointwise mode " + std::to_string(mode_of(op)) +
                  " is not a per-channel [1 or " + std::to_string(samples) + ", " + std::to_string(channels) +
                  ", 1, ...] tensor in memory");
  if (out.dtype != CUDNN_DATA_FLOAT && out.dtype != data)
    return no(why, CUDNN_STATUS_NOT_SUPPORTED_DATA_TYPE, "the per-channel operand " + out.describe() + " is neither FLOAT nor the data type");
  return CUDNN_STATUS_SUCCESS;
}

// Checks the pointwise chain's modes, scales and precision, reading its operands into p.
cudnnStatus_t read_chain(const std::vector<const Descriptor*>& chain, int64_t start, Program& p, std::string& why) {
  const std::vector<int32_t> want = p.conv ? std::vector<int32_t>{CUDNN_POINTWISE_ADD, CUDNN_POINTWISE_RELU_FWD}
                                           : std::vector<int32_t>{CUDNN_POINTWISE_MUL, CUDNN_POINTWISE_ADD, CUDNN_POINTWISE_RELU_FWD};
  if (chain.size() < want.size() - 1 || chain.size() > want.size())
    return no(why, CUDNN_STATUS_NOT_SUPPORTED_GRAPH_PATTERN, "the pointwise chain has " + std::to_string(chain.size()) + " operations");
  const int64_t channels = p.conv ? p.w.dims[0] : p.x.dims[1];
  int64_t cur = start;
  for (size_t i = 0; i < chain.size(); ++i) {
    const Descriptor& op = *chain[i];
    const Descriptor& pw = op.ref(CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR);
    if (mode_of(op) != want[i])
      return no(why, CUDNN_STATUS_NOT_SUPPORTED_GRAPH_PATTERN,
                "pointwise step " + std::to_string(i) + " has mode " + std::to_string(mode_of(op)) + ", the engine fuses mode " + std::to_string(want[i]) + " there");
    if (pw.enum_value(CUDNN_ATTR_POINTWISE_MATH_PREC) != CUDNN_DATA_FLOAT)
      return no(why, CUDNN_STATUS_NOT_SUPPORTED_DATA_TYPE, "pointwise MATH_PREC must be CUDNN_DATA_FLOAT");
    for (auto n : {CUDNN_ATTR_OPERATION_POINTWISE_ALPHA1, CUDNN_ATTR_OPERATION_POINTWISE_ALPHA2})
      if (op.has(n) && op.real(n) != 1.0) return no(why, CUDNN_STATUS_NOT_SUPPORTED, "pointwise ALPHA1 / ALPHA2 other than 1");
    if (want[i] == CUDNN_POINTWISE_RELU_FWD) {
      p.act = true;
      if (pw.has(CUDNN_ATTR_POINTWISE_RELU_LOWER_CLIP)) p.lower = pw.real(CUDNN_ATTR_POINTWISE_RELU_LOWER_CLIP);
      if (pw.has(CUDNN_ATTR_POINTWISE_RELU_UPPER_CLIP)) p.upper = pw.real(CUDNN_ATTR_POINTWISE_RELU_UPPER_CLIP);
      if (pw.has(CUDNN_ATTR_POINTWISE_RELU_LOWER_CLIP_SLOPE)) p.slope = pw.real(CUDNN_ATTR_POINTWISE_RELU_LOWER_CLIP_SLOPE);
    } else {
      TensorInfo& operand = (i == 0) ? p.a : p.b;
      if (cudnnStatus_t s = channel_operand(op, cur, p.x.dims[0], channels, p.x.dtype, operand, why); s != CUDNN_STATUS_SUCCESS) return s;
    }
    const TensorInfo y = tensor_info(op.ref(CUDNN_ATTR_OPERATION_POINTWISE_YDESC));
    const bool last = i + 1 == chain.size();
    if (y.is_virtual == last)
      return no(why, CUDNN_STATUS_NOT_SUPPORTED_GRAPH_PATTERN,
                "tensor " + y.describe() + (last ? " is the graph's output and must not be virtual" : " is an intermediate and must be virtual"));
    if (last) p.y = y;
    cur = y.uid;
  }
  return CUDNN_STATUS_SUCCESS;
}

std::array<int64_t, 5> strides5(const std::vector<int64_t>& s) {
  if (s.size() == 5) return {s[0], s[1], s[2], s[3], s[4]};
  return {s[0], s[1], 0, s[2], s[3]};
}

cudnnStatus_t read_conv(const Descriptor& op, Program& p, std::string& why) {
  const Descriptor& c = op.ref(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC);
  p.x = tensor_info(op.ref(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X));
  p.w = tensor_info(op.ref(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W));
  const TensorInfo y = tensor_info(op.ref(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y));
  if (op.real(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_ALPHA) != 1.0 || op.real(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_BETA) != 0.0)
    return no(why, CUDNN_STATUS_NOT_SUPPORTED, "the fused convolution needs alpha 1 and beta 0");
  if (!y.is_virtual || p.x.is_virtual || p.w.is_virtual)
    return no(why, CUDNN_STATUS_NOT_SUPPORTED_GRAPH_PATTERN, "the convolution must read x and w from memory and write a virtual y");
  if (c.enum_value(CUDNN_ATTR_CONVOLUTION_COMP_TYPE) != CUDNN_DATA_FLOAT)
    return no(why, CUDNN_STATUS_NOT_SUPPORTED_DATA_TYPE, "the convolution's COMP_TYPE must be CUDNN_DATA_FLOAT");
  if (p.x.dims.size() != 4 && p.x.dims.size() != 5)
    return no(why, CUDNN_STATUS_NOT_SUPPORTED_SHAPE, "only 2-D and 3-D convolutions (4-D, 5-D tensors) are emulated");
  const auto pre = c.i64s(CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS), post = c.i64s(CUDNN_ATTR_CONVOLUTION_POST_PADDINGS);
  if (pre != post) return no(why, CUDNN_STATUS_NOT_SUPPORTED_PADDING, "PRE_PADDINGS and POST_PADDINGS differ");
  const auto stride = c.i64s(CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES), dil = c.i64s(CUDNN_ATTR_CONVOLUTION_DILATIONS);
  Geometry& g = p.g;
  g.nb = static_cast<int>(p.x.dims.size());
  g.N = p.x.dims[0], g.C = p.x.dims[1], g.K = p.w.dims[0];
  const int first = 5 - g.nb;
  for (size_t i = 0; i + 2 < p.x.dims.size(); ++i) {
    g.in[first + i] = p.x.dims[i + 2], g.k[first + i] = p.w.dims[i + 2], g.out[first + i] = y.dims[i + 2];
    g.pad[first + i] = pre[i], g.stride[first + i] = stride[i], g.dilation[first + i] = dil[i];
  }
  g.xs = strides5(p.x.strides), g.ws = strides5(p.w.strides), g.ys = strides5(y.strides);
  g.flip = c.enum_value(CUDNN_ATTR_CONVOLUTION_CONV_MODE) == CUDNN_CONVOLUTION;
  g.dtype = CUDNN_DATA_FLOAT, g.math = CUDNN_FMA_MATH, g.tf32 = false;
  return CUDNN_STATUS_SUCCESS;
}

// Orders the graph's operations into the one chain the engine fuses.
cudnnStatus_t match(const std::vector<Ref>& ops, Program& p, std::string& why) {
  const Descriptor* conv = nullptr;
  std::vector<const Descriptor*> pws, chain;
  for (const Ref& op : ops) {
    if (op->type == CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR) pws.push_back(op.get());
    else if (conv) return no(why, CUDNN_STATUS_NOT_SUPPORTED_GRAPH_PATTERN, "more than one convolution");
    else conv = op.get();
  }
  int64_t start = 0;
  if (conv) {
    p.conv = true;
    if (cudnnStatus_t s = read_conv(*conv, p, why); s != CUDNN_STATUS_SUCCESS) return s;
    start = tensor_info(conv->ref(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y)).uid;
  } else {
    for (const Descriptor* op : pws)
      if (mode_of(*op) == CUDNN_POINTWISE_MUL && !tensor_info(op->ref(CUDNN_ATTR_OPERATION_POINTWISE_XDESC)).is_virtual) {
        p.x = tensor_info(op->ref(CUDNN_ATTR_OPERATION_POINTWISE_XDESC));
        start = p.x.uid;
      }
    if (p.x.dims.empty()) return no(why, CUDNN_STATUS_NOT_SUPPORTED_GRAPH_PATTERN, "no convolution, and no MUL reading x from memory");
  }
  for (const Descriptor* op = consumer(pws, start); op; op = consumer(pws, tensor_info(op->ref(CUDNN_ATTR_OPERATION_POINTWISE_YDESC)).uid))
    if (chain.size() <= pws.size()) chain.push_back(op);
    else return no(why, CUDNN_STATUS_NOT_SUPPORTED_GRAPH_PATTERN, "the operations form a cycle");
  if (chain.size() != pws.size())
    return no(why, CUDNN_STATUS_NOT_SUPPORTED_GRAPH_PATTERN, "the operations do not form one chain from x to y");
  return read_chain(chain, start, p, why);
}

}  // namespace

cudnnStatus_t compile(const Descriptor& graph, int64_t engine, std::shared_ptr<const Program>& program,
                      std::string& why) {
  auto p = std::make_shared<Program>();
  if (cudnnStatus_t s = match(graph.at(CUDNN_ATTR_OPERATIONGRAPH_OPS).refs, *p, why); s != CUDNN_STATUS_SUCCESS) return s;
  if (p->x.dims.size() != 4 && p->x.dims.size() != 5)
    return no(why, CUDNN_STATUS_NOT_SUPPORTED_SHAPE, "only 4-D and 5-D tensors are emulated");
  if (!storage_type(p->x.dtype) || p->y.dtype != p->x.dtype || (p->conv && p->w.dtype != p->x.dtype))
    return no(why, CUDNN_STATUS_NOT_SUPPORTED_DATA_TYPE,
              "x, w and y must all be FLOAT, HALF or BFLOAT16: x " + p->x.describe() + ", y " + p->y.describe());
  p->tensor_core = engine == 0 && p->conv;
  p->g.tf32 = p->tensor_core && p->x.dtype == CUDNN_DATA_FLOAT;
  program = p;
  return CUDNN_STATUS_SUCCESS;
}

}  // namespace pn::cuda::emu::cudnn::backend
