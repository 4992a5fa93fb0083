// The collectives data-parallel training needs, in two kinds that cannot be mixed up:
//  - Communicator: host memory (sum all-reduce, broadcast, barrier, abort), over MPI between
//    processes started by `mpirun`/`srun`, or a single-process stand-in. Counts, scalars,
//    fingerprints and CPU tensors go through it.
//  - DeviceCommunicator: device tensors (NCCL on GPUs, one device per rank), queued on the
//    tensor's device stream after the work that produced it, so the result is in stream
//    order with the compute on both sides and no host synchronisation is needed. A host
//    tensor given to it is refused with a clear error.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "autograd/tensor.h"

namespace pn::nn {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Rank among the processes on this node (picks the GPU of a rank).
  virtual int local_rank() const = 0;
  virtual std::string backend() const = 0;  // "local", "mpi"
  // In place: data <- sum over ranks of data.
  virtual void allreduce_sum(float* data, int64_t n) = 0;
  virtual void allreduce_sum(double* data, int64_t n) = 0;
  virtual void allreduce_max(double* data, int64_t n) = 0;
  virtual void broadcast(void* data, int64_t bytes, int root) = 0;
  virtual void barrier() = 0;
  // Stops every rank (a rank that fails must not leave the others waiting in a collective).
  [[noreturn]] virtual void abort(const std::string& why, int code = 1) = 0;
  bool is_root() const { return rank() == 0; }
};

// One process, no peers: collectives are identities.
std::shared_ptr<Communicator> local_communicator();

// The world this process was launched into: MPI when started by mpirun/srun (an Open MPI,
// PMI or PMIx environment is present) and the build has MPI; else the local communicator.
// MPI is initialised on first use and finalised at exit. PENUMBRA_NO_MPI=1 forces local.
std::shared_ptr<Communicator> world_communicator();

class DeviceCommunicator {
 public:
  virtual ~DeviceCommunicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual Device device() const = 0;        // this rank's device
  virtual std::string backend() const = 0;  // "nccl"
  // requires: t is float32 or float64, on device().
  // ensures: t holds the sum over ranks of t, in stream order on device()'s stream.
  virtual void allreduce_sum(const Tensor& t) = 0;
  // requires: as allreduce_sum; 0 <= root < size(). ensures: t holds root's t.
  virtual void broadcast(const Tensor& t, int root) = 0;
  // Stops every rank (the device side first, so nobody waits in a collective).
  [[noreturn]] virtual void abort(const std::string& why, int code = 1) = 0;
};

// The communicators of one rank: the host one always, the device one when the rank's model
// lives on a GPU and there are several ranks. Tensor collectives go to the communicator of
// the tensor's device, so training code is written once for CPUs and GPUs.
struct Collectives {
  Collectives(std::shared_ptr<Communicator> h, std::shared_ptr<DeviceCommunicator> d = nullptr)  // NOLINT: implicit
      : host(std::move(h)), device(std::move(d)) {}
  std::shared_ptr<Communicator> host;
  std::shared_ptr<DeviceCommunicator> device;
  int rank() const { return host->rank(); }
  int size() const { return host->size(); }
  // requires: t float32/float64; on the host, or on the device communicator's
  // device (a CUDA tensor without a device communicator is an error naming the fix).
  // ensures: t holds the sum over ranks (GPU: in stream order).
  void allreduce_sum(const Tensor& t) const;
  // ensures: t holds root's t.
  void broadcast(const Tensor& t, int root) const;
};

// How a program that links a GPU backend makes device communicators (NCCL between the
// ranks of `host`, which carries NCCL's bootstrap id): the NCCL communicator's library
// registers itself, penumbra_nn_nccl (real NCCL) or penumbra_nn_nccl_emu (the emulated NCCL
// of kernels/cuda/emu), through pn::nn::install_nccl_communicator() (nn/nccl_communicator.h).
using DeviceCommunicatorFactory =
    std::function<std::shared_ptr<DeviceCommunicator>(std::shared_ptr<Communicator> host, Device device)>;
void register_device_communicator(DeviceCommunicatorFactory make);
// The device communicator of this rank on `device` (a CUDA device). Throws when the program
// has no GPU collectives (built without CUDA or NCCL).
std::shared_ptr<DeviceCommunicator> device_communicator(std::shared_ptr<Communicator> host, Device device);

// True when the environment says a launcher started several ranks (before any MPI call).
bool launched_by_mpi();

// After a fatal error: on a multi-rank run, aborts every rank with the message (none may
// be left waiting in a collective: Open MPI's mpirun then ends the job); else does nothing.
void abort_ranks_on_fatal_error(const std::string& message);

// Throws (on every rank) when `value` differs between ranks, naming `what` and the ranks
// whose value differs from rank 0's: catches a config that differs across ranks at start.
void check_same_on_all_ranks(Communicator& comm, const std::string& what, const std::string& value);

}  // namespace pn::nn
