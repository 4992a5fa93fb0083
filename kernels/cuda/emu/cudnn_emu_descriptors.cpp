// The emulated cuDNN's library functions, handles and descriptors: creation, setting (with
// the argument rules of cuDNN 9's API reference, cited per check), queries, destruction, the
// output-dimension helper, and failure reporting. Which objects are alive is tracked, so
// that a destroyed handle or descriptor is refused instead of read.
#include <climits>
#include <mutex>
#include <set>
#include <string>

#include "kernels/cuda/emu/cudnn_emu_internal.h"
#include "kernels/cuda/emu/library_op.h"

namespace pn::cuda::emu::cudnn {

namespace {

std::mutex g_mutex;
std::set<const void*> g_alive[4];  // by Kind
thread_local std::string t_last_error;

template <class T>
cudnnStatus_t create(Kind kind, T** out, const char* call) {
  if (!out) return fail(CUDNN_STATUS_BAD_PARAM, call, "the output pointer is NULL");
  T* p = new T;
  std::lock_guard<std::mutex> lock(g_mutex);
  g_alive[static_cast<int>(kind)].insert(p);
  *out = p;
  return CUDNN_STATUS_SUCCESS;
}

// Destroying NULL is a no-op, as freeing NULL is; destroying what is not alive is refused.
template <class T>
cudnnStatus_t destroy(Kind kind, T* p, const char* call) {
  if (!p) return CUDNN_STATUS_SUCCESS;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    if (g_alive[static_cast<int>(kind)].erase(p) == 1) {
      delete p;
      return CUDNN_STATUS_SUCCESS;
    }
  }
  return fail(CUDNN_STATUS_BAD_PARAM, call, "the descriptor was never created or is already destroyed");
}

bool valid_dtype(cudnnDataType_t t) { return t >= CUDNN_DATA_FLOAT && t <= CUDNN_DATA_COMPLEX_FP64; }

std::string join(const int* v, int n) {
  std::string s = "[";
  for (int i = 0; i < n; ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

// A descriptor argument: alive and set, or the reason it is not (for BAD_PARAM).
template <class T>
std::string unusable(Kind kind, const T* d, const char* name) {
  if (!d) return std::string(name) + " is NULL";
  if (!alive(kind, d)) return std::string(name) + " was never created or is destroyed";
  if (!d->set) return std::string(name) + " was created but never set";
  return "";
}

}  // namespace

bool alive(Kind kind, const void* object) {
  std::lock_guard<std::mutex> lock(g_mutex);
  return object && g_alive[static_cast<int>(kind)].count(object) != 0;
}

cudnnStatus_t fail(cudnnStatus_t s, const std::string& call, const std::string& why) {
  t_last_error = call + ": " + why;
  detail::explain(t_last_error);
  return s;
}

cudnnStatus_t check_handle(const std::string& call, cudnnHandle_t h) {
  if (!h) return fail(CUDNN_STATUS_BAD_PARAM, call, "handle is NULL");
  if (!alive(Kind::Handle, h))
    return fail(CUDNN_STATUS_NOT_INITIALIZED, call, "handle was never created by cudnnCreate or is destroyed");
  return CUDNN_STATUS_SUCCESS;
}

std::string describe(const cudnnTensorStruct& t) {
  return "dims " + join(t.dim, t.nb) + " strides " + join(t.stride, t.nb);
}

std::string describe(const cudnnFilterStruct& f) { return "dims " + join(f.dim, f.nb); }

int64_t span_elements(const cudnnTensorStruct& t) {
  int64_t last = 0;
  for (int i = 0; i < t.nb; ++i) {
    if (t.dim[i] <= 0) return 0;
    last += static_cast<int64_t>(t.dim[i] - 1) * t.stride[i];
  }
  return last + 1;
}

cudnnStatus_t check_desc(const std::string& call, const cudnnTensorStruct* d, const char* name) {
  const std::string why = unusable(Kind::Tensor, d, name);
  return why.empty() ? CUDNN_STATUS_SUCCESS : fail(CUDNN_STATUS_BAD_PARAM, call, why);
}
cudnnStatus_t check_desc(const std::string& call, const cudnnFilterStruct* d, const char* name) {
  const std::string why = unusable(Kind::Filter, d, name);
  return why.empty() ? CUDNN_STATUS_SUCCESS : fail(CUDNN_STATUS_BAD_PARAM, call, why);
}
cudnnStatus_t check_desc(const std::string& call, const cudnnConvolutionStruct* d, const char* name) {
  const std::string why = unusable(Kind::Convolution, d, name);
  return why.empty() ? CUDNN_STATUS_SUCCESS : fail(CUDNN_STATUS_BAD_PARAM, call, why);
}

}  // namespace pn::cuda::emu::cudnn

namespace cudnn = pn::cuda::emu::cudnn;
using cudnn::fail;
using cudnn::join;
using cudnn::Kind;
using cudnn::valid_dtype;

size_t cudnnGetVersion() { return CUDNN_VERSION; }

void cudnnGetLastErrorString(char* message, size_t max_size) {
  if (!message || max_size == 0) return;
  const std::string& s = cudnn::t_last_error;
  const size_t n = s.size() < max_size - 1 ? s.size() : max_size - 1;
  s.copy(message, n);
  message[n] = '\0';
}

const char* cudnnGetErrorString(cudnnStatus_t status) {
  switch (status) {
#define PN_STATUS(name) \
  case name:            \
    return #name;
    PN_STATUS(CUDNN_STATUS_SUCCESS)
    PN_STATUS(CUDNN_STATUS_NOT_INITIALIZED)
    PN_STATUS(CUDNN_STATUS_SUBLIBRARY_VERSION_MISMATCH)
    PN_STATUS(CUDNN_STATUS_SERIALIZATION_VERSION_MISMATCH)
    PN_STATUS(CUDNN_STATUS_DEPRECATED)
    PN_STATUS(CUDNN_STATUS_LICENSE_ERROR)
    PN_STATUS(CUDNN_STATUS_RUNTIME_IN_PROGRESS)
    PN_STATUS(CUDNN_STATUS_RUNTIME_FP_OVERFLOW)
    PN_STATUS(CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED)
    PN_STATUS(CUDNN_STATUS_BAD_PARAM)
    PN_STATUS(CUDNN_STATUS_INVALID_VALUE)
    PN_STATUS(CUDNN_STATUS_BAD_PARAM_NULL_POINTER)
    PN_STATUS(CUDNN_STATUS_BAD_PARAM_MISALIGNED_POINTER)
    PN_STATUS(CUDNN_STATUS_BAD_PARAM_NOT_FINALIZED)
    PN_STATUS(CUDNN_STATUS_BAD_PARAM_OUT_OF_BOUND)
    PN_STATUS(CUDNN_STATUS_BAD_PARAM_SIZE_INSUFFICIENT)
    PN_STATUS(CUDNN_STATUS_BAD_PARAM_STREAM_MISMATCH)
    PN_STATUS(CUDNN_STATUS_BAD_PARAM_SHAPE_MISMATCH)
    PN_STATUS(CUDNN_STATUS_BAD_PARAM_DUPLICATED_ENTRIES)
    PN_STATUS(CUDNN_STATUS_BAD_PARAM_ATTRIBUTE_TYPE)
    PN_STATUS(CUDNN_STATUS_BAD_PARAM_CUDA_GRAPH_MISMATCH)
    PN_STATUS(CUDNN_STATUS_BAD_PARAM_DESCRIPTOR_TYPE)
    PN_STATUS(CUDNN_STATUS_NOT_SUPPORTED)
    PN_STATUS(CUDNN_STATUS_NOT_SUPPORTED_GRAPH_PATTERN)
    PN_STATUS(CUDNN_STATUS_NOT_SUPPORTED_SHAPE)
    PN_STATUS(CUDNN_STATUS_NOT_SUPPORTED_DATA_TYPE)
    PN_STATUS(CUDNN_STATUS_NOT_SUPPORTED_LAYOUT)
    PN_STATUS(CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDA_DRIVER)
    PN_STATUS(CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDART)
    PN_STATUS(CUDNN_STATUS_NOT_SUPPORTED_ARCH_MISMATCH)
    PN_STATUS(CUDNN_STATUS_NOT_SUPPORTED_RUNTIME_PREREQUISITE_MISSING)
    PN_STATUS(CUDNN_STATUS_NOT_SUPPORTED_SUBLIBRARY_UNAVAILABLE)
    PN_STATUS(CUDNN_STATUS_NOT_SUPPORTED_SHARED_MEMORY_INSUFFICIENT)
    PN_STATUS(CUDNN_STATUS_NOT_SUPPORTED_PADDING)
    PN_STATUS(CUDNN_STATUS_NOT_SUPPORTED_BAD_LAUNCH_PARAM)
    PN_STATUS(CUDNN_STATUS_NOT_SUPPORTED_CUDA_GRAPH_NATIVE_API)
    PN_STATUS(CUDNN_STATUS_NOT_SUPPORTED_INVALID_DYNAMIC_SHAPE)
    PN_STATUS(CUDNN_STATUS_INTERNAL_ERROR)
    PN_STATUS(CUDNN_STATUS_INTERNAL_ERROR_COMPILATION_FAILED)
    PN_STATUS(CUDNN_STATUS_INTERNAL_ERROR_UNEXPECTED_VALUE)
    PN_STATUS(CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED)
    PN_STATUS(CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED)
    PN_STATUS(CUDNN_STATUS_INTERNAL_ERROR_BAD_LAUNCH_PARAM)
    PN_STATUS(CUDNN_STATUS_INTERNAL_ERROR_TEXTURE_CREATION_FAILED)
    PN_STATUS(CUDNN_STATUS_EXECUTION_FAILED)
    PN_STATUS(CUDNN_STATUS_EXECUTION_FAILED_CUDA_DRIVER)
    PN_STATUS(CUDNN_STATUS_EXECUTION_FAILED_CUBLAS)
    PN_STATUS(CUDNN_STATUS_EXECUTION_FAILED_CUDART)
    PN_STATUS(CUDNN_STATUS_EXECUTION_FAILED_CURAND)
#undef PN_STATUS
  }
  return "CUDNN_STATUS_UNKNOWN";
}

// cudnnCreate: "CUDNN_STATUS_BAD_PARAM: Invalid (NULL) pointer supplied" (NULL output).
cudnnStatus_t cudnnCreate(cudnnHandle_t* handle) {
  const cudnnStatus_t s = cudnn::create(Kind::Handle, handle, "cudnnCreate");
  if (s == CUDNN_STATUS_SUCCESS) (*handle)->device = pn::cuda::emu::detail::current_device();
  return s;
}

cudnnStatus_t cudnnDestroy(cudnnHandle_t handle) {
  if (const cudnnStatus_t s = cudnn::check_handle("cudnnDestroy", handle); s != CUDNN_STATUS_SUCCESS) return s;
  return cudnn::destroy(Kind::Handle, handle, "cudnnDestroy");
}

// cudnnSetStream: "CUDNN_STATUS_BAD_PARAM: Invalid (NULL) handle"; "CUDNN_STATUS_MAPPING_ERROR:
// Mismatch between the user stream and the cuDNN handle context" (MAPPING_ERROR is a
// deprecated alias in cuDNN 9; the emulator returns its named successor for this case,
// CUDNN_STATUS_BAD_PARAM_STREAM_MISMATCH). An unknown or destroyed stream: BAD_PARAM.
cudnnStatus_t cudnnSetStream(cudnnHandle_t handle, cudaStream_t stream) {
  const char* call = "cudnnSetStream";
  if (const cudnnStatus_t s = cudnn::check_handle(call, handle); s != CUDNN_STATUS_SUCCESS) return s;
  const int dev = pn::cuda::emu::detail::stream_device(stream);
  if (dev < 0) return fail(CUDNN_STATUS_BAD_PARAM, call, "the stream is unknown or destroyed");
  if (dev != handle->device)
    return fail(CUDNN_STATUS_BAD_PARAM_STREAM_MISMATCH, call,
                "the stream belongs to device " + std::to_string(dev) + " but the handle to device " +
                    std::to_string(handle->device));
  handle->stream = stream;
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetStream(cudnnHandle_t handle, cudaStream_t* stream) {
  if (const cudnnStatus_t s = cudnn::check_handle("cudnnGetStream", handle); s != CUDNN_STATUS_SUCCESS) return s;
  if (!stream) return fail(CUDNN_STATUS_BAD_PARAM, "cudnnGetStream", "streamId is NULL");
  *stream = handle->stream;
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnCreateTensorDescriptor(cudnnTensorDescriptor_t* desc) {
  return cudnn::create(Kind::Tensor, desc, "cudnnCreateTensorDescriptor");
}

// cudnnSetTensorNdDescriptor: "CUDNN_STATUS_BAD_PARAM: At least one of the elements of the
// array dimA was negative or zero, or dataType has an invalid enumerant value";
// "CUDNN_STATUS_NOT_SUPPORTED: The parameter nbDims is outside the range [4, CUDNN_DIM_MAX],
// or the total size of the tensor descriptor exceeds the maximum limit of 2 Giga-elements".
// Negative strides are accepted here and refused by the convolutions (their NOT_SUPPORTED
// rule "negative tensor striding").
cudnnStatus_t cudnnSetTensorNdDescriptor(cudnnTensorDescriptor_t desc, cudnnDataType_t dataType, int nbDims,
                                         const int dimA[], const int strideA[]) {
  const char* call = "cudnnSetTensorNdDescriptor";
  if (!desc || !cudnn::alive(Kind::Tensor, desc)) return fail(CUDNN_STATUS_BAD_PARAM, call, "tensorDesc is not alive");
  if (!valid_dtype(dataType)) return fail(CUDNN_STATUS_BAD_PARAM, call, "invalid dataType " + std::to_string(dataType));
  if (nbDims < 4 || nbDims > CUDNN_DIM_MAX)
    return fail(CUDNN_STATUS_NOT_SUPPORTED, call, "nbDims " + std::to_string(nbDims) + " is outside [4, 8]");
  if (!dimA || !strideA) return fail(CUDNN_STATUS_BAD_PARAM, call, "dimA or strideA is NULL");
  int64_t total = 1;
  for (int i = 0; i < nbDims; ++i) {
    if (dimA[i] <= 0) return fail(CUDNN_STATUS_BAD_PARAM, call, "dimA " + join(dimA, nbDims) + " has a size <= 0");
    total *= dimA[i];
  }
  if (total > INT_MAX)
    return fail(
        CUDNN_STATUS_NOT_SUPPORTED, call,
        "dimA " + join(dimA, nbDims) + " holds " + std::to_string(total) + " elements, over the 2^31 - 1 limit");
  desc->set = true;
  desc->dtype = dataType;
  desc->nb = nbDims;
  for (int i = 0; i < nbDims; ++i) {
    desc->dim[i] = dimA[i];
    desc->stride[i] = strideA[i];
  }
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetTensorNdDescriptor(const cudnnTensorDescriptor_t desc, int nbDimsRequested,
                                         cudnnDataType_t* dataType, int* nbDims, int dimA[], int strideA[]) {
  const char* call = "cudnnGetTensorNdDescriptor";
  if (const cudnnStatus_t s = cudnn::check_desc(call, desc, "tensorDesc"); s != CUDNN_STATUS_SUCCESS) return s;
  if (nbDimsRequested < 0 || !dataType || !nbDims || (nbDimsRequested > 0 && (!dimA || !strideA)))
    return fail(CUDNN_STATUS_BAD_PARAM, call, "a NULL output or a negative nbDimsRequested");
  *dataType = desc->dtype;
  *nbDims = desc->nb;
  for (int i = 0; i < nbDimsRequested && i < desc->nb; ++i) {
    dimA[i] = desc->dim[i];
    strideA[i] = desc->stride[i];
  }
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnDestroyTensorDescriptor(cudnnTensorDescriptor_t desc) {
  return cudnn::destroy(Kind::Tensor, desc, "cudnnDestroyTensorDescriptor");
}

cudnnStatus_t cudnnCreateFilterDescriptor(cudnnFilterDescriptor_t* desc) {
  return cudnn::create(Kind::Filter, desc, "cudnnCreateFilterDescriptor");
}

// cudnnSetFilterNdDescriptor: "CUDNN_STATUS_BAD_PARAM: At least one of the elements of the
// array filterDimA is negative or dataType or format has an invalid enumerant value";
// "CUDNN_STATUS_NOT_SUPPORTED: the parameter nbDims exceeds CUDNN_DIM_MAX".
cudnnStatus_t cudnnSetFilterNdDescriptor(cudnnFilterDescriptor_t desc, cudnnDataType_t dataType,
                                         cudnnTensorFormat_t format, int nbDims, const int filterDimA[]) {
  const char* call = "cudnnSetFilterNdDescriptor";
  if (!desc || !cudnn::alive(Kind::Filter, desc)) return fail(CUDNN_STATUS_BAD_PARAM, call, "filterDesc is not alive");
  if (!valid_dtype(dataType) || format < CUDNN_TENSOR_NCHW || format > CUDNN_TENSOR_NCHW_VECT_C)
    return fail(CUDNN_STATUS_BAD_PARAM, call, "invalid dataType or format");
  if (nbDims > CUDNN_DIM_MAX) return fail(CUDNN_STATUS_NOT_SUPPORTED, call, "nbDims exceeds CUDNN_DIM_MAX (8)");
  if (nbDims < 0 || (nbDims > 0 && !filterDimA)) return fail(CUDNN_STATUS_BAD_PARAM, call, "bad nbDims or filterDimA");
  for (int i = 0; i < nbDims; ++i)
    if (filterDimA[i] < 0)
      return fail(CUDNN_STATUS_BAD_PARAM, call, "filterDimA " + join(filterDimA, nbDims) + " has a negative size");
  desc->set = true;
  desc->dtype = dataType;
  desc->format = format;
  desc->nb = nbDims;
  for (int i = 0; i < nbDims; ++i) desc->dim[i] = filterDimA[i];
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetFilterNdDescriptor(const cudnnFilterDescriptor_t desc, int nbDimsRequested,
                                         cudnnDataType_t* dataType, cudnnTensorFormat_t* format, int* nbDims,
                                         int filterDimA[]) {
  const char* call = "cudnnGetFilterNdDescriptor";
  if (const cudnnStatus_t s = cudnn::check_desc(call, desc, "filterDesc"); s != CUDNN_STATUS_SUCCESS) return s;
  if (nbDimsRequested < 0 || !dataType || !format || !nbDims || (nbDimsRequested > 0 && !filterDimA))
    return fail(CUDNN_STATUS_BAD_PARAM, call, "a NULL output or a negative nbDimsRequested");
  *dataType = desc->dtype;
  *format = desc->format;
  *nbDims = desc->nb;
  for (int i = 0; i < nbDimsRequested && i < desc->nb; ++i) filterDimA[i] = desc->dim[i];
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnDestroyFilterDescriptor(cudnnFilterDescriptor_t desc) {
  return cudnn::destroy(Kind::Filter, desc, "cudnnDestroyFilterDescriptor");
}

cudnnStatus_t cudnnCreateConvolutionDescriptor(cudnnConvolutionDescriptor_t* desc) {
  return cudnn::create(Kind::Convolution, desc, "cudnnCreateConvolutionDescriptor");
}

// cudnnSetConvolutionNdDescriptor: "CUDNN_STATUS_BAD_PARAM: convDesc is NULL; arrayLength is
// negative; mode or dataType is invalid; element of padA is negative; element of strideA is
// negative or zero; element of dilationA is negative or zero"; "CUDNN_STATUS_NOT_SUPPORTED:
// arrayLength is greater than CUDNN_DIM_MAX-2".
cudnnStatus_t cudnnSetConvolutionNdDescriptor(cudnnConvolutionDescriptor_t desc, int arrayLength, const int padA[],
                                              const int filterStrideA[], const int dilationA[],
                                              cudnnConvolutionMode_t mode, cudnnDataType_t computeType) {
  const char* call = "cudnnSetConvolutionNdDescriptor";
  if (!desc || !cudnn::alive(Kind::Convolution, desc))
    return fail(CUDNN_STATUS_BAD_PARAM, call, "convDesc is not alive");
  if (arrayLength < 0) return fail(CUDNN_STATUS_BAD_PARAM, call, "arrayLength is negative");
  if (arrayLength > CUDNN_DIM_MAX - 2)
    return fail(CUDNN_STATUS_NOT_SUPPORTED, call, "arrayLength exceeds CUDNN_DIM_MAX - 2");
  if ((mode != CUDNN_CONVOLUTION && mode != CUDNN_CROSS_CORRELATION) || !valid_dtype(computeType))
    return fail(CUDNN_STATUS_BAD_PARAM, call, "invalid mode or computeType");
  if (arrayLength > 0 && (!padA || !filterStrideA || !dilationA))
    return fail(CUDNN_STATUS_BAD_PARAM, call, "padA, filterStrideA or dilationA is NULL");
  for (int i = 0; i < arrayLength; ++i)
    if (padA[i] < 0 || filterStrideA[i] <= 0 || dilationA[i] <= 0)
      return fail(CUDNN_STATUS_BAD_PARAM, call,
                  "pads " + join(padA, arrayLength) + " must be >= 0, strides " + join(filterStrideA, arrayLength) +
                      " and dilations " + join(dilationA, arrayLength) + " > 0");
  desc->set = true;
  desc->spatial = arrayLength;
  for (int i = 0; i < arrayLength; ++i) {
    desc->pad[i] = padA[i];
    desc->stride[i] = filterStrideA[i];
    desc->dilation[i] = dilationA[i];
  }
  desc->mode = mode;
  desc->compute = computeType;
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetConvolutionNdDescriptor(const cudnnConvolutionDescriptor_t desc, int arrayLengthRequested,
                                              int* arrayLength, int padA[], int strideA[], int dilationA[],
                                              cudnnConvolutionMode_t* mode, cudnnDataType_t* computeType) {
  const char* call = "cudnnGetConvolutionNdDescriptor";
  if (const cudnnStatus_t s = cudnn::check_desc(call, desc, "convDesc"); s != CUDNN_STATUS_SUCCESS) return s;
  if (arrayLengthRequested < 0) return fail(CUDNN_STATUS_BAD_PARAM, call, "arrayLengthRequested is negative");
  if (arrayLengthRequested > CUDNN_DIM_MAX - 2)
    return fail(CUDNN_STATUS_NOT_SUPPORTED, call, "arrayLengthRequested exceeds CUDNN_DIM_MAX - 2");
  if (!arrayLength || !mode || !computeType || (arrayLengthRequested > 0 && (!padA || !strideA || !dilationA)))
    return fail(CUDNN_STATUS_BAD_PARAM, call, "a NULL output");
  *arrayLength = desc->spatial;
  for (int i = 0; i < arrayLengthRequested && i < desc->spatial; ++i) {
    padA[i] = desc->pad[i];
    strideA[i] = desc->stride[i];
    dilationA[i] = desc->dilation[i];
  }
  *mode = desc->mode;
  *computeType = desc->compute;
  return CUDNN_STATUS_SUCCESS;
}

// cudnnSetConvolutionMathType: "CUDNN_STATUS_BAD_PARAM: The math type is not one of
// cudnnMathType_t's values".
cudnnStatus_t cudnnSetConvolutionMathType(cudnnConvolutionDescriptor_t desc, cudnnMathType_t mathType) {
  const char* call = "cudnnSetConvolutionMathType";
  if (!desc || !cudnn::alive(Kind::Convolution, desc))
    return fail(CUDNN_STATUS_BAD_PARAM, call, "convDesc is not alive");
  if (mathType < CUDNN_DEFAULT_MATH || mathType > CUDNN_FMA_MATH)
    return fail(CUDNN_STATUS_BAD_PARAM, call, "invalid math type " + std::to_string(mathType));
  desc->math = mathType;
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetConvolutionMathType(cudnnConvolutionDescriptor_t desc, cudnnMathType_t* mathType) {
  const char* call = "cudnnGetConvolutionMathType";
  if (!desc || !cudnn::alive(Kind::Convolution, desc) || !mathType)
    return fail(CUDNN_STATUS_BAD_PARAM, call, "convDesc is not alive or mathType is NULL");
  *mathType = desc->math;
  return CUDNN_STATUS_SUCCESS;
}

// Group counts are stored; convolutions with more than one group are NOT_SUPPORTED here.
cudnnStatus_t cudnnSetConvolutionGroupCount(cudnnConvolutionDescriptor_t desc, int groupCount) {
  const char* call = "cudnnSetConvolutionGroupCount";
  if (!desc || !cudnn::alive(Kind::Convolution, desc) || groupCount < 1)
    return fail(CUDNN_STATUS_BAD_PARAM, call, "convDesc is not alive or groupCount < 1");
  desc->groups = groupCount;
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetConvolutionGroupCount(cudnnConvolutionDescriptor_t desc, int* groupCount) {
  const char* call = "cudnnGetConvolutionGroupCount";
  if (!desc || !cudnn::alive(Kind::Convolution, desc) || !groupCount)
    return fail(CUDNN_STATUS_BAD_PARAM, call, "convDesc is not alive or groupCount is NULL");
  *groupCount = desc->groups;
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnDestroyConvolutionDescriptor(cudnnConvolutionDescriptor_t desc) {
  return cudnn::destroy(Kind::Convolution, desc, "cudnnDestroyConvolutionDescriptor");
}

// cudnnGetConvolutionNdForwardOutputDim: "CUDNN_STATUS_BAD_PARAM: One of the parameters
// convDesc, inputTensorDesc, and filterDesc is NULL; the dimension of the filter descriptor
// differs from the dimension of the input tensor descriptor; the dimension of the
// convolution descriptor is different from the dimension of the input tensor descriptor
// minus 2; the feature map of the filter descriptor is different from the one of the input
// tensor descriptor; the size of the dilated filter filterDimA is larger than the padded
// sizes of the input tensor; the dimension nbDims of the output array is negative or
// greater than the dimension of the input tensor descriptor". Each output dim is
// 1 + (in + 2 pad - ((k - 1) dilation + 1)) / stride.
cudnnStatus_t cudnnGetConvolutionNdForwardOutputDim(const cudnnConvolutionDescriptor_t convDesc,
                                                    const cudnnTensorDescriptor_t inputTensorDesc,
                                                    const cudnnFilterDescriptor_t filterDesc, int nbDims,
                                                    int tensorOuputDimA[]) {
  const std::string call = "cudnnGetConvolutionNdForwardOutputDim";
  if (cudnnStatus_t s = cudnn::check_desc(call, convDesc, "convDesc"); s != CUDNN_STATUS_SUCCESS) return s;
  if (cudnnStatus_t s = cudnn::check_desc(call, inputTensorDesc, "inputTensorDesc"); s != CUDNN_STATUS_SUCCESS)
    return s;
  if (cudnnStatus_t s = cudnn::check_desc(call, filterDesc, "filterDesc"); s != CUDNN_STATUS_SUCCESS) return s;
  const cudnnTensorStruct& x = *inputTensorDesc;
  const cudnnFilterStruct& w = *filterDesc;
  if (w.nb != x.nb) return fail(CUDNN_STATUS_BAD_PARAM, call, "filter and input differ in nbDims");
  if (convDesc->spatial != x.nb - 2)
    return fail(CUDNN_STATUS_BAD_PARAM, call, "convDesc arrayLength != input nbDims - 2");
  if (w.dim[1] * convDesc->groups != x.dim[1])
    return fail(
        CUDNN_STATUS_BAD_PARAM, call,
        "filter input channels " + std::to_string(w.dim[1]) + " do not match the input's " + std::to_string(x.dim[1]));
  if (nbDims < 0 || nbDims > x.nb || (nbDims > 0 && !tensorOuputDimA))
    return fail(CUDNN_STATUS_BAD_PARAM, call, "nbDims is negative or larger than the input's, or the output is NULL");
  int out[CUDNN_DIM_MAX] = {x.dim[0], w.dim[0]};
  for (int i = 0; i < convDesc->spatial; ++i) {
    const int64_t dilated = static_cast<int64_t>(w.dim[2 + i] - 1) * convDesc->dilation[i] + 1;
    const int64_t padded = static_cast<int64_t>(x.dim[2 + i]) + 2 * convDesc->pad[i];
    if (dilated > padded)
      return fail(CUDNN_STATUS_BAD_PARAM, call,
                  "the dilated filter (" + std::to_string(dilated) + ") is larger than the padded input (" +
                      std::to_string(padded) + ") in spatial dim " + std::to_string(i));
    out[2 + i] = static_cast<int>(1 + (padded - dilated) / convDesc->stride[i]);
  }
  for (int i = 0; i < nbDims; ++i) tensorOuputDimA[i] = out[i];
  return CUDNN_STATUS_SUCCESS;
}
