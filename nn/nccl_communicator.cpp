// The NCCL communicator: collectives on GPU memory between the ranks of an MPI world, one
// GPU per rank (local rank modulo the devices on the node). NCCL's unique id is created on
// rank 0 and broadcast over MPI. Every buffer passed in is a device pointer; calls are
// enqueued on the rank's stream and waited for, so a call returns with the result in place.
// Compiled twice (nn/nccl_communicator.h): real CUDA + NCCL, and the emulated ones.
#include "nn/nccl_communicator.h"

#include <cstdlib>
#include <memory>
#include <string>

#include "autograd/error.h"
#include "nn/communicator.h"
// Last: the emulated runtime's keyword macros must not meet standard headers included after.
#include "kernels/cuda/nccl_api.h"
#include "kernels/cuda/runtime.h"

namespace pn::nn {

namespace {

void check_cuda(cudaError_t rc, const char* call) {
  PN_CHECK(rc == cudaSuccess, "{} failed: {} ({})", call, cudaGetErrorString(rc), cudaGetErrorName(rc));
}

// NCCL's explanation (ncclGetLastError) follows its status: the reason a check refused a call.
void check_nccl(ncclResult_t rc, const char* call, int64_t n, ncclComm_t comm = nullptr) {
  PN_CHECK(rc == ncclSuccess, "{} ({} elements) failed: {}: {}", call, n, ncclGetErrorString(rc),
           ncclGetLastError(comm));
}

class NcclCommunicator final : public Communicator {
 public:
  explicit NcclCommunicator(std::shared_ptr<Communicator> host) : host_(std::move(host)) {
    int devices = 0;
    check_cuda(cudaGetDeviceCount(&devices), "cudaGetDeviceCount");
    PN_CHECK(devices > 0, "NCCL communicator: rank {} sees no CUDA device", host_->rank());
    device_ = host_->local_rank() % devices;
    check_cuda(cudaSetDevice(device_), "cudaSetDevice");
    check_cuda(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
    ncclUniqueId id;
    if (host_->is_root()) check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId", 0);
    host_->broadcast(&id, sizeof id, 0);
    check_nccl(ncclCommInitRank(&comm_, host_->size(), id, host_->rank()), "ncclCommInitRank", 0);
  }
  ~NcclCommunicator() override {
    if (comm_) ncclCommDestroy(comm_);
    if (stream_) cudaStreamDestroy(stream_);
  }
  int rank() const override { return host_->rank(); }
  int size() const override { return host_->size(); }
  int local_rank() const override { return host_->local_rank(); }
  std::string backend() const override { return "nccl"; }
  void allreduce_sum(float* d, int64_t n) override { allreduce(d, n, ncclFloat32, ncclSum); }
  void allreduce_sum(double* d, int64_t n) override { allreduce(d, n, ncclFloat64, ncclSum); }
  void allreduce_max(double* d, int64_t n) override { allreduce(d, n, ncclFloat64, ncclMax); }
  void broadcast(void* d, int64_t bytes, int root) override {
    check_nccl(ncclBroadcast(d, d, static_cast<size_t>(bytes), ncclChar, root, comm_, stream_), "ncclBroadcast", bytes,
               comm_);
    wait("ncclBroadcast");
  }
  void barrier() override {
    wait("barrier");
    host_->barrier();
  }
  [[noreturn]] void abort(const std::string& why, int code) override {
    if (comm_) ncclCommAbort(comm_);
    comm_ = nullptr;
    host_->abort(why, code);
    std::abort();  // not reached: the host's abort ends the process
  }

 private:
  void allreduce(void* d, int64_t n, ncclDataType_t type, ncclRedOp_t op) {
    check_nccl(ncclAllReduce(d, d, static_cast<size_t>(n), type, op, comm_, stream_), "ncclAllReduce", n, comm_);
    wait("ncclAllReduce");
  }
  void wait(const char* what) {
    cudaError_t rc = cudaStreamSynchronize(stream_);
    PN_CHECK(rc == cudaSuccess, "{}: stream synchronisation failed on device {}: {}", what, device_,
             cudaGetErrorString(rc));
  }
  std::shared_ptr<Communicator> host_;
  int device_ = 0;
  cudaStream_t stream_ = nullptr;
  ncclComm_t comm_ = nullptr;
};

std::shared_ptr<Communicator> make_nccl_communicator(std::shared_ptr<Communicator> host) {
  return std::make_shared<NcclCommunicator>(std::move(host));
}

}  // namespace

void install_nccl_communicator() { set_gpu_communicator_factory(&make_nccl_communicator); }

}  // namespace pn::nn
