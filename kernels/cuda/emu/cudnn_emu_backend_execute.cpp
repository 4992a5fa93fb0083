// cudnnBackendExecute's device work for the emulated engine's programs
// (cudnn_emu_backend_engine.cpp states what they compute). The variant pack must give a
// non-NULL pointer for every tensor of the graph that is not virtual (CUDNN_STATUS_BAD_PARAM
// otherwise), each aligned to its tensor's CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT
// (CUDNN_STATUS_BAD_PARAM_MISALIGNED_POINTER); the work is one op on the handle's stream that
// declares each tensor's span (max offset + 1 elements) as read, and y's as written; a refused
// access (host memory, a short or freed buffer, another device) fails the call with
// CUDNN_STATUS_EXECUTION_FAILED before anything runs, as the legacy convolutions do.
#include <algorithm>
#include <atomic>
#include <cfloat>
#include <cstring>
#include <map>

#include "kernels/cuda/emu/cudnn_emu_backend_internal.h"
#include "kernels/cuda/emu/half_types.h"
#include "kernels/cuda/emu/library_op.h"

namespace pn::cuda::emu::cudnn::backend {
namespace {

std::atomic<int64_t> g_executions{0};

size_t bytes_of(cudnnDataType_t t) { return t == CUDNN_DATA_FLOAT ? 4 : 2; }

int64_t span(const TensorInfo& t) {
  int64_t last = 0;
  for (size_t i = 0; i < t.dims.size(); ++i) last += (t.dims[i] - 1) * t.strides[i];
  return last + 1;
}

float load(cudnnDataType_t t, const void* p, int64_t i) {
  if (t == CUDNN_DATA_HALF) return static_cast<float>(static_cast<const __half*>(p)[i]);
  if (t == CUDNN_DATA_BFLOAT16) return static_cast<float>(static_cast<const __nv_bfloat16*>(p)[i]);
  return static_cast<const float*>(p)[i];
}

void store(cudnnDataType_t t, void* p, int64_t i, float v) {
  if (t == CUDNN_DATA_HALF) static_cast<__half*>(p)[i] = __half(v);
  else if (t == CUDNN_DATA_BFLOAT16) static_cast<__nv_bfloat16*>(p)[i] = __nv_bfloat16(v);
  else static_cast<float*>(p)[i] = v;
}

std::vector<float> widen(const TensorInfo& t, const void* p) {
  std::vector<float> f(static_cast<size_t>(span(t)));
  for (size_t i = 0; i < f.size(); ++i) f[i] = load(t.dtype, p, static_cast<int64_t>(i));
  return f;
}

float activate(const Program& p, float v) {
  if (!p.act) return v;
  const float lower = static_cast<float>(p.lower), upper = static_cast<float>(std::min<double>(p.upper, FLT_MAX));
  if (v < lower) return lower + static_cast<float>(p.slope) * (v - lower);
  return v < upper ? v : upper;
}

// Calls f(offset in y, offset in x, sample, channel) for every element of y (x has y's dims).
template <class F>
void each_element(const Program& p, F f) {
  const std::vector<int64_t>& d = p.y.dims;
  std::vector<int64_t> idx(d.size(), 0);
  for (;;) {
    int64_t yo = 0, xo = 0;
    for (size_t i = 0; i < d.size(); ++i) yo += idx[i] * p.y.strides[i], xo += idx[i] * p.x.strides[i];
    f(yo, xo, idx[0], idx[1]);
    size_t a = d.size();
    while (a > 0 && ++idx[a - 1] == d[a - 1]) idx[--a] = 0;
    if (a == 0) return;
  }
}

struct Pointers {
  const void *x = nullptr, *w = nullptr, *a = nullptr, *b = nullptr;
  void* y = nullptr;
};

void run_program(const Program& p, const Pointers& q) {
  // A per-channel operand's value for sample n, channel c ([1, C, ...] or [N, C, ...]).
  const auto channel = [](const TensorInfo& t, const void* ptr, int64_t n, int64_t c) {
    return load(t.dtype, ptr, (t.dims[0] == 1 ? 0 : n) * t.strides[0] + c * t.strides[1]);
  };
  if (p.conv) {
    std::vector<float> x = widen(p.x, q.x), w = widen(p.w, q.w), sums(static_cast<size_t>(span(p.y)));
    const Launch l{Direction::Forward, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, p.g, x.data(), w.data(), sums.data(), nullptr, 1.0, 0.0, 0};
    run(l);
    each_element(p, [&](int64_t yo, int64_t, int64_t n, int64_t c) {
      store(p.y.dtype, q.y, yo, activate(p, sums[yo] + channel(p.a, q.a, n, c)));
    });
    return;
  }
  each_element(p, [&](int64_t yo, int64_t xo, int64_t n, int64_t c) {
    const float scaled = load(p.x.dtype, q.x, xo) * channel(p.a, q.a, n, c);
    store(p.y.dtype, q.y, yo, activate(p, scaled + channel(p.b, q.b, n, c)));
  });
}

}  // namespace

cudnnStatus_t execute(const std::string& call, cudnnHandle_t handle, const Program& program, const Descriptor& pack) {
  std::map<int64_t, void*> by_uid;
  const std::vector<int64_t> uids = pack.i64s(CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS);
  for (size_t i = 0; i < uids.size(); ++i)
    by_uid[uids[i]] = const_cast<void*>(pack.pointer(CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, static_cast<int64_t>(i)));
  struct Operand { const TensorInfo* t; const char* role; bool write; void** slot; };
  Pointers q;
  void* slots[5] = {};
  std::vector<Operand> ops{{&program.x, "x", false, &slots[0]}, {&program.a, program.conv ? "bias" : "scale", false, &slots[2]}};
  if (program.conv) ops.push_back({&program.w, "w", false, &slots[1]});
  else ops.push_back({&program.b, "shift", false, &slots[3]});
  ops.push_back({&program.y, "y", true, &slots[4]});
  std::vector<detail::Access> accesses;
  for (const Operand& o : ops) {
    auto it = by_uid.find(o.t->uid);
    if (it == by_uid.end() || !it->second)
      return fail(CUDNN_STATUS_BAD_PARAM, call, std::string("the variant pack gives no device pointer for ") + o.role + ", tensor " + o.t->describe());
    if (reinterpret_cast<uintptr_t>(it->second) % static_cast<uintptr_t>(o.t->alignment) != 0)
      return fail(CUDNN_STATUS_BAD_PARAM_MISALIGNED_POINTER, call,
                  std::string("the pointer for ") + o.role + " is not aligned to its tensor's BYTE_ALIGNMENT " + std::to_string(o.t->alignment));
    *o.slot = it->second;
    accesses.push_back({it->second, static_cast<size_t>(span(*o.t)) * bytes_of(o.t->dtype), o.write, o.role});
  }
  q.x = slots[0], q.w = slots[1], q.a = slots[2], q.b = slots[3], q.y = slots[4];
  const Program p = program;
  const std::string refused = detail::enqueue_library_op(
      handle->stream, call + (p.conv ? " (fused conv + bias + activation)" : " (fused scale/shift + activation)"),
      std::move(accesses), [p, q](std::string&) {
        run_program(p, q);
        return cudaSuccess;
      });
  if (!refused.empty()) return fail(CUDNN_STATUS_EXECUTION_FAILED, call, refused);
  ++g_executions;
  return CUDNN_STATUS_SUCCESS;
}

}  // namespace pn::cuda::emu::cudnn::backend

namespace pn::cuda::emu {
int64_t cudnn_graph_executions() { return cudnn::backend::g_executions.load(); }
}  // namespace pn::cuda::emu
