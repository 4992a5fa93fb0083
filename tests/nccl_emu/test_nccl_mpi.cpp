// The emulated NCCL across processes: 2 ranks under mpirun, each one emulated rank on its own
// emulated device (local rank -> device, PN_CUDA_EMU_DEVICES=2), NCCL's unique id sent over
// MPI. Checked against MPI's results on the host:
//  - the raw API: all-reduce (sum of floats past two slots, max of doubles) and broadcast;
//  - nn's NCCL device communicator (device_communicator over the MPI world, the same
//    nn/nccl_communicator.cpp as on GPUs, linked as penumbra_nn_nccl_emu) on device tensors,
//    and Collectives routing host tensors to MPI and device tensors to NCCL;
//  - the planted bug of issue 13 through the communicator: a host tensor given to NCCL
//    fails on every rank with an error naming the host communicator (and nobody hangs).
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "autograd/cuda/cuda_backend.h"
#include "autograd/error.h"
#include "autograd/tensor.h"
#include "nn/communicator.h"
#include "nn/nccl_communicator.h"
#include "nccl_test_util.h"

using namespace pn::test;

namespace {

std::shared_ptr<pn::nn::Communicator> host_world() {
  auto host = pn::nn::world_communicator();
  REQUIRE(host->size() == 2);
  return host;
}

}  // namespace

TEST_CASE("raw NCCL API between 2 processes: unique id over MPI, all-reduce and broadcast equal MPI's") {
  auto host = host_world();
  REQUIRE(emulated_devices() == 2);
  const int device = host->local_rank() % emulated_devices();
  REQUIRE(cudaSetDevice(device) == cudaSuccess);
  ncclUniqueId id;
  if (host->is_root()) REQUIRE(ncclGetUniqueId(&id) == ncclSuccess);
  host->broadcast(&id, sizeof id, 0);
  ncclComm_t comm = nullptr;
  REQUIRE(ncclCommInitRank(&comm, host->size(), id, host->rank()) == ncclSuccess);
  int nccl_device = -1;
  CHECK(ncclCommCuDevice(comm, &nccl_device) == ncclSuccess);
  CHECK(nccl_device == device);

  const size_t n = (size_t{2} << 20) / sizeof(float) + 3;
  std::vector<float> mine = rank_input<float>(n, host->rank());
  std::vector<float> want = mine;
  host->allreduce_sum(want.data(), static_cast<int64_t>(n));
  DeviceBuffer<float> buf(device, mine);
  REQUIRE(ncclAllReduce(buf.get(), buf.get(), n, ncclFloat32, ncclSum, comm, nullptr) == ncclSuccess);
  CHECK(count_differences(buf.download(), want) == 0);

  std::vector<double> d = rank_input<double>(1001, host->rank());
  std::vector<double> dmax = d;
  host->allreduce_max(dmax.data(), static_cast<int64_t>(dmax.size()));
  DeviceBuffer<double> send(device, d), recv(device, d.size());
  REQUIRE(ncclAllReduce(send.get(), recv.get(), d.size(), ncclFloat64, ncclMax, comm, nullptr) == ncclSuccess);
  CHECK(count_differences(recv.download(), dmax) == 0);

  std::vector<int64_t> token(5, host->rank() == 1 ? 4242 : -1);
  DeviceBuffer<int64_t> t(device, token);
  REQUIRE(ncclBroadcast(t.get(), t.get(), token.size(), ncclInt64, 1, comm, nullptr) == ncclSuccess);
  CHECK(t.download() == std::vector<int64_t>(5, 4242));
  CHECK(ncclCommDestroy(comm) == ncclSuccess);
}

// This rank's device (local rank -> device, as select_device does) with the CUDA backend on it.
static pn::Device rank_device(const pn::nn::Communicator& host) {
  REQUIRE(pn::cuda::install_cuda_backend());
  pn::nn::install_nccl_communicator();
  const int device = host.local_rank() % emulated_devices();
  REQUIRE(cudaSetDevice(device) == cudaSuccess);
  return pn::Device::cuda(device);
}

TEST_CASE("nn's NCCL device communicator on emulated devices: device tensors over the MPI world") {
  auto host = host_world();
  const pn::Device device = rank_device(*host);
  auto nccl = pn::nn::device_communicator(host, device);
  CHECK(nccl->backend() == "nccl");
  CHECK(nccl->rank() == host->rank());
  CHECK(nccl->device() == device);
  const size_t n = (size_t{1} << 20) / sizeof(double) + 9;
  std::vector<double> mine = rank_input<double>(n, host->rank(), 1);
  std::vector<double> want = mine;
  host->allreduce_sum(want.data(), static_cast<int64_t>(n));
  pn::Tensor t = pn::Tensor::from_vector(mine, {static_cast<int64_t>(n)}, pn::DType::Float64).to(device);
  nccl->allreduce_sum(t);  // queued on the device's stream; to_vector waits for it
  CHECK(count_differences(t.to_vector(), want) == 0);

  std::vector<float> f = rank_input<float>(333, host->rank(), 2), fsum = f;
  host->allreduce_sum(fsum.data(), static_cast<int64_t>(f.size()));
  pn::Tensor ft = pn::Tensor::from_vector(f, {333}).to(device);
  nccl->allreduce_sum(ft);
  const auto got = ft.to_vector();
  CHECK(count_differences(std::vector<float>(got.begin(), got.end()), fsum) == 0);

  pn::Tensor b = pn::Tensor::full({77}, 1.0 + host->rank(), pn::DType::Float32, device);
  nccl->broadcast(b, 1);
  CHECK(b.to_vector() == std::vector<double>(77, 2.0));
  // Through Collectives, as DataParallel and sync batch norm use it: device tensors to NCCL,
  // host tensors to MPI.
  const pn::nn::Collectives both{host, nccl};
  pn::Tensor on_host = pn::Tensor::full({3}, 1.0 + host->rank());
  pn::Tensor on_device = on_host.to(device);
  both.allreduce_sum(on_host);
  both.allreduce_sum(on_device);
  CHECK(on_host.to_vector() == std::vector<double>(3, 3.0));
  CHECK(on_device.to_vector() == std::vector<double>(3, 3.0));
}

TEST_CASE("planted bug (issue 13) through the communicator: a host tensor given to NCCL is refused") {
  auto host = host_world();
  const pn::Device device = rank_device(*host);
  auto nccl = pn::nn::device_communicator(host, device);
  pn::Tensor on_host = pn::Tensor::ones({4}, pn::DType::Float64);  // what used to reach NCCL as a host pointer
  std::string why;
  try {
    nccl->allreduce_sum(on_host);
  } catch (const pn::Error& e) {
    why = e.what();
  }
  INFO(why);
  CHECK(contains(why, "float64[4] cpu is on cpu, but this communicator reduces tensors on " + device.str()));
  CHECK(contains(why, "host communicator"));
  CHECK(on_host.to_vector() == std::vector<double>(4, 1.0));
  // A CUDA tensor without a device communicator is refused by Collectives, naming the fix.
  const pn::nn::Collectives host_only{host};
  why.clear();
  try {
    host_only.allreduce_sum(pn::Tensor::ones({2}, pn::DType::Float32, device));
  } catch (const pn::Error& e) {
    why = e.what();
  }
  CHECK(contains(why, "no device communicator"));
  host->barrier();  // both ranks got here: the refusals happened before any rendezvous
}
