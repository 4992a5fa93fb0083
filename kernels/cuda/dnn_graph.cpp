// Fused convolution graphs through cuDNN's backend API (dnn_graph.h states the contract): builds
// the operation graph of each pattern from backend descriptors, asks the heuristics for engine
// configurations, keeps the first execution plan that finalizes (cached per geometry), and runs
// it with a variant pack of device pointers by tensor uid.
#include "kernels/cuda/dnn_graph.h"

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "kernels/cuda/library_options.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {
namespace {

#define PN_BACKEND(call) check_cudnn((call), #call, __FILE__, __LINE__)

// One backend descriptor, destroyed with its owner.
class Backend {
 public:
  explicit Backend(cudnnBackendDescriptorType_t type) { PN_BACKEND(cudnnBackendCreateDescriptor(type, &d_)); }
  ~Backend() { (void)cudnnBackendDestroyDescriptor(d_); }
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;
  cudnnBackendDescriptor_t get() const { return d_; }
  template <class V>
  Backend& set(cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type, const std::vector<V>& values) {
    PN_BACKEND(cudnnBackendSetAttribute(d_, name, type, static_cast<int64_t>(values.size()), values.data()));
    return *this;
  }
  template <class V>
  Backend& set(cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type, V value) {
    const V one[1] = {value};  // (not a vector: std::vector<bool> has no data())
    PN_BACKEND(cudnnBackendSetAttribute(d_, name, type, 1, one));
    return *this;
  }
  Backend& finalize() {
    PN_BACKEND(cudnnBackendFinalize(d_));
    return *this;
  }

 private:
  cudnnBackendDescriptor_t d_ = nullptr;
};
using Owned = std::unique_ptr<Backend>;

template <class T>
cudnnDataType_t data_type() {
  if constexpr (std::is_same_v<T, __nv_bfloat16>) return CUDNN_DATA_BFLOAT16;
  if constexpr (std::is_same_v<T, __half>) return CUDNN_DATA_HALF;
  return CUDNN_DATA_FLOAT;
}

// Tensor uids of both patterns' graphs.
enum Uid : int64_t { kX = 1, kW = 2, kA = 3, kB = 4, kY = 5, kT1 = 6, kT2 = 7 };

// Strides of a tensor with dims [N, C, spatial...] stored channels-first (packed in dim order) or
// channels-last (C innermost).
std::vector<int64_t> strides_of(const std::vector<int64_t>& d, ConvLayout layout) {
  std::vector<int64_t> s(d.size(), 1);
  if (layout == ConvLayout::channels_first) {
    for (size_t i = d.size() - 1; i-- > 0;) s[i] = s[i + 1] * d[i + 1];
    return s;
  }
  s[1] = 1;
  int64_t step = d[1];
  for (size_t i = d.size() - 1; i >= 2; --i) s[i] = step, step *= d[i];
  s[0] = step;
  return s;
}

// A tensor descriptor; `alignment`: the bytes its pointer is aligned to (virtual tensors: 16).
Owned tensor(int64_t uid, cudnnDataType_t t, const std::vector<int64_t>& dims, const std::vector<int64_t>& strides,
             bool is_virtual, int64_t alignment = 16) {
  auto d = std::make_unique<Backend>(CUDNN_BACKEND_TENSOR_DESCRIPTOR);
  d->set(CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, t)
      .set(CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, dims)
      .set(CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, strides)
      .set(CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, uid)
      .set(CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, alignment)
      .set(CUDNN_ATTR_TENSOR_IS_VIRTUAL, CUDNN_TYPE_BOOLEAN, is_virtual);
  d->finalize();
  return d;
}

// The byte alignment of each variant-pack pointer (the largest power of two up to 16 dividing its
// address), declared as its tensor's CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT: cuDNN refuses a pointer
// less aligned than declared, and picks faster kernels for 16.
using Alignments = std::array<int64_t, 4>;
Alignments alignments(const std::array<const void*, 4>& pointers) {
  Alignments al{};
  for (size_t i = 0; i < pointers.size(); ++i) {
    const auto address = reinterpret_cast<uintptr_t>(pointers[i]);
    int64_t a = 16;
    while (a > 1 && address % static_cast<uintptr_t>(a) != 0) a /= 2;
    al[i] = a;
  }
  return al;
}

// [1, C, 1, ...] of the given rank.
std::vector<int64_t> channel_dims(int64_t c, size_t rank) {
  std::vector<int64_t> d(rank, 1);
  d[1] = c;
  return d;
}

// A pointwise operation y = mode(x[, b]) with its pointwise descriptor (math in float).
Owned pointwise(cudnnPointwiseMode_t mode, const Backend& x, const Backend* b, const Backend& y, float slope) {
  Backend pw(CUDNN_BACKEND_POINTWISE_DESCRIPTOR);
  pw.set(CUDNN_ATTR_POINTWISE_MODE, CUDNN_TYPE_POINTWISE_MODE, mode)
      .set(CUDNN_ATTR_POINTWISE_MATH_PREC, CUDNN_TYPE_DATA_TYPE, CUDNN_DATA_FLOAT);
  if (mode == CUDNN_POINTWISE_RELU_FWD && slope != 0.0f)
    pw.set(CUDNN_ATTR_POINTWISE_RELU_LOWER_CLIP_SLOPE, CUDNN_TYPE_DOUBLE, static_cast<double>(slope));
  pw.finalize();
  auto op = std::make_unique<Backend>(CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR);
  op->set(CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR, CUDNN_TYPE_BACKEND_DESCRIPTOR, pw.get())
      .set(CUDNN_ATTR_OPERATION_POINTWISE_XDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, x.get())
      .set(CUDNN_ATTR_OPERATION_POINTWISE_YDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, y.get());
  if (b) op->set(CUDNN_ATTR_OPERATION_POINTWISE_BDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, b->get());
  op->finalize();
  return op;
}

// A cached plan and its workspace size.
struct Plan {
  Owned plan;
  int64_t workspace = 0;
};

thread_local int64_t t_plans_built = 0;

// Whether engine configuration cfg's engine reports CUDNN_NUMERICAL_NOTE_TENSOR_CORE.
bool uses_tensor_cores(cudnnBackendDescriptor_t cfg) {
  Backend engine(CUDNN_BACKEND_ENGINE_DESCRIPTOR);
  cudnnBackendDescriptor_t raw = engine.get();
  int64_t n = 0;
  PN_BACKEND(cudnnBackendGetAttribute(cfg, CUDNN_ATTR_ENGINECFG_ENGINE, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &n, &raw));
  cudnnBackendNumericalNote_t notes[CUDNN_NUMERICAL_NOTE_TYPE_COUNT];
  PN_BACKEND(cudnnBackendGetAttribute(raw, CUDNN_ATTR_ENGINE_NUMERICAL_NOTE, CUDNN_TYPE_NUMERICAL_NOTE,
                                      CUDNN_NUMERICAL_NOTE_TYPE_COUNT, &n, notes));
  for (int64_t i = 0; i < n && i < CUDNN_NUMERICAL_NOTE_TYPE_COUNT; ++i)
    if (notes[i] == CUDNN_NUMERICAL_NOTE_TENSOR_CORE) return true;
  return false;
}

// The first engine configuration of the heuristics (mode A, then FALLBACK) whose execution plan
// finalizes, less tensor-core engines when `fp32_only` (float data without TF32); throws when none
// does, with each configuration's reason.
Plan make_plan(const Backend& graph, bool fp32_only, const std::string& what) {
  std::string reasons;
  for (cudnnBackendHeurMode_t mode : {CUDNN_HEUR_MODE_A, CUDNN_HEUR_MODE_FALLBACK}) {
    Backend heur(CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR);
    heur.set(CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, CUDNN_TYPE_BACKEND_DESCRIPTOR, graph.get())
        .set(CUDNN_ATTR_ENGINEHEUR_MODE, CUDNN_TYPE_HEUR_MODE, mode)
        .finalize();
    int64_t count = 0;
    PN_BACKEND(cudnnBackendGetAttribute(heur.get(), CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR, 0, &count, nullptr));
    std::vector<Owned> cfgs;
    std::vector<cudnnBackendDescriptor_t> raw;
    for (int64_t i = 0; i < count; ++i) {
      cfgs.push_back(std::make_unique<Backend>(CUDNN_BACKEND_ENGINECFG_DESCRIPTOR));
      raw.push_back(cfgs.back()->get());
    }
    if (count > 0)
      PN_BACKEND(cudnnBackendGetAttribute(heur.get(), CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR, count, &count, raw.data()));
    for (int64_t i = 0; i < count; ++i) {
      if (fp32_only && uses_tensor_cores(raw[static_cast<size_t>(i)])) {
        reasons += " [tensor cores (TF32) while TF32 is not allowed]";
        continue;
      }
      auto plan = std::make_unique<Backend>(CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR);
      plan->set(CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG, CUDNN_TYPE_BACKEND_DESCRIPTOR, raw[static_cast<size_t>(i)]);
      const cudnnStatus_t s = cudnnBackendFinalize(plan->get());
      if (s != CUDNN_STATUS_SUCCESS) {
        reasons += std::string(" [") + cudnnGetErrorString(s) + "]";
        continue;
      }
      Plan p{std::move(plan), 0};
      int64_t n = 0;
      PN_BACKEND(cudnnBackendGetAttribute(p.plan->get(), CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE, CUDNN_TYPE_INT64, 1, &n, &p.workspace));
      ++t_plans_built;
      return p;
    }
  }
  throw_error("cuDNN", static_cast<int>(CUDNN_STATUS_NOT_SUPPORTED), "CUDNN_STATUS_NOT_SUPPORTED",
              ("no engine of the cuDNN heuristics (modes A and FALLBACK) runs the fused graph " + what +
               "; plan failures:" + (reasons.empty() ? std::string(" none offered") : reasons) +
               "; use the legacy path (conv_forward and separate bias / activation kernels)").c_str(),
              "make_plan", __FILE__, __LINE__);
}

// The operation graph of ops (finalized), and its plan.
Plan plan_for(const std::vector<const Backend*>& ops, bool fp32_only, const std::string& what) {
  std::vector<cudnnBackendDescriptor_t> raw;
  for (const Backend* op : ops) raw.push_back(op->get());
  Backend graph(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR);
  graph.set(CUDNN_ATTR_OPERATIONGRAPH_OPS, CUDNN_TYPE_BACKEND_DESCRIPTOR, raw).finalize();
  return make_plan(graph, fp32_only, what);
}

std::map<std::string, Plan>& plan_cache() {
  thread_local std::map<std::string, Plan> cache;
  return cache;
}

// A stream-ordered workspace, returned to the pool at scope end.
struct PoolBuffer {
  void* p = nullptr;
  cudaStream_t s;
  PoolBuffer(int64_t bytes, cudaStream_t stream) : s(stream) {
    if (bytes > 0) PN_CUDA_CHECK(cudaMallocAsync(&p, static_cast<size_t>(bytes), s));
  }
  ~PoolBuffer() {
    if (p) (void)cudaFreeAsync(p, s);
  }
  PoolBuffer(const PoolBuffer&) = delete;
  PoolBuffer& operator=(const PoolBuffer&) = delete;
};

void execute(const Plan& plan, const std::vector<int64_t>& uids, const std::vector<void*>& pointers,
             cudaStream_t stream) {
  cudnnHandle_t h = cudnn_handle();
  PN_CUDNN_CHECK(cudnnSetStream(h, stream));
  PoolBuffer workspace(plan.workspace, stream);
  Backend pack(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR);
  pack.set(CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, uids)
      .set(CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR, pointers)
      .set(CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, workspace.p)
      .finalize();
  PN_BACKEND(cudnnBackendExecute(h, plan.plan->get(), pack.get()));
}

std::string join(const std::vector<int64_t>& v) {
  std::string s;
  for (int64_t x : v) s += std::to_string(x) + ",";
  return s;
}

int current_device() {
  int dev = 0;
  PN_CUDA_CHECK(cudaGetDevice(&dev));
  return dev;
}

// The activation's tail of a chain: y = act(in), or nothing (in is then y itself).
void add_activation(FusedActivation act, const Backend& in, const Backend& y, std::vector<Owned>& ops) {
  if (act.kind == FusedActivation::none) return;
  ops.push_back(pointwise(CUDNN_POINTWISE_RELU_FWD, in, nullptr, y, act.kind == FusedActivation::leaky_relu ? act.slope : 0.0f));
}

std::string act_key(FusedActivation act) { return std::to_string(act.kind) + ":" + std::to_string(act.slope); }

// conv -> add bias -> activation, for the dims of x, w, y and the convolution's per-axis values.
Plan conv_bias_act_plan(cudnnDataType_t t, const std::vector<int64_t>& xd, const std::vector<int64_t>& wd,
                        const std::vector<int64_t>& yd, const std::vector<int64_t>& stride,
                        const std::vector<int64_t>& pad, FusedActivation act, ConvLayout layout, const Alignments& al) {
  const auto ys = strides_of(yd, layout), bd = channel_dims(wd[0], xd.size());
  Owned x = tensor(kX, t, xd, strides_of(xd, layout), false, al[0]);
  Owned w = tensor(kW, t, wd, strides_of(wd, layout), false, al[1]);
  Owned bias = tensor(kA, t, bd, strides_of(bd, ConvLayout::channels_first), false, al[2]);
  Owned y = tensor(kY, t, yd, ys, false, al[3]), t1 = tensor(kT1, CUDNN_DATA_FLOAT, yd, ys, true);
  Owned t2 = tensor(kT2, CUDNN_DATA_FLOAT, yd, ys, true);
  Backend conv(CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR);
  conv.set(CUDNN_ATTR_CONVOLUTION_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, CUDNN_DATA_FLOAT)
      .set(CUDNN_ATTR_CONVOLUTION_CONV_MODE, CUDNN_TYPE_CONVOLUTION_MODE, CUDNN_CROSS_CORRELATION)
      .set(CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS, CUDNN_TYPE_INT64, static_cast<int64_t>(stride.size()))
      .set(CUDNN_ATTR_CONVOLUTION_DILATIONS, CUDNN_TYPE_INT64, std::vector<int64_t>(stride.size(), 1))
      .set(CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES, CUDNN_TYPE_INT64, stride)
      .set(CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS, CUDNN_TYPE_INT64, pad)
      .set(CUDNN_ATTR_CONVOLUTION_POST_PADDINGS, CUDNN_TYPE_INT64, pad)
      .finalize();
  std::vector<Owned> ops;
  ops.push_back(std::make_unique<Backend>(CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR));
  ops.back()->set(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_ALPHA, CUDNN_TYPE_FLOAT, 1.0f)
      .set(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_BETA, CUDNN_TYPE_FLOAT, 0.0f)
      .set(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, conv.get())
      .set(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X, CUDNN_TYPE_BACKEND_DESCRIPTOR, x->get())
      .set(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W, CUDNN_TYPE_BACKEND_DESCRIPTOR, w->get())
      .set(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y, CUDNN_TYPE_BACKEND_DESCRIPTOR, t1->get())
      .finalize();
  const bool has_act = act.kind != FusedActivation::none;
  ops.push_back(pointwise(CUDNN_POINTWISE_ADD, *t1, bias.get(), has_act ? *t2 : *y, 0.0f));
  add_activation(act, *t2, *y, ops);
  std::vector<const Backend*> raw;
  for (const Owned& op : ops) raw.push_back(op.get());
  const bool fp32_only = t == CUDNN_DATA_FLOAT && !library_options().allow_tf32;
  return plan_for(raw, fp32_only, "conv + bias + activation (x dims " + join(xd) + " w dims " + join(wd) + ")");
}

// mul scale -> add shift -> activation over x's dims; scale and shift [1, C, 1...] or, per sample,
// [N, C, 1...].
Plan scale_shift_plan(cudnnDataType_t t, const std::vector<int64_t>& xd, bool per_sample, FusedActivation act,
                      ConvLayout layout, const Alignments& al) {
  const auto xs = strides_of(xd, layout);
  std::vector<int64_t> cd = channel_dims(xd[1], xd.size());
  if (per_sample) cd[0] = xd[0];
  const auto cs = strides_of(cd, ConvLayout::channels_first);
  Owned x = tensor(kX, t, xd, xs, false, al[0]), y = tensor(kY, t, xd, xs, false, al[3]);
  Owned scale = tensor(kA, CUDNN_DATA_FLOAT, cd, cs, false, al[1]), shift = tensor(kB, CUDNN_DATA_FLOAT, cd, cs, false, al[2]);
  Owned t1 = tensor(kT1, CUDNN_DATA_FLOAT, xd, xs, true), t2 = tensor(kT2, CUDNN_DATA_FLOAT, xd, xs, true);
  const bool has_act = act.kind != FusedActivation::none;
  std::vector<Owned> ops;
  ops.push_back(pointwise(CUDNN_POINTWISE_MUL, *x, scale.get(), *t1, 0.0f));
  ops.push_back(pointwise(CUDNN_POINTWISE_ADD, *t1, shift.get(), has_act ? *t2 : *y, 0.0f));
  add_activation(act, *t2, *y, ops);
  std::vector<const Backend*> raw;
  for (const Owned& op : ops) raw.push_back(op.get());
  return plan_for(raw, false, "scale/shift + activation (x dims " + join(xd) + ")");
}

// The cached plan for key, built by make() the first time.
template <class Make>
const Plan& cached(const std::string& key, Make make) {
  auto it = plan_cache().find(key);
  if (it == plan_cache().end()) it = plan_cache().emplace(key, make()).first;
  return it->second;
}

}  // namespace

template <class T>
void conv_bias_act_forward(const kernels::ConvGeom& g, const T* x, const T* w, const T* bias, T* y,
                           FusedActivation act, cudaStream_t stream, ConvLayout layout) {
  const bool two_d = g.in[0] == 1 && g.k[0] == 1 && g.pad[0] == 0 && g.stride[0] == 1;
  const int first = two_d ? 1 : 0;
  std::vector<int64_t> xd{g.N, g.C_in}, wd{g.C_out, g.C_in}, yd{g.N, g.C_out}, stride, pad;
  for (int a = first; a < 3; ++a) {
    xd.push_back(g.in[a]), wd.push_back(g.k[a]), yd.push_back(g.out[a]);
    stride.push_back(g.stride[a]), pad.push_back(g.pad[a]);
  }
  const cudnnDataType_t t = data_type<T>();
  const std::string key = "conv_bias_act|" + std::to_string(t) + "|" + std::to_string(static_cast<int>(layout)) + "|" +
                          join(xd) + "|" + join(wd) + "|" + join(stride) + "|" + join(pad) + "|" + act_key(act) + "|" +
                          std::to_string(current_device()) + "|tf32=" + std::to_string(library_options().allow_tf32);
  const Alignments al = alignments({x, w, bias, y});
  const Plan& plan = cached(key + "|" + join({al.begin(), al.end()}),
                            [&] { return conv_bias_act_plan(t, xd, wd, yd, stride, pad, act, layout, al); });
  execute(plan, {kX, kW, kA, kY},
          {const_cast<T*>(x), const_cast<T*>(w), const_cast<T*>(bias), static_cast<void*>(y)}, stream);
}

template <class T>
void scale_shift_act(const ChannelGeom& g, const T* x, const float* scale, const float* shift, T* y,
                     FusedActivation act, cudaStream_t stream, ConvLayout layout) {
  std::vector<int64_t> xd{g.N, g.C};
  for (int a = g.spatial[0] == 1 ? 1 : 0; a < 3; ++a) xd.push_back(g.spatial[a]);
  const cudnnDataType_t t = data_type<T>();
  const std::string key = "scale_shift_act|" + std::to_string(t) + "|" + std::to_string(static_cast<int>(layout)) +
                          "|" + join(xd) + "|" + std::to_string(g.per_sample) + "|" + act_key(act) + "|" +
                          std::to_string(current_device());
  const Alignments al = alignments({x, scale, shift, y});
  const Plan& plan = cached(key + "|" + join({al.begin(), al.end()}),
                            [&] { return scale_shift_plan(t, xd, g.per_sample, act, layout, al); });
  execute(plan, {kX, kA, kB, kY},
          {const_cast<T*>(x), const_cast<float*>(scale), const_cast<float*>(shift), static_cast<void*>(y)}, stream);
}

int64_t fused_graph_plans_built() { return t_plans_built; }

#define PN_INSTANTIATE(T)                                                                                      \
  template void conv_bias_act_forward<T>(const kernels::ConvGeom&, const T*, const T*, const T*, T*,         \
                                         FusedActivation, cudaStream_t, ConvLayout);                          \
  template void scale_shift_act<T>(const ChannelGeom&, const T*, const float*, const float*, T*, FusedActivation, \
                                   cudaStream_t, ConvLayout);
PN_INSTANTIATE(float)
PN_INSTANTIATE(__nv_bfloat16)
PN_INSTANTIATE(__half)
#undef PN_INSTANTIATE

}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda
