// The NCCL device communicator (nn/communicator.h's DeviceCommunicator): collectives on
// device tensors between the ranks of an MPI world, one device per rank. NCCL's unique id
// is created on rank 0 and broadcast over the host communicator. Every collective is queued
// on the device's one stream (kernels/cuda/device_guard.h's device_stream), the stream that
// carries the compute producing and consuming the tensors: the collective is ordered after
// the ops that wrote its input and before those that read its result, with no event and no
// host wait. Compiled twice (nn/nccl_communicator.h): real CUDA + NCCL, and the emulated ones.
#include "nn/nccl_communicator.h"

#include <cstdlib>
#include <memory>
#include <string>

#include "autograd/error.h"
#include "nn/communicator.h"
// Last: the emulated runtime's keyword macros must not meet standard headers included after.
#include "kernels/cuda/device_guard.h"
#include "kernels/cuda/nccl_api.h"
#include "kernels/cuda/runtime.h"

namespace pn::nn {

namespace {

// NCCL's explanation (ncclGetLastError) follows its status: the reason a check refused a call.
void check_nccl(ncclResult_t rc, const char* call, const std::string& what, ncclComm_t comm = nullptr) {
  PN_CHECK(rc == ncclSuccess, "{} ({}) failed: {}: {}", call, what, ncclGetErrorString(rc), ncclGetLastError(comm));
}

class NcclCommunicator final : public DeviceCommunicator {
 public:
  NcclCommunicator(std::shared_ptr<Communicator> host, Device device) : host_(std::move(host)), device_(device) {
    PN_CHECK(device.is_cuda(), "NCCL communicator: {} is not a CUDA device", device.str());
    cuda::DeviceGuard guard(device.index);
    stream_ = cuda::device_stream(device.index);
    ncclUniqueId id;
    if (host_->is_root()) check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId", "rank 0");
    host_->broadcast(&id, sizeof id, 0);
    check_nccl(ncclCommInitRank(&comm_, host_->size(), id, host_->rank()), "ncclCommInitRank",
               "rank " + std::to_string(host_->rank()) + " of " + std::to_string(host_->size()) + " on " + device.str());
  }
  ~NcclCommunicator() override {
    if (comm_) (void)ncclCommDestroy(comm_);
  }
  int rank() const override { return host_->rank(); }
  int size() const override { return host_->size(); }
  Device device() const override { return device_; }
  std::string backend() const override { return "nccl"; }

  void allreduce_sum(const Tensor& t) override {
    const ncclDataType_t type = checked_type(t, "allreduce_sum");
    cuda::DeviceGuard guard(device_.index);
    Tensor x = t;
    check_nccl(ncclAllReduce(x.raw(), x.raw(), static_cast<size_t>(x.numel()), type, ncclSum, comm_, stream_),
               "ncclAllReduce", x.desc(), comm_);
  }

  void broadcast(const Tensor& t, int root) override {
    const ncclDataType_t type = checked_type(t, "broadcast");
    PN_CHECK(root >= 0 && root < size(), "broadcast: root {} is not a rank of {}", root, size());
    cuda::DeviceGuard guard(device_.index);
    Tensor x = t;
    check_nccl(ncclBroadcast(x.raw(), x.raw(), static_cast<size_t>(x.numel()), type, root, comm_, stream_),
               "ncclBroadcast", x.desc(), comm_);
  }

  [[noreturn]] void abort(const std::string& why, int code) override {
    if (comm_) (void)ncclCommAbort(comm_);
    comm_ = nullptr;
    host_->abort(why, code);
    std::abort();  // not reached: the host's abort ends the process
  }

 private:
  // The NCCL type of a tensor this communicator may take; a clear error for anything else
  // (a host tensor: counts and scalars belong to the host communicator).
  ncclDataType_t checked_type(const Tensor& t, const char* op) const {
    PN_CHECK(t.defined(), "NCCL {}: undefined tensor", op);
    PN_CHECK(t.device() == device_,
             "NCCL {}: {} is on {}, but this communicator reduces tensors on {} (host values go through the "
             "host communicator, Collectives::host)", op, t.desc(), t.device().str(), device_.str());
    return t.dtype() == DType::Float32 ? ncclFloat32 : ncclFloat64;
  }

  std::shared_ptr<Communicator> host_;
  Device device_;
  cudaStream_t stream_ = nullptr;
  ncclComm_t comm_ = nullptr;
};

}  // namespace

void install_nccl_communicator() {
  register_device_communicator([](std::shared_ptr<Communicator> host, Device device) -> std::shared_ptr<DeviceCommunicator> {
    return std::make_shared<NcclCommunicator>(std::move(host), device);
  });
}

}  // namespace pn::nn
