// What the CUDA build was compiled against and what it finds at run time: toolkit, driver,
// cuDNN, cuBLAS and NCCL versions (compile-time headers and the loaded libraries), the
// target architectures, and the devices visible now. Only in the real CUDA build
// (penumbra_cuda, which defines PN_HAVE_CUDA); `penumbra info` prints it.
#pragma once
#include <string>
#include <vector>

namespace pn::cuda {

struct DeviceReport {
  int index = 0;
  std::string name;
  int cc_major = 0, cc_minor = 0;
  size_t total_bytes = 0, free_bytes = 0;
  int multiprocessors = 0;
};

struct BuildReport {
  std::string architectures;           // PENUMBRA_CUDA_ARCHITECTURES, e.g. "80,90"
  int runtime_header = 0;              // CUDART_VERSION, e.g. 13000
  int runtime_loaded = 0;              // cudaRuntimeGetVersion
  int driver = 0;                      // cudaDriverGetVersion (0: no driver installed)
  int cudnn_header = 0, cudnn_loaded = 0;
  int cublas_header = 0, cublas_loaded = 0;
  int nccl_header = 0, nccl_loaded = 0;  // 0: built without NCCL
  std::vector<DeviceReport> devices;
  std::string device_error;  // why no device could be listed ("" when the query worked)
};

// Never throws for a missing GPU or driver: that is reported in device_error.
BuildReport build_report();

// "13.0" from 13000 (CUDA style: major*1000 + minor*10), "9.10.2" from cuDNN's 91002, etc.
std::string cuda_version_str(int v);

}  // namespace pn::cuda
