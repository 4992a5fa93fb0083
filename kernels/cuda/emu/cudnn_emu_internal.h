// What the emulated cuDNN's files share (not for users of cudnn_emu.h): the contents of
// handles and descriptors, their registry, failure reporting, the convolution geometry read
// from a set of descriptors, and the algorithm bodies' entry points.
#pragma once
#include <array>
#include <cstdint>
#include <string>

#include "kernels/cuda/emu/cudnn_emu.h"

struct cudnnContext {
  int device = 0;
  cudaStream_t stream = nullptr;
};

struct cudnnTensorStruct {
  bool set = false;
  cudnnDataType_t dtype = CUDNN_DATA_FLOAT;
  int nb = 0;
  int dim[CUDNN_DIM_MAX] = {};
  int stride[CUDNN_DIM_MAX] = {};
};

struct cudnnFilterStruct {
  bool set = false;
  cudnnDataType_t dtype = CUDNN_DATA_FLOAT;
  cudnnTensorFormat_t format = CUDNN_TENSOR_NCHW;
  int nb = 0;
  int dim[CUDNN_DIM_MAX] = {};
};

struct cudnnConvolutionStruct {
  bool set = false;
  int spatial = 0;  // arrayLength
  int pad[CUDNN_DIM_MAX] = {}, stride[CUDNN_DIM_MAX] = {}, dilation[CUDNN_DIM_MAX] = {};
  cudnnConvolutionMode_t mode = CUDNN_CROSS_CORRELATION;
  cudnnDataType_t compute = CUDNN_DATA_FLOAT;
  cudnnMathType_t math = CUDNN_DEFAULT_MATH;  // cuDNN's default
  int groups = 1;
};

namespace pn::cuda::emu::cudnn {

// ---- Registry (cudnn_emu_descriptors.cpp): which objects are alive ---------------------
enum class Kind { Handle, Tensor, Filter, Convolution };
bool alive(Kind kind, const void* object);

// ---- Failures ---------------------------------------------------------------------------
// Records why `call` failed (cudnnGetLastErrorString, emu::last_error_detail) and returns s.
cudnnStatus_t fail(cudnnStatus_t s, const std::string& call, const std::string& why);
// The status for a handle argument: SUCCESS for a live one; CUDNN_STATUS_BAD_PARAM for NULL
// (each function's "handle is NULL" rule); CUDNN_STATUS_NOT_INITIALIZED for one never
// created or already destroyed ("cudnnCreate() has not been called", the status's own
// documentation in cudnn-graph-library, cudnnStatus_t).
cudnnStatus_t check_handle(const std::string& call, cudnnHandle_t h);
// A descriptor argument named `name`: SUCCESS when alive and set; otherwise BAD_PARAM with
// the reason (NULL, never created or destroyed, never set: "not allocated properly").
cudnnStatus_t check_desc(const std::string& call, const cudnnTensorStruct* d, const char* name);
cudnnStatus_t check_desc(const std::string& call, const cudnnFilterStruct* d, const char* name);
cudnnStatus_t check_desc(const std::string& call, const cudnnConvolutionStruct* d, const char* name);
// "dims [2, 3, 7, 9, 8] strides [1512, 504, 72, 8, 1]".
std::string describe(const cudnnTensorStruct& t);
std::string describe(const cudnnFilterStruct& f);

// ---- Geometry ---------------------------------------------------------------------------
// A convolution read from its descriptors, always as 3 spatial dims (4-D tensors get
// D = 1): tensor x [N, C, in...] with strides xs, filter w [K, C, k...] (packed KCRS), tensor
// y [N, K, out...] with strides ys. For backward data, x is dx and y is dy; for backward
// filter, w is dw.
struct Geometry {
  int nb = 5;  // 4 or 5
  int64_t N = 0, C = 0, K = 0;
  std::array<int64_t, 3> in{1, 1, 1}, k{1, 1, 1}, out{1, 1, 1};
  std::array<int64_t, 3> pad{0, 0, 0}, stride{1, 1, 1}, dilation{1, 1, 1};
  std::array<int64_t, 5> xs{}, ys{}, ws{};  // element strides of N/K, C, D, H, W (ws: the filter
                                            // format's, KCRS for NCHW, KRSC for NHWC)
  bool flip = false;                        // CUDNN_CONVOLUTION: the filter is mirrored
  cudnnDataType_t dtype = CUDNN_DATA_FLOAT;
  cudnnMathType_t math = CUDNN_DEFAULT_MATH;
  bool tf32 = false;  // float data under a math type that permits tensor cores
  // Bytes of one stored element (2 for HALF / BFLOAT16), and of one element of the compute
  // type the bodies run in (16-bit data is computed in float: PSEUDO_HALF / PSEUDO_BFLOAT16).
  size_t element_size() const {
    return dtype == CUDNN_DATA_DOUBLE ? 8 : (dtype == CUDNN_DATA_HALF || dtype == CUDNN_DATA_BFLOAT16) ? 2 : 4;
  }
  size_t compute_size() const { return dtype == CUDNN_DATA_DOUBLE ? 8 : 4; }
  int64_t k_volume() const { return k[0] * k[1] * k[2]; }
  int64_t out_volume() const { return out[0] * out[1] * out[2]; }
  int64_t in_volume() const { return in[0] * in[1] * in[2]; }
};

using Direction = ConvDirection;
const char* direction_name(Direction d);  // "forward", ...
const char* algo_name(Direction d, int algo);

// The descriptors of one call, in forward roles: x (dx for backward data), w (dw), y (dy).
struct Descs {
  cudnnTensorDescriptor_t x;
  cudnnFilterDescriptor_t w;
  cudnnConvolutionDescriptor_t conv;
  cudnnTensorDescriptor_t y;
};

// Checks the descriptors of a call in `direction` as that function's reference documents
// (cudnn_emu_algos.cpp cites each rule) and reads the geometry. SUCCESS, or the documented
// status with the reason recorded against `call`.
cudnnStatus_t read_geometry(const std::string& call, Direction direction, const Descs& d, Geometry& g);

// Elements a tensor descriptor spans: max offset + 1 (0 for an empty one).
int64_t span_elements(const cudnnTensorStruct& t);

// ---- Algorithms (cudnn_emu_algos.cpp) ---------------------------------------------------
// IMPLICIT_PRECOMP_GEMM's workspace holds one 32-byte entry per filter tap (C * k volume).
constexpr size_t kPrecompTapBytes = 32;
struct AlgoSupport {
  cudnnStatus_t status;  // SUCCESS or NOT_SUPPORTED for this geometry
  std::string why;       // when not supported
  size_t workspace;      // bytes the algorithm needs
  cudnnDeterminism_t determinism;
};
AlgoSupport algo_support(Direction d, int algo, const Geometry& g);

// ---- Bodies (cudnn_emu_conv.cpp): run on the emulated device inside the enqueued op -----
// out = alpha * op + beta * out (out not read when beta == 0). `seed` varies the summation
// order of the non-deterministic algorithms.
struct Launch {
  Direction direction;
  int algo;
  Geometry g;
  const void* a;  // x (forward, backward filter) or w (backward data)
  const void* b;  // w (forward) or dy (backward data, backward filter)
  void* out;      // y, dx or dw
  void* workspace;
  double alpha, beta;
  uint64_t seed;
};
void run(const Launch& l);

}  // namespace pn::cuda::emu::cudnn
