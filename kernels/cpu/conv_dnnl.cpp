// oneDNN float32 and bfloat16 convolution: plans (primitive + reorders) per geometry and pass, work
// buffers reused across calls. See conv_dnnl.h.
#include "kernels/cpu/conv_dnnl.h"

#include <stdexcept>

#ifdef PENUMBRA_HAVE_DNNL
#include <algorithm>
#include <array>
#include <cstdlib>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <oneapi/dnnl/dnnl.hpp>
#include <unordered_map>

#include <omp.h>
#endif

namespace pn::cpu {

using kernels::ConvGeom;

#ifndef PENUMBRA_HAVE_DNNL

bool dnnl_available() { return false; }
bool dnnl_conv_supported(const ConvGeom&) { return false; }
[[noreturn]] static void no_dnnl() {
  throw std::logic_error("conv (oneDNN): this build has no oneDNN (install libdnnl-dev: tools/install-deps.sh)");
}
void dnnl_conv_forward(const ConvGeom&, const float*, const float*, float*) { no_dnnl(); }
void dnnl_conv_backward_input(const ConvGeom&, const float*, const float*, float*) { no_dnnl(); }
void dnnl_conv_backward_weight(const ConvGeom&, const float*, const float*, float*) { no_dnnl(); }
bool dnnl_bf16_native() { return false; }
void dnnl_conv_forward(const ConvGeom&, const math::bfloat16*, const math::bfloat16*, math::bfloat16*) { no_dnnl(); }
void dnnl_conv_backward_input(const ConvGeom&, const math::bfloat16*, const math::bfloat16*, math::bfloat16*) {
  no_dnnl();
}
void dnnl_conv_backward_weight(const ConvGeom&, const math::bfloat16*, const math::bfloat16*, math::bfloat16*) {
  no_dnnl();
}
void dnnl_conv_release() {}

#else

namespace {

// Right padding oneDNN needs so that its output size equals ours: (out - 1) * stride + k -
// in - pad_left; negative (oneDNN accepts it) where floor division drops trailing input.
int64_t right_pad(const ConvGeom& g, int j) { return (g.out[j] - 1) * g.stride[j] + g.k[j] - g.in[j] - g.pad[j]; }

// A 2-D convolution (D = 1 everywhere) runs as a 2-D primitive, whose kernels suit it better.
bool is_2d(const ConvGeom& g) {
  return g.spatial_dims == 2 && g.in[0] == 1 && g.k[0] == 1 && g.stride[0] == 1 && g.pad[0] == 0;
}

using dnnl::memory;
using Tag = memory::format_tag;
enum class Pass { Forward, BackwardData, BackwardWeights };

dnnl::engine& engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

memory::dims spatial(const ConvGeom& g, const int64_t* v) {
  return is_2d(g) ? memory::dims{v[1], v[2]} : memory::dims{v[0], v[1], v[2]};
}
memory::dims with_spatial(const ConvGeom& g, int64_t a, int64_t b, const int64_t* sp) {
  memory::dims d{a, b};
  for (int64_t s : spatial(g, sp)) d.push_back(s);
  return d;
}
using DataType = memory::data_type;
// Our layouts: activations NC[D]HW, or N[D]HWC for channels-last; the weight [C_out, C_in, k...].
memory::desc plain_act(const ConvGeom& g, int64_t c, const int64_t* sp, DataType dt) {
  const Tag tag = g.channels_last ? (is_2d(g) ? Tag::nhwc : Tag::ndhwc) : (is_2d(g) ? Tag::nchw : Tag::ncdhw);
  return {with_spatial(g, g.N, c, sp), dt, tag};
}
memory::desc plain_weights(const ConvGeom& g, DataType dt) {
  return {with_spatial(g, g.C_out, g.C_in, g.k), dt, is_2d(g) ? Tag::oihw : Tag::oidhw};
}
memory::desc any_like(const memory::desc& d) { return {d.dims(), d.data_type(), Tag::any}; }
// What the primitive is asked to take for an activation: its own choice (a blocked layout, with
// reorders around the call) for channels-first, our layout itself for channels-last, whose
// kernels read and write N[D]HWC directly (no reorder, no blocked copy of the activation).
memory::desc act_for_primitive(const ConvGeom& g, const memory::desc& d) {
  return g.channels_last ? d : any_like(d);
}

// One operand of a plan: its plain layout (ours), the one the primitive chose, the oneDNN
// argument it binds to, and the reorder between the two when they differ.
struct Operand {
  int arg = 0;
  bool output = false;
  memory::desc plain, chosen;
  dnnl::reorder reorder;
  bool needs_reorder() const { return plain != chosen; }
};

// A built primitive with its operands (two inputs, then the output) and scratchpad.
struct Plan {
  dnnl::primitive prim;
  std::array<Operand, 3> ops;
  memory::desc scratchpad;
};

Operand operand(int arg, bool output, const memory::desc& plain, const memory::desc& chosen) {
  Operand o{arg, output, plain, chosen, {}};
  if (o.needs_reorder())
    o.reorder = output ? dnnl::reorder(dnnl::reorder::primitive_desc(engine(), chosen, engine(), plain))
                       : dnnl::reorder(dnnl::reorder::primitive_desc(engine(), plain, engine(), chosen));
  return o;
}

dnnl::convolution_forward::primitive_desc forward_pd(const ConvGeom& g, DataType dt, const dnnl::primitive_attr& attr) {
  const memory::desc x = plain_act(g, g.C_in, g.in, dt), w = plain_weights(g, dt), y = plain_act(g, g.C_out, g.out, dt);
  memory::dims pr;
  for (int j = is_2d(g) ? 1 : 0; j < 3; ++j) pr.push_back(right_pad(g, j));
  dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                                    act_for_primitive(g, x), any_like(w), act_for_primitive(g, y), spatial(g, g.stride),
                                    spatial(g, g.pad), pr);
  return {d, attr, engine()};
}

// dt is the data type of every operand (bf16 primitives accumulate in float32).
std::unique_ptr<Plan> build_plan(Pass pass, const ConvGeom& g, DataType dt) {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  const memory::desc x = plain_act(g, g.C_in, g.in, dt), w = plain_weights(g, dt), y = plain_act(g, g.C_out, g.out, dt);
  auto fwd = forward_pd(g, dt, attr);
  auto plan = std::make_unique<Plan>();
  if (pass == Pass::Forward) {
    plan->prim = dnnl::convolution_forward(fwd);
    plan->ops = {operand(DNNL_ARG_SRC, false, x, fwd.src_desc()), operand(DNNL_ARG_WEIGHTS, false, w, fwd.weights_desc()),
                 operand(DNNL_ARG_DST, true, y, fwd.dst_desc())};
    plan->scratchpad = fwd.scratchpad_desc();
    return plan;
  }
  memory::dims pr;
  for (int j = is_2d(g) ? 1 : 0; j < 3; ++j) pr.push_back(right_pad(g, j));
  if (pass == Pass::BackwardData) {
    dnnl::convolution_backward_data::desc d(dnnl::algorithm::convolution_direct, act_for_primitive(g, x), any_like(w),
                                            act_for_primitive(g, y), spatial(g, g.stride), spatial(g, g.pad), pr);
    dnnl::convolution_backward_data::primitive_desc pd(d, attr, engine(), fwd);
    plan->prim = dnnl::convolution_backward_data(pd);
    plan->ops = {operand(DNNL_ARG_DIFF_DST, false, y, pd.diff_dst_desc()),
                 operand(DNNL_ARG_WEIGHTS, false, w, pd.weights_desc()),
                 operand(DNNL_ARG_DIFF_SRC, true, x, pd.diff_src_desc())};
    plan->scratchpad = pd.scratchpad_desc();
    return plan;
  }
  dnnl::convolution_backward_weights::desc d(dnnl::algorithm::convolution_direct, act_for_primitive(g, x),
                                             any_like(w), act_for_primitive(g, y), spatial(g, g.stride),
                                             spatial(g, g.pad), pr);
  dnnl::convolution_backward_weights::primitive_desc pd(d, attr, engine(), fwd);
  plan->prim = dnnl::convolution_backward_weights(pd);
  plan->ops = {operand(DNNL_ARG_SRC, false, x, pd.src_desc()), operand(DNNL_ARG_DIFF_DST, false, y, pd.diff_dst_desc()),
               operand(DNNL_ARG_DIFF_WEIGHTS, true, w, pd.diff_weights_desc())};
  plan->scratchpad = pd.scratchpad_desc();
  return plan;
}

// Reusable 64-byte aligned buffers, one per role (the two larger operands of a pass, the
// smallest, the scratchpad): each grows to the largest size asked of it and is kept.
class WorkBuffers {
 public:
  void* get(int role, size_t bytes) {
    Slot& s = slots_[role];
    if (bytes > s.bytes) {
      s.data.reset(static_cast<char*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64)));
      if (!s.data) throw std::bad_alloc();
      s.bytes = bytes;
    }
    return s.data.get();
  }
  void release() {
    for (Slot& s : slots_) s = Slot{};
  }

 private:
  struct Free {
    void operator()(char* p) const { std::free(p); }
  };
  struct Slot {
    std::unique_ptr<char, Free> data;
    size_t bytes = 0;
  };
  std::array<Slot, 4> slots_;
};

// A primitive fixes its OpenMP thread count when it is built, so the count is part of the
// key: a later omp_set_num_threads (run.threads) gets primitives built for it.
using Key = std::array<int64_t, 20>;
Key key_of(Pass pass, const ConvGeom& g, DataType dt) {
  return {static_cast<int64_t>(pass), static_cast<int64_t>(dt), is_2d(g) ? 2 : 3, g.channels_last ? 1 : 0, g.N, g.C_in, g.C_out, g.in[0], g.in[1], g.in[2], g.k[0],
          g.k[1], g.k[2], g.stride[0], g.stride[1], g.stride[2], g.pad[0], g.pad[1], g.pad[2], omp_get_max_threads()};
}

// Everything shared between calls, behind one mutex.
struct State {
  std::mutex mutex;
  std::map<Key, std::unique_ptr<Plan>> plans;
  WorkBuffers work;
};
State& state() {
  static State* s = new State;  // never destroyed: kernels may run during static destruction
  return *s;
}
constexpr size_t kMaxPlans = 512;

std::string geom_str(const ConvGeom& g) {
  auto three = [](const int64_t* v) {
    return std::to_string(v[0]) + "x" + std::to_string(v[1]) + "x" + std::to_string(v[2]);
  };
  return std::string(g.channels_last ? "channels-last, " : "") + "N " + std::to_string(g.N) + ", C " + std::to_string(g.C_in) + "->" + std::to_string(g.C_out) + ", in " +
         three(g.in) + ", k " + three(g.k) + ", stride " + three(g.stride) + ", pad " + three(g.pad);
}

const Plan& plan_for(State& st, Pass pass, const ConvGeom& g, DataType dt) {
  auto& slot = st.plans[key_of(pass, g, dt)];
  if (!slot) {
    if (st.plans.size() > kMaxPlans) {
      st.plans.clear();
      return plan_for(st, pass, g, dt);
    }
    try {
      slot = build_plan(pass, g, dt);
    } catch (const dnnl::error& e) {
      st.plans.erase(key_of(pass, g, dt));
      throw std::runtime_error(std::string("conv (oneDNN): cannot build the primitive for ") + geom_str(g) + ": " +
                               e.what() + "; PENUMBRA_CPU_CONV=reference selects the reference kernels");
    }
  }
  return *slot;
}

// Runs one pass: in0, in1 and out are our plain arrays, in the plan's operand order.
void run(Pass pass, const ConvGeom& g, DataType dt, const void* in0, const void* in1, void* out) {
  State& st = state();
  std::lock_guard<std::mutex> lock(st.mutex);
  const Plan& p = plan_for(st, pass, g, dt);
  dnnl::engine& eng = engine();
  dnnl::stream s(eng);
  void* user[3] = {const_cast<void*>(in0), const_cast<void*>(in1), out};
  std::unordered_map<int, memory> args;
  memory blocked_out;
  // Work buffer per operand by size rank: every pass has two activation-sized operands and
  // one weight-sized one, so two large buffers and a small one serve all three passes.
  const int smallest = std::min_element(p.ops.begin(), p.ops.end(), [](const Operand& a, const Operand& b) {
                         return a.chosen.get_size() < b.chosen.get_size();
                       }) - p.ops.begin();
  for (int i = 0, large = 0; i < 3; ++i) {
    const Operand& o = p.ops[i];
    const int role = i == smallest ? 2 : large++;
    memory mine(o.plain, eng, user[i]);
    if (!o.needs_reorder()) {
      args.emplace(o.arg, mine);
      continue;
    }
    memory blocked(o.chosen, eng, st.work.get(role, o.chosen.get_size()));
    if (!o.output) o.reorder.execute(s, mine, blocked);
    else blocked_out = blocked;
    args.emplace(o.arg, blocked);
  }
  if (p.scratchpad.get_size() > 0)
    args.emplace(DNNL_ARG_SCRATCHPAD, memory(p.scratchpad, eng, st.work.get(3, p.scratchpad.get_size())));
  p.prim.execute(s, args);
  if (p.ops[2].needs_reorder()) {
    memory mine(p.ops[2].plain, eng, out);
    p.ops[2].reorder.execute(s, blocked_out, mine);
  }
  s.wait();
}

}  // namespace

bool dnnl_available() { return true; }

bool dnnl_conv_supported(const ConvGeom& g) {
  constexpr int64_t kMax = std::numeric_limits<int32_t>::max();
  if (g.N < 1 || g.C_in < 1 || g.C_out < 1 || g.N > kMax || g.C_in > kMax || g.C_out > kMax) return false;
  for (int j = 0; j < 3; ++j)
    if (g.in[j] > kMax || g.out[j] < 1 || g.k[j] > kMax) return false;
  return true;
}

bool dnnl_bf16_native() {
  const unsigned isa = static_cast<unsigned>(dnnl_get_effective_cpu_isa());
  return (isa & dnnl_cpu_isa_avx512_core_bf16) == dnnl_cpu_isa_avx512_core_bf16;
}

void dnnl_conv_forward(const ConvGeom& g, const float* x, const float* w, float* y) {
  run(Pass::Forward, g, DataType::f32, x, w, y);
}
void dnnl_conv_backward_input(const ConvGeom& g, const float* dy, const float* w, float* dx) {
  run(Pass::BackwardData, g, DataType::f32, dy, w, dx);
}
void dnnl_conv_backward_weight(const ConvGeom& g, const float* x, const float* dy, float* dw) {
  run(Pass::BackwardWeights, g, DataType::f32, x, dy, dw);
}
void dnnl_conv_forward(const ConvGeom& g, const math::bfloat16* x, const math::bfloat16* w, math::bfloat16* y) {
  run(Pass::Forward, g, DataType::bf16, x, w, y);
}
void dnnl_conv_backward_input(const ConvGeom& g, const math::bfloat16* dy, const math::bfloat16* w,
                              math::bfloat16* dx) {
  run(Pass::BackwardData, g, DataType::bf16, dy, w, dx);
}
void dnnl_conv_backward_weight(const ConvGeom& g, const math::bfloat16* x, const math::bfloat16* dy,
                               math::bfloat16* dw) {
  run(Pass::BackwardWeights, g, DataType::bf16, x, dy, dw);
}

void dnnl_conv_release() {
  State& st = state();
  std::lock_guard<std::mutex> lock(st.mutex);
  st.plans.clear();
  st.work.release();
}

#endif  // PENUMBRA_HAVE_DNNL

}  // namespace pn::cpu
