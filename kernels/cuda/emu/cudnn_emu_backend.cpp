// The emulated cuDNN backend API's descriptors (cudnn_emu_backend.h): creation, attributes and
// finalization, checked as the cuDNN 9 reference (cudnn-graph-library.html) documents:
//  - cudnnBackendCreateDescriptor: BAD_PARAM for a NULL output; NOT_SUPPORTED for a descriptor
//    type the library does not provide (here: one the emulation leaves out).
//  - cudnnBackendSetAttribute: NOT_INITIALIZED when the descriptor is already finalized;
//    BAD_PARAM when "attributeName is not a settable attribute of descriptor", "attributeType is
//    incorrect for this attributeName", "elemCount value is unexpected" or the elements are
//    invalid (cuDNN 9's sub-codes where one fits: BAD_PARAM_ATTRIBUTE_TYPE for the wrong type,
//    BAD_PARAM_DESCRIPTOR_TYPE for a referenced descriptor of the wrong kind,
//    BAD_PARAM_NOT_FINALIZED for a referenced descriptor not finalized yet).
//  - cudnnBackendFinalize: BAD_PARAM for "invalid descriptor attribute values or combination
//    thereof" (a required attribute missing, inconsistent shapes, duplicated uids);
//    NOT_SUPPORTED for values the library does not support (ENGINE, EXECUTION_PLAN: a graph no
//    engine runs); NOT_INITIALIZED... is not used: finalizing twice re-checks and succeeds.
//  - cudnnBackendGetAttribute: BAD_PARAM for a wrong type or NULL arguments; the descriptor must
//    be finalized (BAD_PARAM_NOT_FINALIZED otherwise); elementCount receives the number of
//    elements the attribute has, and min(requested, that) are written.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>
#include <set>

#include "kernels/cuda/emu/cudnn_emu_backend_internal.h"

namespace pn::cuda::emu::cudnn::backend {
namespace {

std::mutex g_mutex;
std::set<const void*> g_alive;

bool alive(const void* d) {
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_alive.count(d) != 0;
}

size_t element_bytes(cudnnBackendAttributeType_t t) {
  switch (t) {
    case CUDNN_TYPE_BOOLEAN:
      return sizeof(bool);
    case CUDNN_TYPE_INT64:
    case CUDNN_TYPE_DOUBLE:
      return 8;
    case CUDNN_TYPE_HANDLE:
    case CUDNN_TYPE_VOID_PTR:
    case CUDNN_TYPE_BACKEND_DESCRIPTOR:
      return sizeof(void*);
    default:  // FLOAT, INT32 and the enums
      return 4;
  }
}

// What may be set on each descriptor type. `alt` is a second accepted type (FLOAT or DOUBLE
// scalars); `ref` the descriptor type a BACKEND_DESCRIPTOR attribute must reference (kAnyOp: an
// operation); `settable` false for attributes cuDNN only reports.
constexpr int kAnyOp = -1, kNoRef = -2;
struct Spec {
  cudnnBackendDescriptorType_t desc;
  cudnnBackendAttributeName_t name;
  const char* label;
  cudnnBackendAttributeType_t type, alt;
  int64_t min, max;
  bool required, settable;
  int ref;
};

#define PN_S(D, N, T, A, MIN, MAX, REQ, SET, REF) \
  Spec { CUDNN_BACKEND_##D##_DESCRIPTOR, CUDNN_ATTR_##N, "CUDNN_ATTR_" #N, CUDNN_TYPE_##T, CUDNN_TYPE_##A, MIN, MAX, REQ, SET, REF }
const Spec kSpecs[] = {
    PN_S(TENSOR, TENSOR_DATA_TYPE, DATA_TYPE, DATA_TYPE, 1, 1, true, true, kNoRef),
    PN_S(TENSOR, TENSOR_DIMENSIONS, INT64, INT64, 1, CUDNN_DIM_MAX, true, true, kNoRef),
    PN_S(TENSOR, TENSOR_STRIDES, INT64, INT64, 1, CUDNN_DIM_MAX, true, true, kNoRef),
    PN_S(TENSOR, TENSOR_UNIQUE_ID, INT64, INT64, 1, 1, true, true, kNoRef),
    PN_S(TENSOR, TENSOR_BYTE_ALIGNMENT, INT64, INT64, 1, 1, true, true, kNoRef),
    PN_S(TENSOR, TENSOR_IS_VIRTUAL, BOOLEAN, BOOLEAN, 1, 1, false, true, kNoRef),
    PN_S(CONVOLUTION, CONVOLUTION_COMP_TYPE, DATA_TYPE, DATA_TYPE, 1, 1, true, true, kNoRef),
    PN_S(CONVOLUTION, CONVOLUTION_CONV_MODE, CONVOLUTION_MODE, CONVOLUTION_MODE, 1, 1, true, true, kNoRef),
    PN_S(CONVOLUTION, CONVOLUTION_SPATIAL_DIMS, INT64, INT64, 1, 1, true, true, kNoRef),
    PN_S(CONVOLUTION, CONVOLUTION_DILATIONS, INT64, INT64, 1, CUDNN_DIM_MAX - 2, true, true, kNoRef),
    PN_S(CONVOLUTION, CONVOLUTION_FILTER_STRIDES, INT64, INT64, 1, CUDNN_DIM_MAX - 2, true, true, kNoRef),
    PN_S(CONVOLUTION, CONVOLUTION_PRE_PADDINGS, INT64, INT64, 1, CUDNN_DIM_MAX - 2, true, true, kNoRef),
    PN_S(CONVOLUTION, CONVOLUTION_POST_PADDINGS, INT64, INT64, 1, CUDNN_DIM_MAX - 2, true, true, kNoRef),
    PN_S(POINTWISE, POINTWISE_MODE, POINTWISE_MODE, POINTWISE_MODE, 1, 1, true, true, kNoRef),
    PN_S(POINTWISE, POINTWISE_MATH_PREC, DATA_TYPE, DATA_TYPE, 1, 1, true, true, kNoRef),
    PN_S(POINTWISE, POINTWISE_RELU_LOWER_CLIP, DOUBLE, FLOAT, 1, 1, false, true, kNoRef),
    PN_S(POINTWISE, POINTWISE_RELU_UPPER_CLIP, DOUBLE, FLOAT, 1, 1, false, true, kNoRef),
    PN_S(POINTWISE, POINTWISE_RELU_LOWER_CLIP_SLOPE, DOUBLE, FLOAT, 1, 1, false, true, kNoRef),
    PN_S(OPERATION_CONVOLUTION_FORWARD, OPERATION_CONVOLUTION_FORWARD_ALPHA, DOUBLE, FLOAT, 1, 1, true, true, kNoRef),
    PN_S(OPERATION_CONVOLUTION_FORWARD, OPERATION_CONVOLUTION_FORWARD_BETA, DOUBLE, FLOAT, 1, 1, true, true, kNoRef),
    PN_S(OPERATION_CONVOLUTION_FORWARD, OPERATION_CONVOLUTION_FORWARD_CONV_DESC, BACKEND_DESCRIPTOR, BACKEND_DESCRIPTOR,
         1, 1, true, true, CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR),
    PN_S(OPERATION_CONVOLUTION_FORWARD, OPERATION_CONVOLUTION_FORWARD_W, BACKEND_DESCRIPTOR, BACKEND_DESCRIPTOR, 1, 1,
         true, true, CUDNN_BACKEND_TENSOR_DESCRIPTOR),
    PN_S(OPERATION_CONVOLUTION_FORWARD, OPERATION_CONVOLUTION_FORWARD_X, BACKEND_DESCRIPTOR, BACKEND_DESCRIPTOR, 1, 1,
         true, true, CUDNN_BACKEND_TENSOR_DESCRIPTOR),
    PN_S(OPERATION_CONVOLUTION_FORWARD, OPERATION_CONVOLUTION_FORWARD_Y, BACKEND_DESCRIPTOR, BACKEND_DESCRIPTOR, 1, 1,
         true, true, CUDNN_BACKEND_TENSOR_DESCRIPTOR),
    PN_S(OPERATION_POINTWISE, OPERATION_POINTWISE_PW_DESCRIPTOR, BACKEND_DESCRIPTOR, BACKEND_DESCRIPTOR, 1, 1, true,
         true, CUDNN_BACKEND_POINTWISE_DESCRIPTOR),
    PN_S(OPERATION_POINTWISE, OPERATION_POINTWISE_XDESC, BACKEND_DESCRIPTOR, BACKEND_DESCRIPTOR, 1, 1, true, true,
         CUDNN_BACKEND_TENSOR_DESCRIPTOR),
    PN_S(OPERATION_POINTWISE, OPERATION_POINTWISE_BDESC, BACKEND_DESCRIPTOR, BACKEND_DESCRIPTOR, 1, 1, false, true,
         CUDNN_BACKEND_TENSOR_DESCRIPTOR),
    PN_S(OPERATION_POINTWISE, OPERATION_POINTWISE_YDESC, BACKEND_DESCRIPTOR, BACKEND_DESCRIPTOR, 1, 1, true, true,
         CUDNN_BACKEND_TENSOR_DESCRIPTOR),
    PN_S(OPERATION_POINTWISE, OPERATION_POINTWISE_ALPHA1, DOUBLE, FLOAT, 1, 1, false, true, kNoRef),
    PN_S(OPERATION_POINTWISE, OPERATION_POINTWISE_ALPHA2, DOUBLE, FLOAT, 1, 1, false, true, kNoRef),
    PN_S(OPERATIONGRAPH, OPERATIONGRAPH_HANDLE, HANDLE, HANDLE, 1, 1, false, true, kNoRef),
    PN_S(OPERATIONGRAPH, OPERATIONGRAPH_OPS, BACKEND_DESCRIPTOR, BACKEND_DESCRIPTOR, 1, 64, true, true, kAnyOp),
    PN_S(OPERATIONGRAPH, OPERATIONGRAPH_ENGINE_GLOBAL_COUNT, INT64, INT64, 1, 1, false, false, kNoRef),
    PN_S(ENGINEHEUR, ENGINEHEUR_OPERATION_GRAPH, BACKEND_DESCRIPTOR, BACKEND_DESCRIPTOR, 1, 1, true, true,
         CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR),
    PN_S(ENGINEHEUR, ENGINEHEUR_MODE, HEUR_MODE, HEUR_MODE, 1, 1, true, true, kNoRef),
    PN_S(ENGINEHEUR, ENGINEHEUR_RESULTS, BACKEND_DESCRIPTOR, BACKEND_DESCRIPTOR, 0, 64, false, false,
         CUDNN_BACKEND_ENGINECFG_DESCRIPTOR),
    PN_S(ENGINE, ENGINE_OPERATION_GRAPH, BACKEND_DESCRIPTOR, BACKEND_DESCRIPTOR, 1, 1, true, true,
         CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR),
    PN_S(ENGINE, ENGINE_GLOBAL_INDEX, INT64, INT64, 1, 1, true, true, kNoRef),
    PN_S(ENGINE, ENGINE_NUMERICAL_NOTE, NUMERICAL_NOTE, NUMERICAL_NOTE, 0, CUDNN_NUMERICAL_NOTE_TYPE_COUNT, false, false,
         kNoRef),
    PN_S(ENGINECFG, ENGINECFG_ENGINE, BACKEND_DESCRIPTOR, BACKEND_DESCRIPTOR, 1, 1, true, true,
         CUDNN_BACKEND_ENGINE_DESCRIPTOR),
    PN_S(EXECUTION_PLAN, EXECUTION_PLAN_HANDLE, HANDLE, HANDLE, 1, 1, false, true, kNoRef),
    PN_S(EXECUTION_PLAN, EXECUTION_PLAN_ENGINE_CONFIG, BACKEND_DESCRIPTOR, BACKEND_DESCRIPTOR, 1, 1, true, true,
         CUDNN_BACKEND_ENGINECFG_DESCRIPTOR),
    PN_S(EXECUTION_PLAN, EXECUTION_PLAN_WORKSPACE_SIZE, INT64, INT64, 1, 1, false, false, kNoRef),
    PN_S(VARIANT_PACK, VARIANT_PACK_UNIQUE_IDS, INT64, INT64, 0, 64, true, true, kNoRef),
    PN_S(VARIANT_PACK, VARIANT_PACK_DATA_POINTERS, VOID_PTR, VOID_PTR, 0, 64, true, true, kNoRef),
    PN_S(VARIANT_PACK, VARIANT_PACK_WORKSPACE, VOID_PTR, VOID_PTR, 1, 1, true, true, kNoRef),
};
#undef PN_S

const Spec* find_spec(cudnnBackendDescriptorType_t d, cudnnBackendAttributeName_t n) {
  for (const Spec& s : kSpecs)
    if (s.desc == d && s.name == n) return &s;
  return nullptr;
}

bool is_operation(cudnnBackendDescriptorType_t t) {
  return t == CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR ||
         t == CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR;
}

Descriptor* cast(cudnnBackendDescriptor_t d) { return static_cast<Descriptor*>(d); }

// The referenced descriptors of a BACKEND_DESCRIPTOR attribute: each live, finalized and of the
// kind the attribute takes; copied (cuDNN keeps its own copy of what was set).
cudnnStatus_t copy_refs(const std::string& call, const Spec& s, int64_t count, const void* elements,
                        std::vector<Ref>& refs) {
  const auto* list = static_cast<const cudnnBackendDescriptor_t*>(elements);
  for (int64_t i = 0; i < count; ++i) {
    const std::string which = std::string(s.label) + " element " + std::to_string(i);
    if (!list[i] || !alive(list[i]))
      return fail(CUDNN_STATUS_BAD_PARAM, call, which + " is NULL, never created or already destroyed");
    const Descriptor& r = *cast(list[i]);
    const bool kind_ok = s.ref == kAnyOp ? is_operation(r.type) : r.type == s.ref;
    if (!kind_ok)
      return fail(CUDNN_STATUS_BAD_PARAM_DESCRIPTOR_TYPE, call,
                  which + " is a " + type_name(r.type) + ", but the attribute takes " +
                      (s.ref == kAnyOp ? std::string("an operation descriptor")
                                       : std::string(type_name(static_cast<cudnnBackendDescriptorType_t>(s.ref)))));
    if (!r.finalized)
      return fail(CUDNN_STATUS_BAD_PARAM_NOT_FINALIZED, call,
                  which + " (" + type_name(r.type) + ") is not finalized: call cudnnBackendFinalize on it first");
    refs.push_back(std::make_shared<const Descriptor>(r));
  }
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t check_descriptor(const std::string& call, cudnnBackendDescriptor_t d) {
  if (!d) return fail(CUDNN_STATUS_BAD_PARAM, call, "descriptor is NULL");
  if (!alive(d)) return fail(CUDNN_STATUS_BAD_PARAM, call, "descriptor was never created or is already destroyed");
  return CUDNN_STATUS_SUCCESS;
}

}  // namespace

// ---- Descriptor's readers ----------------------------------------------------------------
int64_t Descriptor::i64(cudnnBackendAttributeName_t n, int64_t i) const {
  int64_t v;
  std::memcpy(&v, at(n).bytes.data() + i * 8, 8);
  return v;
}
std::vector<int64_t> Descriptor::i64s(cudnnBackendAttributeName_t n) const {
  std::vector<int64_t> v(static_cast<size_t>(at(n).count));
  for (size_t i = 0; i < v.size(); ++i) v[i] = i64(n, static_cast<int64_t>(i));
  return v;
}
int32_t Descriptor::enum_value(cudnnBackendAttributeName_t n) const {
  int32_t v;
  std::memcpy(&v, at(n).bytes.data(), 4);
  return v;
}
bool Descriptor::boolean(cudnnBackendAttributeName_t n) const { return at(n).bytes.at(0) != 0; }
double Descriptor::real(cudnnBackendAttributeName_t n) const {
  const Attribute& a = at(n);
  if (a.type == CUDNN_TYPE_DOUBLE) {
    double v;
    std::memcpy(&v, a.bytes.data(), 8);
    return v;
  }
  float v;
  std::memcpy(&v, a.bytes.data(), 4);
  return v;
}
const void* Descriptor::pointer(cudnnBackendAttributeName_t n, int64_t i) const {
  const void* p;
  std::memcpy(&p, at(n).bytes.data() + i * sizeof(void*), sizeof(void*));
  return p;
}

const char* type_name(cudnnBackendDescriptorType_t t) {
  switch (t) {
    case CUDNN_BACKEND_POINTWISE_DESCRIPTOR: return "CUDNN_BACKEND_POINTWISE_DESCRIPTOR";
    case CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR: return "CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR";
    case CUDNN_BACKEND_ENGINE_DESCRIPTOR: return "CUDNN_BACKEND_ENGINE_DESCRIPTOR";
    case CUDNN_BACKEND_ENGINECFG_DESCRIPTOR: return "CUDNN_BACKEND_ENGINECFG_DESCRIPTOR";
    case CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR: return "CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR";
    case CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR: return "CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR";
    case CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR:
      return "CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR";
    case CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR: return "CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR";
    case CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR: return "CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR";
    case CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR: return "CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR";
    case CUDNN_BACKEND_TENSOR_DESCRIPTOR: return "CUDNN_BACKEND_TENSOR_DESCRIPTOR";
  }
  return "an unknown descriptor type";
}

}  // namespace pn::cuda::emu::cudnn::backend

using namespace pn::cuda::emu::cudnn;
using namespace pn::cuda::emu::cudnn::backend;

cudnnStatus_t cudnnBackendCreateDescriptor(cudnnBackendDescriptorType_t descriptorType,
                                           cudnnBackendDescriptor_t* descriptor) {
  const std::string call = "cudnnBackendCreateDescriptor";
  if (!descriptor) return fail(CUDNN_STATUS_BAD_PARAM, call, "descriptor (the output pointer) is NULL");
  if (std::string(type_name(descriptorType)) == "an unknown descriptor type")
    return fail(CUDNN_STATUS_NOT_SUPPORTED, call,
                "descriptor type " + std::to_string(descriptorType) + " is not among the emulated ones (cudnn_emu_backend.h)");
  auto* d = new Descriptor;
  d->type = descriptorType;
  std::lock_guard<std::mutex> lock(g_mutex);
  g_alive.insert(d);
  *descriptor = d;
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnBackendDestroyDescriptor(cudnnBackendDescriptor_t descriptor) {
  const std::string call = "cudnnBackendDestroyDescriptor";
  if (cudnnStatus_t s = check_descriptor(call, descriptor); s != CUDNN_STATUS_SUCCESS) return s;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    g_alive.erase(descriptor);
  }
  delete cast(descriptor);
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnBackendSetAttribute(cudnnBackendDescriptor_t descriptor, cudnnBackendAttributeName_t attributeName,
                                       cudnnBackendAttributeType_t attributeType, int64_t elementCount,
                                       const void* arrayOfElements) {
  const std::string call = "cudnnBackendSetAttribute";
  if (cudnnStatus_t s = check_descriptor(call, descriptor); s != CUDNN_STATUS_SUCCESS) return s;
  Descriptor& d = *cast(descriptor);
  const Spec* s = find_spec(d.type, attributeName);
  if (!s || !s->settable)
    return fail(CUDNN_STATUS_BAD_PARAM, call,
                "attribute " + std::to_string(attributeName) + " is not a settable attribute of a " + type_name(d.type));
  const std::string where = std::string(s->label) + " of a " + type_name(d.type);
  if (d.finalized)
    return fail(CUDNN_STATUS_NOT_INITIALIZED, call, where + ": the descriptor is already finalized");
  if (attributeType != s->type && attributeType != s->alt)
    return fail(CUDNN_STATUS_BAD_PARAM_ATTRIBUTE_TYPE, call,
                where + " takes attribute type " + std::to_string(s->type) +
                    (s->alt != s->type ? " or " + std::to_string(s->alt) : std::string()) + ", not " +
                    std::to_string(attributeType));
  if (elementCount < s->min || elementCount > s->max)
    return fail(CUDNN_STATUS_BAD_PARAM, call,
                where + " takes " + std::to_string(s->min) + ".." + std::to_string(s->max) + " elements, not " +
                    std::to_string(elementCount));
  if (elementCount > 0 && !arrayOfElements) return fail(CUDNN_STATUS_BAD_PARAM, call, where + ": arrayOfElements is NULL");
  Attribute a;
  a.type = attributeType;
  a.count = elementCount;
  const auto* bytes = static_cast<const unsigned char*>(arrayOfElements);
  a.bytes.assign(bytes, bytes + elementCount * element_bytes(attributeType));
  if (attributeType == CUDNN_TYPE_BACKEND_DESCRIPTOR)
    if (cudnnStatus_t st = copy_refs(call, *s, elementCount, arrayOfElements, a.refs); st != CUDNN_STATUS_SUCCESS)
      return st;
  d.attrs[attributeName] = std::move(a);
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnBackendFinalize(cudnnBackendDescriptor_t descriptor) {
  const std::string call = "cudnnBackendFinalize";
  if (cudnnStatus_t s = check_descriptor(call, descriptor); s != CUDNN_STATUS_SUCCESS) return s;
  Descriptor& d = *cast(descriptor);
  for (const Spec& s : kSpecs)
    if (s.desc == d.type && s.required && !d.has(s.name))
      return fail(CUDNN_STATUS_BAD_PARAM, call,
                  std::string(type_name(d.type)) + ": the required attribute " + s.label + " was never set");
  return finalize(call, d);
}

namespace pn::cuda::emu::cudnn::backend {
namespace {

// A finalized ENGINE descriptor: engine `index` on the graph attribute `graph`, running `program`.
std::shared_ptr<Descriptor> make_engine(const Attribute& graph, int64_t index, std::shared_ptr<const Program> program) {
  auto engine = std::make_shared<Descriptor>();
  engine->type = CUDNN_BACKEND_ENGINE_DESCRIPTOR;
  engine->attrs[CUDNN_ATTR_ENGINE_OPERATION_GRAPH] = graph;
  Attribute i;
  i.type = CUDNN_TYPE_INT64;
  i.count = 1;
  i.bytes.resize(8);
  std::memcpy(i.bytes.data(), &index, 8);
  engine->attrs[CUDNN_ATTR_ENGINE_GLOBAL_INDEX] = i;
  engine->finalized = true;
  engine->program = std::move(program);
  return engine;
}

// Whether `target` is a live descriptor of type t (an output array's element).
bool receives(cudnnBackendDescriptor_t target, cudnnBackendDescriptorType_t t) {
  return target && alive(target) && cast(target)->type == t;
}

// ENGINEHEUR_RESULTS: the engine configurations for the graph, in the engines' order, written into
// the caller's (created, not finalized) ENGINECFG descriptors, which come back finalized. An engine
// is offered when it supports the graph; the count is of those offered.
cudnnStatus_t heuristic_results(const std::string& call, const Descriptor& heur, int64_t requested, int64_t* count,
                                void* elements) {
  const Attribute& graph = heur.at(CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH);
  std::vector<std::shared_ptr<Descriptor>> engines;
  for (int64_t e = 0; e < kEngineCount; ++e) {
    std::shared_ptr<const Program> program;
    std::string why;
    if (compile(*graph.refs.at(0), e, program, why) == CUDNN_STATUS_SUCCESS) engines.push_back(make_engine(graph, e, program));
  }
  *count = static_cast<int64_t>(engines.size());
  for (int64_t i = 0; i < std::min<int64_t>(requested, *count); ++i) {
    auto* target = static_cast<cudnnBackendDescriptor_t*>(elements)[i];
    if (!receives(target, CUDNN_BACKEND_ENGINECFG_DESCRIPTOR))
      return fail(CUDNN_STATUS_BAD_PARAM, call,
                  "CUDNN_ATTR_ENGINEHEUR_RESULTS: element " + std::to_string(i) +
                      " of arrayOfElements is not a live CUDNN_BACKEND_ENGINECFG_DESCRIPTOR (create the descriptors "
                      "that receive the results)");
    Descriptor& cfg = *cast(target);
    Attribute e;
    e.type = CUDNN_TYPE_BACKEND_DESCRIPTOR;
    e.count = 1;
    e.refs.push_back(engines[static_cast<size_t>(i)]);
    cfg.attrs[CUDNN_ATTR_ENGINECFG_ENGINE] = e;
    cfg.program = engines[static_cast<size_t>(i)]->program;
    cfg.finalized = true;
  }
  return CUDNN_STATUS_SUCCESS;
}

// ENGINECFG_ENGINE read back: a copy of the configuration's engine in the caller's ENGINE descriptor.
cudnnStatus_t config_engine(const std::string& call, const Descriptor& cfg, int64_t requested, int64_t* count,
                            void* elements) {
  *count = 1;
  if (requested < 1) return CUDNN_STATUS_SUCCESS;
  auto* target = static_cast<cudnnBackendDescriptor_t*>(elements)[0];
  if (!receives(target, CUDNN_BACKEND_ENGINE_DESCRIPTOR))
    return fail(CUDNN_STATUS_BAD_PARAM, call,
                "CUDNN_ATTR_ENGINECFG_ENGINE: element 0 of arrayOfElements is not a live CUDNN_BACKEND_ENGINE_DESCRIPTOR");
  *cast(target) = cfg.ref(CUDNN_ATTR_ENGINECFG_ENGINE);
  return CUDNN_STATUS_SUCCESS;
}

void write_i64(int64_t value, int64_t requested, int64_t* count, void* elements) {
  *count = 1;
  if (requested >= 1) std::memcpy(elements, &value, 8);
}

}  // namespace
}  // namespace pn::cuda::emu::cudnn::backend

cudnnStatus_t cudnnBackendGetAttribute(cudnnBackendDescriptor_t const descriptor,
                                       cudnnBackendAttributeName_t attributeName,
                                       cudnnBackendAttributeType_t attributeType, int64_t requestedElementCount,
                                       int64_t* elementCount, void* arrayOfElements) {
  const std::string call = "cudnnBackendGetAttribute";
  if (cudnnStatus_t s = check_descriptor(call, descriptor); s != CUDNN_STATUS_SUCCESS) return s;
  const Descriptor& d = *cast(descriptor);
  const Spec* s = find_spec(d.type, attributeName);
  if (!s) return fail(CUDNN_STATUS_BAD_PARAM, call, "attribute " + std::to_string(attributeName) + " is not an attribute of a " + type_name(d.type));
  const std::string where = std::string(s->label) + " of a " + type_name(d.type);
  if (attributeType != s->type && attributeType != s->alt)
    return fail(CUDNN_STATUS_BAD_PARAM_ATTRIBUTE_TYPE, call, where + " has attribute type " + std::to_string(s->type) + ", not " + std::to_string(attributeType));
  if (!elementCount || (requestedElementCount > 0 && !arrayOfElements) || requestedElementCount < 0)
    return fail(CUDNN_STATUS_BAD_PARAM, call, where + ": elementCount is NULL, or arrayOfElements is NULL for a request of elements");
  if (!d.finalized)
    return fail(CUDNN_STATUS_BAD_PARAM_NOT_FINALIZED, call, where + ": the descriptor is not finalized");
  if (attributeName == CUDNN_ATTR_ENGINEHEUR_RESULTS)
    return heuristic_results(call, d, requestedElementCount, elementCount, arrayOfElements);
  if (attributeName == CUDNN_ATTR_OPERATIONGRAPH_ENGINE_GLOBAL_COUNT) {
    write_i64(kEngineCount, requestedElementCount, elementCount, arrayOfElements);
    return CUDNN_STATUS_SUCCESS;
  }
  if (attributeName == CUDNN_ATTR_ENGINECFG_ENGINE)
    return config_engine(call, d, requestedElementCount, elementCount, arrayOfElements);
  if (attributeName == CUDNN_ATTR_ENGINE_NUMERICAL_NOTE) {  // engine 0 on a convolution: tensor cores
    const bool tensor_core = d.program && d.program->tensor_core;
    *elementCount = tensor_core ? 1 : 0;
    if (tensor_core && requestedElementCount >= 1)
      *static_cast<cudnnBackendNumericalNote_t*>(arrayOfElements) = CUDNN_NUMERICAL_NOTE_TENSOR_CORE;
    return CUDNN_STATUS_SUCCESS;
  }
  if (attributeName == CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE) {
    write_i64(0, requestedElementCount, elementCount, arrayOfElements);  // the engine needs none
    return CUDNN_STATUS_SUCCESS;
  }
  if (attributeType == CUDNN_TYPE_BACKEND_DESCRIPTOR || !d.has(attributeName) || d.at(attributeName).type != attributeType)
    return fail(CUDNN_STATUS_NOT_SUPPORTED, call, where + ": reading it back as type " + std::to_string(attributeType) + " is not emulated");
  const Attribute& a = d.at(attributeName);
  *elementCount = a.count;
  const int64_t n = std::min(requestedElementCount, a.count);
  if (n > 0) std::memcpy(arrayOfElements, a.bytes.data(), static_cast<size_t>(n) * element_bytes(a.type));
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnBackendExecute(cudnnHandle_t handle, cudnnBackendDescriptor_t executionPlan,
                                  cudnnBackendDescriptor_t variantPack) {
  const std::string call = "cudnnBackendExecute";
  if (cudnnStatus_t s = check_handle(call, handle); s != CUDNN_STATUS_SUCCESS) return s;
  if (cudnnStatus_t s = check_descriptor(call, executionPlan); s != CUDNN_STATUS_SUCCESS) return s;
  if (cudnnStatus_t s = check_descriptor(call, variantPack); s != CUDNN_STATUS_SUCCESS) return s;
  const Descriptor &plan = *cast(executionPlan), &pack = *cast(variantPack);
  if (plan.type != CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR || pack.type != CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR)
    return fail(CUDNN_STATUS_BAD_PARAM_DESCRIPTOR_TYPE, call,
                std::string("executionPlan is a ") + type_name(plan.type) + " and variantPack a " + type_name(pack.type) +
                    "; they must be an EXECUTION_PLAN and a VARIANT_PACK descriptor");
  if (!plan.finalized || !pack.finalized)
    return fail(CUDNN_STATUS_BAD_PARAM_NOT_FINALIZED, call, "executionPlan or variantPack is not finalized");
  return execute(call, handle, *plan.program, pack);
}
