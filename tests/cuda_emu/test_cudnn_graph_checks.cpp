// The emulated cuDNN backend API's argument and graph checks, at the API (cudnn_emu_backend.h):
// each documented failure gives its status (the category BAD_PARAM / NOT_SUPPORTED; the
// emulator's sub-code where cuDNN 9 names one) and an explanation naming the attribute or
// tensor, through cudnnGetLastErrorString. Emulator-only: on a GPU the real library's
// sub-codes and engine coverage (which graphs some engine runs) differ.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "emu_util.h"
#include "kernels/cuda/cudnn_api.h"

namespace {

// A backend descriptor destroyed at scope end.
struct Desc {
  cudnnBackendDescriptor_t d = nullptr;
  explicit Desc(cudnnBackendDescriptorType_t t) { REQUIRE(cudnnBackendCreateDescriptor(t, &d) == CUDNN_STATUS_SUCCESS); }
  ~Desc() { (void)cudnnBackendDestroyDescriptor(d); }
  Desc(const Desc&) = delete;
  Desc& operator=(const Desc&) = delete;
};

std::string last_error() {
  char text[1024];
  cudnnGetLastErrorString(text, sizeof text);
  return text;
}

int category(cudnnStatus_t s) { return CUDNN_STATUS_CATEGORY(static_cast<int>(s)); }

template <class V>
cudnnStatus_t set(const Desc& d, cudnnBackendAttributeName_t n, cudnnBackendAttributeType_t t, std::vector<V> v) {
  return cudnnBackendSetAttribute(d.d, n, t, static_cast<int64_t>(v.size()), v.data());
}
cudnnStatus_t set_ref(const Desc& d, cudnnBackendAttributeName_t n, const Desc& r) {
  return cudnnBackendSetAttribute(d.d, n, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &r.d);
}

// A float tensor [1, c, 4, 4] (packed), finalized.
void make_tensor(const Desc& t, int64_t uid, int64_t c, bool is_virtual) {
  REQUIRE(set(t, CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, std::vector<cudnnDataType_t>{CUDNN_DATA_FLOAT}) == 0);
  REQUIRE(set(t, CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, std::vector<int64_t>{1, c, 4, 4}) == 0);
  REQUIRE(set(t, CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, std::vector<int64_t>{c * 16, 16, 4, 1}) == 0);
  REQUIRE(set(t, CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, std::vector<int64_t>{uid}) == 0);
  REQUIRE(set(t, CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, std::vector<int64_t>{16}) == 0);
  REQUIRE(cudnnBackendSetAttribute(t.d, CUDNN_ATTR_TENSOR_IS_VIRTUAL, CUDNN_TYPE_BOOLEAN, 1, &is_virtual) == 0);
  REQUIRE(cudnnBackendFinalize(t.d) == CUDNN_STATUS_SUCCESS);
}

// A pointwise op y = mode(x) (unary), finalized.
void make_unary(const Desc& op, const Desc& pw, cudnnPointwiseMode_t mode, const Desc& x, const Desc& y) {
  REQUIRE(set(pw, CUDNN_ATTR_POINTWISE_MODE, CUDNN_TYPE_POINTWISE_MODE, std::vector<cudnnPointwiseMode_t>{mode}) == 0);
  REQUIRE(set(pw, CUDNN_ATTR_POINTWISE_MATH_PREC, CUDNN_TYPE_DATA_TYPE, std::vector<cudnnDataType_t>{CUDNN_DATA_FLOAT}) == 0);
  REQUIRE(cudnnBackendFinalize(pw.d) == CUDNN_STATUS_SUCCESS);
  REQUIRE(set_ref(op, CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR, pw) == 0);
  REQUIRE(set_ref(op, CUDNN_ATTR_OPERATION_POINTWISE_XDESC, x) == 0);
  REQUIRE(set_ref(op, CUDNN_ATTR_OPERATION_POINTWISE_YDESC, y) == 0);
  REQUIRE(cudnnBackendFinalize(op.d) == CUDNN_STATUS_SUCCESS);
}

// The scale/shift graph: x [1, 2, 4, 4] * scale [1, 2, 1, 1] -> (virtual t1) + shift -> y, and
// with `tail` an activation of that mode after the ADD (t2 virtual). uids: x 1, y 2, t1 3,
// scale 4, shift 5, t2 6. The operations are listed in reverse order (any order is valid).
struct ScaleShiftGraph {
  Desc x{CUDNN_BACKEND_TENSOR_DESCRIPTOR}, y{CUDNN_BACKEND_TENSOR_DESCRIPTOR}, t1{CUDNN_BACKEND_TENSOR_DESCRIPTOR};
  Desc t2{CUDNN_BACKEND_TENSOR_DESCRIPTOR}, scale{CUDNN_BACKEND_TENSOR_DESCRIPTOR}, shift{CUDNN_BACKEND_TENSOR_DESCRIPTOR};
  Desc pw_mul{CUDNN_BACKEND_POINTWISE_DESCRIPTOR}, pw_add{CUDNN_BACKEND_POINTWISE_DESCRIPTOR};
  Desc pw_tail{CUDNN_BACKEND_POINTWISE_DESCRIPTOR}, mul{CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR};
  Desc add{CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR}, tail_op{CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR};
  Desc graph{CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR};

  explicit ScaleShiftGraph(const cudnnPointwiseMode_t* tail) {
    make_tensor(x, 1, 2, false);
    make_tensor(y, 2, 2, false);
    make_tensor(t1, 3, 2, true);
    make_tensor(t2, 6, 2, true);
    for (auto* c : {&scale, &shift}) {
      const int64_t uid = c == &scale ? 4 : 5;
      REQUIRE(set(*c, CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, std::vector<cudnnDataType_t>{CUDNN_DATA_FLOAT}) == 0);
      REQUIRE(set(*c, CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, std::vector<int64_t>{1, 2, 1, 1}) == 0);
      REQUIRE(set(*c, CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, std::vector<int64_t>{2, 1, 1, 1}) == 0);
      REQUIRE(set(*c, CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, std::vector<int64_t>{uid}) == 0);
      REQUIRE(set(*c, CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, std::vector<int64_t>{4}) == 0);
      REQUIRE(cudnnBackendFinalize(c->d) == 0);
    }
    binary(mul, pw_mul, CUDNN_POINTWISE_MUL, x, scale, t1);
    binary(add, pw_add, CUDNN_POINTWISE_ADD, t1, shift, tail ? t2 : y);
    std::vector<cudnnBackendDescriptor_t> ops{add.d, mul.d};
    if (tail) {
      make_unary(tail_op, pw_tail, *tail, t2, y);
      ops.insert(ops.begin(), tail_op.d);
    }
    REQUIRE(set(graph, CUDNN_ATTR_OPERATIONGRAPH_OPS, CUDNN_TYPE_BACKEND_DESCRIPTOR, ops) == 0);
    REQUIRE(cudnnBackendFinalize(graph.d) == CUDNN_STATUS_SUCCESS);
  }
  static void binary(const Desc& op, const Desc& pw, cudnnPointwiseMode_t mode, const Desc& in, const Desc& b,
                     const Desc& out) {
    REQUIRE(set(pw, CUDNN_ATTR_POINTWISE_MODE, CUDNN_TYPE_POINTWISE_MODE, std::vector<cudnnPointwiseMode_t>{mode}) == 0);
    REQUIRE(set(pw, CUDNN_ATTR_POINTWISE_MATH_PREC, CUDNN_TYPE_DATA_TYPE, std::vector<cudnnDataType_t>{CUDNN_DATA_FLOAT}) == 0);
    REQUIRE(cudnnBackendFinalize(pw.d) == 0);
    REQUIRE(set_ref(op, CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR, pw) == 0);
    REQUIRE(set_ref(op, CUDNN_ATTR_OPERATION_POINTWISE_XDESC, in) == 0);
    REQUIRE(set_ref(op, CUDNN_ATTR_OPERATION_POINTWISE_BDESC, b) == 0);
    REQUIRE(set_ref(op, CUDNN_ATTR_OPERATION_POINTWISE_YDESC, out) == 0);
    REQUIRE(cudnnBackendFinalize(op.d) == 0);
  }
};

// Finalizes `engine` (global index 0) on graph; returns its status.
cudnnStatus_t finalize_engine(const Desc& engine, const Desc& graph) {
  REQUIRE(set_ref(engine, CUDNN_ATTR_ENGINE_OPERATION_GRAPH, graph) == 0);
  REQUIRE(set(engine, CUDNN_ATTR_ENGINE_GLOBAL_INDEX, CUDNN_TYPE_INT64, std::vector<int64_t>{0}) == 0);
  return cudnnBackendFinalize(engine.d);
}

}  // namespace

TEST_CASE("emulated cuDNN backend: attribute types and counts are checked when set") {
  Desc t(CUDNN_BACKEND_TENSOR_DESCRIPTOR);
  const std::vector<int32_t> dims32{1, 2, 3, 4};
  const cudnnStatus_t wrong_type = set(t, CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT32, dims32);
  CHECK(wrong_type == CUDNN_STATUS_BAD_PARAM_ATTRIBUTE_TYPE);
  CHECK(category(wrong_type) == CUDNN_STATUS_BAD_PARAM);
  CHECK(last_error().find("CUDNN_ATTR_TENSOR_DIMENSIONS") != std::string::npos);
  CHECK(set(t, CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, std::vector<int64_t>{1, 2}) == CUDNN_STATUS_BAD_PARAM);
  CHECK(last_error().find("takes 1..1 elements, not 2") != std::string::npos);
  CHECK(set(t, CUDNN_ATTR_CONVOLUTION_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, std::vector<cudnnDataType_t>{CUDNN_DATA_FLOAT}) ==
        CUDNN_STATUS_BAD_PARAM);  // a convolution's attribute on a tensor
  CHECK(last_error().find("not a settable attribute of a CUDNN_BACKEND_TENSOR_DESCRIPTOR") != std::string::npos);
  // A referenced descriptor must be finalized, and of the attribute's kind.
  Desc unfinished(CUDNN_BACKEND_TENSOR_DESCRIPTOR), op(CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR);
  CHECK(set_ref(op, CUDNN_ATTR_OPERATION_POINTWISE_XDESC, unfinished) == CUDNN_STATUS_BAD_PARAM_NOT_FINALIZED);
  Desc x(CUDNN_BACKEND_TENSOR_DESCRIPTOR);
  make_tensor(x, 1, 2, false);
  CHECK(set_ref(op, CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR, x) == CUDNN_STATUS_BAD_PARAM_DESCRIPTOR_TYPE);
  CHECK(last_error().find("is a CUDNN_BACKEND_TENSOR_DESCRIPTOR") != std::string::npos);
  // A finalized descriptor takes no more attributes.
  CHECK(set(x, CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, std::vector<int64_t>{7}) == CUDNN_STATUS_NOT_INITIALIZED);
}

TEST_CASE("emulated cuDNN backend: finalization checks required attributes and shapes") {
  Desc t(CUDNN_BACKEND_TENSOR_DESCRIPTOR);
  REQUIRE(set(t, CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, std::vector<cudnnDataType_t>{CUDNN_DATA_FLOAT}) == 0);
  REQUIRE(set(t, CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, std::vector<int64_t>{1, 2, 3, 4}) == 0);
  REQUIRE(set(t, CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, std::vector<int64_t>{24, 12, 4, 1}) == 0);
  REQUIRE(set(t, CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, std::vector<int64_t>{16}) == 0);
  CHECK(cudnnBackendFinalize(t.d) == CUDNN_STATUS_BAD_PARAM);  // no UNIQUE_ID
  CHECK(last_error().find("the required attribute CUDNN_ATTR_TENSOR_UNIQUE_ID was never set") != std::string::npos);
  REQUIRE(set(t, CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, std::vector<int64_t>{1}) == 0);
  CHECK(cudnnBackendFinalize(t.d) == CUDNN_STATUS_SUCCESS);
  // A pointwise op whose y does not have x's dims.
  Desc x(CUDNN_BACKEND_TENSOR_DESCRIPTOR), y(CUDNN_BACKEND_TENSOR_DESCRIPTOR), pw(CUDNN_BACKEND_POINTWISE_DESCRIPTOR);
  Desc op(CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR);
  make_tensor(x, 1, 2, false);
  make_tensor(y, 2, 3, false);
  REQUIRE(set(pw, CUDNN_ATTR_POINTWISE_MODE, CUDNN_TYPE_POINTWISE_MODE, std::vector<cudnnPointwiseMode_t>{CUDNN_POINTWISE_RELU_FWD}) == 0);
  REQUIRE(set(pw, CUDNN_ATTR_POINTWISE_MATH_PREC, CUDNN_TYPE_DATA_TYPE, std::vector<cudnnDataType_t>{CUDNN_DATA_FLOAT}) == 0);
  REQUIRE(cudnnBackendFinalize(pw.d) == 0);
  REQUIRE(set_ref(op, CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR, pw) == 0);
  REQUIRE(set_ref(op, CUDNN_ATTR_OPERATION_POINTWISE_XDESC, x) == 0);
  REQUIRE(set_ref(op, CUDNN_ATTR_OPERATION_POINTWISE_YDESC, y) == 0);
  CHECK(cudnnBackendFinalize(op.d) == CUDNN_STATUS_BAD_PARAM_SHAPE_MISMATCH);
  CHECK(last_error().find("must have the dims of x") != std::string::npos);
}

TEST_CASE("emulated cuDNN backend: a graph no engine runs gets no configuration and NOT_SUPPORTED") {
  // scale/shift followed by TANH: the engine fuses only RELU_FWD there.
  const cudnnPointwiseMode_t tanh = CUDNN_POINTWISE_TANH_FWD;
  ScaleShiftGraph g(&tanh);
  Desc heur(CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR);
  REQUIRE(set_ref(heur, CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, g.graph) == 0);
  REQUIRE(set(heur, CUDNN_ATTR_ENGINEHEUR_MODE, CUDNN_TYPE_HEUR_MODE, std::vector<cudnnBackendHeurMode_t>{CUDNN_HEUR_MODE_A}) == 0);
  REQUIRE(cudnnBackendFinalize(heur.d) == CUDNN_STATUS_SUCCESS);
  int64_t count = -1;
  REQUIRE(cudnnBackendGetAttribute(heur.d, CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR, 0, &count, nullptr) == 0);
  CHECK(count == 0);
  Desc engine(CUDNN_BACKEND_ENGINE_DESCRIPTOR);
  const cudnnStatus_t s = finalize_engine(engine, g.graph);
  CHECK(s == CUDNN_STATUS_NOT_SUPPORTED_GRAPH_PATTERN);
  CHECK(category(s) == CUDNN_STATUS_NOT_SUPPORTED);
  CHECK(last_error().find("engine 0 does not support the operation graph: pointwise step 2 has mode 101") != std::string::npos);
  // With RELU_FWD instead, the same graph is offered one configuration.
  const cudnnPointwiseMode_t relu = CUDNN_POINTWISE_RELU_FWD;
  ScaleShiftGraph ok(&relu);
  Desc engine_ok(CUDNN_BACKEND_ENGINE_DESCRIPTOR);
  CHECK(finalize_engine(engine_ok, ok.graph) == CUDNN_STATUS_SUCCESS);
}

TEST_CASE("emulated cuDNN backend: execution needs every tensor's pointer in the variant pack") {
  ScaleShiftGraph g(nullptr);
  Desc engine(CUDNN_BACKEND_ENGINE_DESCRIPTOR), cfg(CUDNN_BACKEND_ENGINECFG_DESCRIPTOR);
  Desc plan(CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR);
  REQUIRE(finalize_engine(engine, g.graph) == 0);
  REQUIRE(set_ref(cfg, CUDNN_ATTR_ENGINECFG_ENGINE, engine) == 0);
  REQUIRE(cudnnBackendFinalize(cfg.d) == 0);
  REQUIRE(set_ref(plan, CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG, cfg) == 0);
  REQUIRE(cudnnBackendFinalize(plan.d) == 0);
  pn::test::DeviceArray<float> d_x(32), d_y(32), d_scale(2);
  Desc pack(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR);
  void* no_workspace = nullptr;
  REQUIRE(set(pack, CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, std::vector<int64_t>{1, 2, 4}) == 0);
  REQUIRE(set(pack, CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR,
              std::vector<void*>{d_x.get(), d_y.get(), d_scale.get()}) == 0);
  REQUIRE(cudnnBackendSetAttribute(pack.d, CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, 1, &no_workspace) == 0);
  REQUIRE(cudnnBackendFinalize(pack.d) == 0);
  cudnnHandle_t h = nullptr;
  REQUIRE(cudnnCreate(&h) == CUDNN_STATUS_SUCCESS);
  const int64_t runs = pn::cuda::emu::cudnn_graph_executions();
  CHECK(cudnnBackendExecute(h, plan.d, pack.d) == CUDNN_STATUS_BAD_PARAM);  // no shift (uid 5)
  CHECK(last_error().find("no device pointer for shift, tensor uid 5") != std::string::npos);
  CHECK(pn::cuda::emu::cudnn_graph_executions() == runs);
  (void)cudnnDestroy(h);
}
