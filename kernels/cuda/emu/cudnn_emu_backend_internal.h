// What the emulated cuDNN backend API's files share (not for users of cudnn_emu.h): a backend
// descriptor as an attribute bag (cudnn_emu_backend.cpp sets, checks and finalizes it), and the
// one emulated engine (cudnn_emu_backend_engine.cpp) that matches an operation graph against the
// fused patterns it supports and runs the resulting program.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kernels/cuda/emu/cudnn_emu_internal.h"

namespace pn::cuda::emu::cudnn::backend {

struct Descriptor;
using Ref = std::shared_ptr<const Descriptor>;

// One attribute's value as set: its type, element count, the elements' bytes, and for
// CUDNN_TYPE_BACKEND_DESCRIPTOR the copies of the referenced (finalized) descriptors.
struct Attribute {
  cudnnBackendAttributeType_t type = CUDNN_TYPE_INT64;
  int64_t count = 0;
  std::vector<unsigned char> bytes;
  std::vector<Ref> refs;
};

struct Program;  // what an execution plan runs (the engine's)

struct Descriptor {
  cudnnBackendDescriptorType_t type = CUDNN_BACKEND_TENSOR_DESCRIPTOR;
  bool finalized = false;
  std::map<int, Attribute> attrs;         // by cudnnBackendAttributeName_t
  std::shared_ptr<const Program> program;  // EXECUTION_PLAN, ENGINE, ENGINECFG: once finalized

  bool has(cudnnBackendAttributeName_t n) const { return attrs.count(n) != 0; }
  const Attribute& at(cudnnBackendAttributeName_t n) const { return attrs.at(n); }
  // Element i of an attribute known to be present, read as its type stores it.
  int64_t i64(cudnnBackendAttributeName_t n, int64_t i = 0) const;
  std::vector<int64_t> i64s(cudnnBackendAttributeName_t n) const;
  int32_t enum_value(cudnnBackendAttributeName_t n) const;  // DATA_TYPE, *_MODE, INT32
  bool boolean(cudnnBackendAttributeName_t n) const;
  double real(cudnnBackendAttributeName_t n) const;  // FLOAT or DOUBLE
  const void* pointer(cudnnBackendAttributeName_t n, int64_t i = 0) const;
  const Descriptor& ref(cudnnBackendAttributeName_t n, int64_t i = 0) const { return *at(n).refs.at(i); }
};

const char* type_name(cudnnBackendDescriptorType_t t);  // "CUDNN_BACKEND_TENSOR_DESCRIPTOR"

// A finalized TENSOR descriptor's contents (cudnn_emu_backend_finalize.cpp).
struct TensorInfo {
  int64_t uid = 0, alignment = 0;
  cudnnDataType_t dtype = CUDNN_DATA_FLOAT;
  std::vector<int64_t> dims, strides;
  bool is_virtual = false;
  std::string describe() const;  // "uid 3 (dims [1, 4, 1, 1], strides [4, 1, 1, 1], dtype 0)"
};
TensorInfo tensor_info(const Descriptor& tensor);

// cudnnBackendFinalize's checks per descriptor type, once the required attributes are known
// to be present (cudnn_emu_backend_finalize.cpp). Marks d finalized on success.
cudnnStatus_t finalize(const std::string& call, Descriptor& d);

// ---- The engine (cudnn_emu_backend_engine.cpp) -----------------------------------------
// What an execution plan runs: one of the two fused patterns, read from the graph.
struct Program {
  bool conv = false;         // conv + bias + act; otherwise scale/shift + act
  TensorInfo x, w, y, a, b;  // a: bias (conv) or scale; b: shift (w, b unused where absent)
  Geometry g;                // conv: the convolution, computed in float (TF32 inputs when g.tf32)
  bool tensor_core = false;  // the engine reports CUDNN_NUMERICAL_NOTE_TENSOR_CORE
  bool act = false;          // RELU_FWD with these clips and slope
  double lower = 0, upper = 1.7976931348623157e308, slope = 0;
};

// The emulated engines: 0 (tensor cores: TF32 for float convolutions) and 1 (FP32).
constexpr int64_t kEngineCount = 2;
// Engine `engine`'s verdict on a finalized OPERATIONGRAPH: the program that runs it, or
// NOT_SUPPORTED_GRAPH_PATTERN (or another NOT_SUPPORTED sub-code) with the reason in `why`.
cudnnStatus_t compile(const Descriptor& graph, int64_t engine, std::shared_ptr<const Program>& program,
                      std::string& why);
// cudnnBackendExecute's work once the arguments are checked (cudnn_emu_backend_execute.cpp):
// reads the variant pack against the program's tensors, refuses missing or misaligned pointers,
// and enqueues the program on the handle's stream.
cudnnStatus_t execute(const std::string& call, cudnnHandle_t handle, const Program& program,
                      const Descriptor& variant_pack);

}  // namespace pn::cuda::emu::cudnn::backend
