// The emulated NCCL across processes: 2 ranks under mpirun, each one emulated rank on its own
// emulated device (local rank -> device, PN_CUDA_EMU_DEVICES=2), NCCL's unique id sent over
// MPI. Checked against MPI's results on the host:
//  - the raw API: all-reduce (sum of floats past two slots, max of doubles) and broadcast;
//  - nn's NCCL communicator (gpu_communicator over the MPI world, the same
//    nn/nccl_communicator.cpp as on GPUs, linked as penumbra_nn_nccl_emu) end to end;
//  - the planted bug of issue 13 through the communicator: allreduce_sum on a host vector
//    fails on every rank with an error naming host memory (and nobody hangs).
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "autograd/error.h"
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

TEST_CASE("nn's NCCL communicator on emulated devices: gpu_communicator over the MPI world") {
  pn::nn::install_nccl_communicator();
  auto host = host_world();
  auto gpu = pn::nn::gpu_communicator(host);
  CHECK(gpu->backend() == "nccl");
  CHECK(gpu->rank() == host->rank());
  const int device = host->local_rank() % emulated_devices();  // the communicator's choice
  const size_t n = (size_t{1} << 20) / sizeof(double) + 9;
  std::vector<double> mine = rank_input<double>(n, host->rank(), 1);
  std::vector<double> want = mine;
  host->allreduce_sum(want.data(), static_cast<int64_t>(n));
  REQUIRE(cudaSetDevice(device) == cudaSuccess);
  DeviceBuffer<double> buf(device, mine);
  gpu->allreduce_sum(buf.get(), static_cast<int64_t>(n));
  CHECK(count_differences(buf.download(), want) == 0);

  std::vector<float> f = rank_input<float>(333, host->rank(), 2), fsum = f;
  host->allreduce_sum(fsum.data(), static_cast<int64_t>(f.size()));
  DeviceBuffer<float> fb(device, f);
  gpu->allreduce_sum(fb.get(), static_cast<int64_t>(f.size()));
  CHECK(count_differences(fb.download(), fsum) == 0);

  std::vector<char> bytes(77, static_cast<char>('a' + host->rank()));
  DeviceBuffer<char> bb(device, bytes);
  gpu->broadcast(bb.get(), static_cast<int64_t>(bytes.size()), 1);
  CHECK(bb.download() == std::vector<char>(77, 'b'));
  gpu->barrier();
}

TEST_CASE("planted bug (issue 13) through the communicator: allreduce_sum of a host vector is refused") {
  pn::nn::install_nccl_communicator();
  auto host = host_world();
  auto gpu = pn::nn::gpu_communicator(host);
  std::vector<double> on_host(4, 1.0);  // what check_same_on_all_ranks and DataParallel::average pass today
  std::string why;
  try {
    gpu->allreduce_sum(on_host.data(), 4);
  } catch (const pn::Error& e) {
    why = e.what();
  }
  INFO(why);
  CHECK(contains(why, "ncclAllReduce (4 elements) failed: invalid argument"));
  CHECK(contains(why, "sendbuff"));
  CHECK(contains(why, "is host memory"));
  CHECK(on_host == std::vector<double>(4, 1.0));
  host->barrier();  // both ranks got here: the refusal happened before any rendezvous
}
