// The emulated cuDNN backend (graph) API: the subset of cudnn_graph_v9.h that the fused graphs of
// kernels/cuda/dnn_graph.cpp drive, with cuDNN's names, types and enum values (copied from cuDNN
// 9.19's cudnn_graph_v9.h; enumerators we never use are left out, the numbers of those present
// are the real ones). Included by cudnn_emu.h, as the real cudnn.h includes cudnn_graph.h.
// Written from NVIDIA's cuDNN 9 API reference (cudnn-graph-library.html: cudnnBackend*,
// "Backend Descriptor Types", "Backend Attribute Names"); the rules each check follows are cited
// in cudnn_emu_backend.cpp (descriptors, attributes, finalization) and cudnn_emu_backend_engine.cpp
// (the engine: which graphs run, and how they compute).
//
// What is emulated:
//  - descriptors TENSOR, CONVOLUTION, POINTWISE, OPERATION_CONVOLUTION_FORWARD,
//    OPERATION_POINTWISE, OPERATIONGRAPH, ENGINEHEUR, ENGINE, ENGINECFG, EXECUTION_PLAN and
//    VARIANT_PACK as attribute bags: every attribute is checked at cudnnBackendSetAttribute for
//    its type, element count and (descriptor-valued ones) for the referenced descriptor's type and
//    finalized state; a referenced descriptor is copied at that moment, as cuDNN does, so it may
//    be destroyed afterwards; cudnnBackendFinalize checks that the required attributes are present
//    and consistent (shapes, uids), and the ENGINE / EXECUTION_PLAN finalization asks the
//    emulated engine named by its global index whether it supports the graph;
//  - two engines (CUDNN_ATTR_OPERATIONGRAPH_ENGINE_GLOBAL_COUNT 2), offered by the heuristics in
//    this order: engine 0 stands for a tensor-core runtime-fusion engine: it runs a FLOAT
//    convolution in TF32 (inputs rounded to TF32, kernels/math/tf32.h, then float sums) and
//    reports CUDNN_NUMERICAL_NOTE_TENSOR_CORE for graphs with a convolution; engine 1 computes in
//    plain FP32 and reports no note (16-bit data is exact in TF32: both give the same numbers).
//    CUDNN_ATTR_ENGINECFG_ENGINE and CUDNN_ATTR_ENGINE_NUMERICAL_NOTE can be read back, so a
//    caller can skip tensor-core engines when TF32 is not allowed;
//  - the engines run exactly two patterns (anything else: CUDNN_STATUS_NOT_SUPPORTED_GRAPH_PATTERN,
//    and the heuristics return no engine configuration for it):
//      conv + bias + activation: CONVOLUTION_FORWARD (alpha 1, beta 0) -> POINTWISE ADD with a
//        per-channel [1, K, 1, ...] tensor -> optionally POINTWISE RELU_FWD (lower clip, its slope
//        for leaky ReLU, upper clip), intermediates virtual;
//      scale/shift + activation (batch-norm apply): POINTWISE MUL by a per-channel tensor -> ADD of
//        a per-channel tensor -> optionally RELU_FWD (per-channel: [1, C, 1, ...], or [N, C, 1, ...]
//        per sample and channel, as instance norm's);
//    data FLOAT, HALF or BFLOAT16 (x, w, y alike), per-channel operands FLOAT or the data type,
//    computed in float: the convolution is the emulated legacy forward (cudnn_emu_conv.cpp,
//    implicit GEMM, float sums in (C, r) order), the bias and activation are applied to the
//    float sums and each result is rounded once to y's type; 4-D or 5-D tensors with any
//    strides (NCHW, NHWC, NCDHW, NDHWC);
//  - cudnnBackendExecute enqueues the plan on the handle's stream as one op declaring every
//    tensor it reads and writes (emu/device_work.h); a missing uid, a NULL or misaligned pointer
//    is refused with the documented status before anything is enqueued.
// What real cuDNN does differently: it has many engines (heuristics modes return several
// configurations, with knobs and more notes), and its runtime-fusion engines need sm_80 or newer. Every failed call explains itself
// through cudnnGetLastErrorString and pn::cuda::emu::last_error_detail().
#pragma once
#include <cstdint>

// (cudnn_emu.h has declared cudnnStatus_t, cudnnDataType_t, cudnnConvolutionMode_t, cudnnHandle_t.)

using cudnnBackendDescriptor_t = void*;

enum cudnnPointwiseMode_t : int {
  CUDNN_POINTWISE_ADD = 0,
  CUDNN_POINTWISE_MUL = 1,
  CUDNN_POINTWISE_MIN = 2,
  CUDNN_POINTWISE_MAX = 3,
  CUDNN_POINTWISE_SQRT = 4,
  CUDNN_POINTWISE_SUB = 9,
  CUDNN_POINTWISE_IDENTITY = 21,
  CUDNN_POINTWISE_RELU_FWD = 100,
  CUDNN_POINTWISE_TANH_FWD = 101,
  CUDNN_POINTWISE_SIGMOID_FWD = 102,
};

enum cudnnBackendAttributeName_t : int {
  CUDNN_ATTR_POINTWISE_MODE = 0,
  CUDNN_ATTR_POINTWISE_MATH_PREC = 1,
  CUDNN_ATTR_POINTWISE_RELU_LOWER_CLIP = 3,
  CUDNN_ATTR_POINTWISE_RELU_UPPER_CLIP = 4,
  CUDNN_ATTR_POINTWISE_RELU_LOWER_CLIP_SLOPE = 5,
  CUDNN_ATTR_CONVOLUTION_COMP_TYPE = 100,
  CUDNN_ATTR_CONVOLUTION_CONV_MODE = 101,
  CUDNN_ATTR_CONVOLUTION_DILATIONS = 102,
  CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES = 103,
  CUDNN_ATTR_CONVOLUTION_POST_PADDINGS = 104,
  CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS = 105,
  CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS = 106,
  CUDNN_ATTR_ENGINEHEUR_MODE = 200,
  CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH = 201,
  CUDNN_ATTR_ENGINEHEUR_RESULTS = 202,
  CUDNN_ATTR_ENGINECFG_ENGINE = 300,
  CUDNN_ATTR_EXECUTION_PLAN_HANDLE = 400,
  CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG = 401,
  CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE = 402,
  CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_ALPHA = 700,
  CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_BETA = 701,
  CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC = 702,
  CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W = 703,
  CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X = 704,
  CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y = 705,
  CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR = 750,
  CUDNN_ATTR_OPERATION_POINTWISE_XDESC = 751,
  CUDNN_ATTR_OPERATION_POINTWISE_BDESC = 752,
  CUDNN_ATTR_OPERATION_POINTWISE_YDESC = 753,
  CUDNN_ATTR_OPERATION_POINTWISE_ALPHA1 = 754,
  CUDNN_ATTR_OPERATION_POINTWISE_ALPHA2 = 755,
  CUDNN_ATTR_OPERATIONGRAPH_HANDLE = 800,
  CUDNN_ATTR_OPERATIONGRAPH_OPS = 801,
  CUDNN_ATTR_OPERATIONGRAPH_ENGINE_GLOBAL_COUNT = 802,
  CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT = 900,
  CUDNN_ATTR_TENSOR_DATA_TYPE = 901,
  CUDNN_ATTR_TENSOR_DIMENSIONS = 902,
  CUDNN_ATTR_TENSOR_STRIDES = 903,
  CUDNN_ATTR_TENSOR_UNIQUE_ID = 906,
  CUDNN_ATTR_TENSOR_IS_VIRTUAL = 907,
  CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS = 1000,
  CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS = 1001,
  CUDNN_ATTR_VARIANT_PACK_WORKSPACE = 1003,
  CUDNN_ATTR_ENGINE_OPERATION_GRAPH = 1300,
  CUDNN_ATTR_ENGINE_GLOBAL_INDEX = 1301,
  CUDNN_ATTR_ENGINE_NUMERICAL_NOTE = 1303,
};

enum cudnnBackendAttributeType_t : int {
  CUDNN_TYPE_HANDLE = 0,
  CUDNN_TYPE_DATA_TYPE = 1,
  CUDNN_TYPE_BOOLEAN = 2,
  CUDNN_TYPE_INT64 = 3,
  CUDNN_TYPE_FLOAT = 4,
  CUDNN_TYPE_DOUBLE = 5,
  CUDNN_TYPE_VOID_PTR = 6,
  CUDNN_TYPE_CONVOLUTION_MODE = 7,
  CUDNN_TYPE_HEUR_MODE = 8,
  CUDNN_TYPE_NUMERICAL_NOTE = 11,
  CUDNN_TYPE_POINTWISE_MODE = 14,
  CUDNN_TYPE_BACKEND_DESCRIPTOR = 15,
  CUDNN_TYPE_INT32 = 23,
};

enum cudnnBackendDescriptorType_t : int {
  CUDNN_BACKEND_POINTWISE_DESCRIPTOR = 0,
  CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR = 1,
  CUDNN_BACKEND_ENGINE_DESCRIPTOR = 2,
  CUDNN_BACKEND_ENGINECFG_DESCRIPTOR = 3,
  CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR = 4,
  CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR = 5,
  CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR = 10,
  CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR = 13,
  CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR = 15,
  CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR = 16,
  CUDNN_BACKEND_TENSOR_DESCRIPTOR = 17,
};

enum cudnnBackendHeurMode_t : int {
  CUDNN_HEUR_MODE_INSTANT = 0,
  CUDNN_HEUR_MODE_B = 1,
  CUDNN_HEUR_MODE_FALLBACK = 2,
  CUDNN_HEUR_MODE_A = 3,
  CUDNN_HEUR_MODES_COUNT = 4,
};

enum cudnnBackendNumericalNote_t : int {
  CUDNN_NUMERICAL_NOTE_TENSOR_CORE = 0,
  CUDNN_NUMERICAL_NOTE_DOWN_CONVERT_INPUTS = 1,
  CUDNN_NUMERICAL_NOTE_REDUCED_PRECISION_REDUCTION = 2,
  CUDNN_NUMERICAL_NOTE_NONDETERMINISTIC = 4,
  CUDNN_NUMERICAL_NOTE_TYPE_COUNT = 10,
};

cudnnStatus_t cudnnBackendCreateDescriptor(cudnnBackendDescriptorType_t descriptorType,
                                           cudnnBackendDescriptor_t* descriptor);
cudnnStatus_t cudnnBackendDestroyDescriptor(cudnnBackendDescriptor_t descriptor);
cudnnStatus_t cudnnBackendFinalize(cudnnBackendDescriptor_t descriptor);
cudnnStatus_t cudnnBackendSetAttribute(cudnnBackendDescriptor_t descriptor, cudnnBackendAttributeName_t attributeName,
                                       cudnnBackendAttributeType_t attributeType, int64_t elementCount,
                                       const void* arrayOfElements);
cudnnStatus_t cudnnBackendGetAttribute(cudnnBackendDescriptor_t const descriptor,
                                       cudnnBackendAttributeName_t attributeName,
                                       cudnnBackendAttributeType_t attributeType, int64_t requestedElementCount,
                                       int64_t* elementCount, void* arrayOfElements);
cudnnStatus_t cudnnBackendExecute(cudnnHandle_t handle, cudnnBackendDescriptor_t executionPlan,
                                  cudnnBackendDescriptor_t variantPack);

namespace pn::cuda::emu {
// Execution plans enqueued by cudnnBackendExecute so far, process-wide (refused ones are not
// counted): how tests see that a wrapper took the graph path.
int64_t cudnn_graph_executions();
}  // namespace pn::cuda::emu
