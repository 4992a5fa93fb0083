// The emulated NCCL between emulated devices of one process (PN_CUDA_EMU_DEVICES=2): every
// collective we use, as the three ways a process can drive its ranks (ncclCommInitAll + one
// thread with group calls, ncclGroupStart + ncclCommInitRank per device, one host thread per
// device), each result compared bit for bit with the host computation of NCCL's definition
// (ranks in order). Sizes are odd and larger than one rendezvous slot (1 MiB), so chunking,
// partial chunks and odd tails are all exercised, and in-place calls are covered.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "nccl_test_util.h"

using namespace pn::test;

namespace {

constexpr int kRanks = 2;
constexpr size_t kFloatsPastTwoSlots = (size_t{2} << 20) / sizeof(float) + 13;  // 2 MiB + 13 floats
constexpr size_t kDoublesPastOneSlot = (size_t{1} << 20) / sizeof(double) + 7;

// Communicators for ranks 0..kRanks-1 on devices 0..kRanks-1 (ncclCommInitAll).
struct Clique {
  ncclComm_t comms[kRanks] = {};
  Clique() { REQUIRE(ncclCommInitAll(comms, kRanks, nullptr) == ncclSuccess); }
  ~Clique() {
    for (ncclComm_t c : comms) CHECK(ncclCommDestroy(c) == ncclSuccess);
  }
};

template <class T>
ncclDataType_t nccl_type() {
  if constexpr (std::is_same_v<T, float>) return ncclFloat32;
  if constexpr (std::is_same_v<T, double>) return ncclFloat64;
  if constexpr (std::is_same_v<T, int32_t>) return ncclInt32;
  if constexpr (std::is_same_v<T, int64_t>) return ncclInt64;
  if constexpr (std::is_same_v<T, int8_t>) return ncclInt8;
  return ncclUint8;
}

// All-reduce of each rank's input from one thread (a group over both communicators); every
// rank's result must equal the host reduction exactly. in_place: send == recv.
template <class T>
void check_allreduce(Clique& q, size_t n, ncclRedOp_t op, bool in_place) {
  std::vector<std::vector<T>> in;
  std::vector<std::unique_ptr<DeviceBuffer<T>>> send, recv;
  for (int r = 0; r < kRanks; ++r) {
    in.push_back(rank_input<T>(n, r));
    send.push_back(std::make_unique<DeviceBuffer<T>>(r, in.back()));
    recv.push_back(in_place ? nullptr : std::make_unique<DeviceBuffer<T>>(r, n));
  }
  REQUIRE(ncclGroupStart() == ncclSuccess);
  for (int r = 0; r < kRanks; ++r) {
    T* out = in_place ? send[r]->get() : recv[r]->get();
    REQUIRE(ncclAllReduce(send[r]->get(), out, n, nccl_type<T>(), op, q.comms[r], nullptr) == ncclSuccess);
  }
  REQUIRE(ncclGroupEnd() == ncclSuccess);
  const std::vector<T> want = host_reduce(in, op);
  for (int r = 0; r < kRanks; ++r) {
    INFO("rank " << r << ", op " << op << ", " << n << " elements, in place " << in_place);
    CHECK(count_differences((in_place ? send[r] : recv[r])->download(), want) == 0);
  }
}

}  // namespace

TEST_CASE("ncclCommInitAll over 2 emulated devices: ranks, devices and counts" * PN_NEEDS_TWO_DEVICES) {
  Clique q;
  for (int r = 0; r < kRanks; ++r) {
    int count = 0, device = -1, rank = -1;
    CHECK(ncclCommCount(q.comms[r], &count) == ncclSuccess);
    CHECK(ncclCommCuDevice(q.comms[r], &device) == ncclSuccess);
    CHECK(ncclCommUserRank(q.comms[r], &rank) == ncclSuccess);
    CHECK(count == kRanks);
    CHECK(device == r);
    CHECK(rank == r);
  }
  const int devlist[kRanks] = {1, 0};  // user order: rank 0 on device 1
  ncclComm_t swapped[kRanks] = {};
  REQUIRE(ncclCommInitAll(swapped, kRanks, devlist) == ncclSuccess);
  int device = -1;
  CHECK(ncclCommCuDevice(swapped[0], &device) == ncclSuccess);
  CHECK(device == 1);
  for (ncclComm_t c : swapped) CHECK(ncclCommDestroy(c) == ncclSuccess);
}

TEST_CASE("all-reduce sum, max and avg of float and double past one slot equal the host exactly" *
          PN_NEEDS_TWO_DEVICES) {
  Clique q;
  for (ncclRedOp_t op : {ncclSum, ncclMax, ncclAvg}) {
    check_allreduce<float>(q, kFloatsPastTwoSlots, op, false);
    check_allreduce<double>(q, kDoublesPastOneSlot, op, true);
  }
  check_allreduce<float>(q, 1, ncclMin, false);
  check_allreduce<double>(q, 3, ncclProd, false);
}

TEST_CASE("three ranks: sums run in rank order and avg premultiplies each input by 1/3" *
          doctest::skip(emulated_devices() < 3)) {
  // With two ranks a + b = b + a and a/2 + b/2 = (a + b)/2 exactly; three tell the orders apart.
  constexpr int ranks = 3;
  ncclComm_t comms[ranks] = {};
  REQUIRE(ncclCommInitAll(comms, ranks, nullptr) == ncclSuccess);
  const size_t n = 100003;
  for (ncclRedOp_t op : {ncclSum, ncclAvg}) {
    std::vector<std::vector<float>> in;
    std::vector<std::unique_ptr<DeviceBuffer<float>>> bufs;
    for (int r = 0; r < ranks; ++r) {
      in.push_back(rank_input<float>(n, r, 13));
      bufs.push_back(std::make_unique<DeviceBuffer<float>>(r, in.back()));
    }
    REQUIRE(ncclGroupStart() == ncclSuccess);
    for (int r = 0; r < ranks; ++r)
      REQUIRE(ncclAllReduce(bufs[r]->get(), bufs[r]->get(), n, ncclFloat32, op, comms[r], nullptr) == ncclSuccess);
    REQUIRE(ncclGroupEnd() == ncclSuccess);
    const std::vector<float> want = host_reduce(in, op);
    std::vector<std::vector<float>> reversed(in.rbegin(), in.rend());
    CHECK(count_differences(want, host_reduce(reversed, op)) > 0);  // the order is visible at this size
    for (int r = 0; r < ranks; ++r) CHECK(count_differences(bufs[r]->download(), want) == 0);
  }
  for (ncclComm_t c : comms) CHECK(ncclCommDestroy(c) == ncclSuccess);
}

TEST_CASE("all-reduce of integer types wraps and averages as NCCL does" * PN_NEEDS_TWO_DEVICES) {
  Clique q;
  check_allreduce<int32_t>(q, 1001, ncclSum, false);
  check_allreduce<int64_t>(q, 999, ncclMin, true);
  check_allreduce<int8_t>(q, 257, ncclSum, false);  // +-100 + +-100 overflows int8: wraps
  check_allreduce<int8_t>(q, 257, ncclAvg, false);
  check_allreduce<uint8_t>(q, 255, ncclProd, false);
}

TEST_CASE("count 0 does nothing, even with null buffers" * PN_NEEDS_TWO_DEVICES) {
  Clique q;
  REQUIRE(ncclGroupStart() == ncclSuccess);
  for (int r = 0; r < kRanks; ++r)
    CHECK(ncclAllReduce(nullptr, nullptr, 0, ncclFloat32, ncclSum, q.comms[r], nullptr) == ncclSuccess);
  CHECK(ncclGroupEnd() == ncclSuccess);
}

TEST_CASE("broadcast from rank 1, in place on the root, past one slot" * PN_NEEDS_TWO_DEVICES) {
  Clique q;
  const size_t n = (size_t{1} << 20) + 4099;  // bytes (ncclChar)
  const std::vector<char> root_data = rank_input<char>(n, 1);
  DeviceBuffer<char> on_root(1, root_data), on_other(0, rank_input<char>(n, 0));
  REQUIRE(ncclGroupStart() == ncclSuccess);
  REQUIRE(ncclBroadcast(nullptr, on_other.get(), n, ncclChar, 1, q.comms[0], nullptr) == ncclSuccess);  // not the root: sendbuff unused
  REQUIRE(ncclBroadcast(on_root.get(), on_root.get(), n, ncclChar, 1, q.comms[1], nullptr) == ncclSuccess);
  REQUIRE(ncclGroupEnd() == ncclSuccess);
  CHECK(count_differences(on_other.download(), root_data) == 0);
  CHECK(count_differences(on_root.download(), root_data) == 0);
}

TEST_CASE("all-gather puts rank r's block at r * count, past one slot" * PN_NEEDS_TWO_DEVICES) {
  Clique q;
  const size_t n = (size_t{1} << 20) / sizeof(float) + 5;
  std::vector<float> want;
  std::vector<std::unique_ptr<DeviceBuffer<float>>> send, recv;
  for (int r = 0; r < kRanks; ++r) {
    const std::vector<float> mine = rank_input<float>(n, r, 7);
    want.insert(want.end(), mine.begin(), mine.end());
    send.push_back(std::make_unique<DeviceBuffer<float>>(r, mine));
    recv.push_back(std::make_unique<DeviceBuffer<float>>(r, n * kRanks));
  }
  REQUIRE(ncclGroupStart() == ncclSuccess);
  for (int r = 0; r < kRanks; ++r)
    REQUIRE(ncclAllGather(send[r]->get(), recv[r]->get(), n, ncclFloat32, q.comms[r], nullptr) == ncclSuccess);
  REQUIRE(ncclGroupEnd() == ncclSuccess);
  for (int r = 0; r < kRanks; ++r) CHECK(count_differences(recv[r]->download(), want) == 0);
}

TEST_CASE("reduce-scatter gives rank r the reduction of block r, past one slot" * PN_NEEDS_TWO_DEVICES) {
  Clique q;
  const size_t n = (size_t{1} << 20) / sizeof(double) / kRanks + 3;  // per rank: more than a slot's share
  std::vector<std::vector<double>> in;
  std::vector<std::unique_ptr<DeviceBuffer<double>>> send, recv;
  for (int r = 0; r < kRanks; ++r) {
    in.push_back(rank_input<double>(n * kRanks, r, 11));
    send.push_back(std::make_unique<DeviceBuffer<double>>(r, in.back()));
    recv.push_back(std::make_unique<DeviceBuffer<double>>(r, n));
  }
  REQUIRE(ncclGroupStart() == ncclSuccess);
  for (int r = 0; r < kRanks; ++r)
    REQUIRE(ncclReduceScatter(send[r]->get(), recv[r]->get(), n, ncclFloat64, ncclSum, q.comms[r], nullptr) ==
            ncclSuccess);
  REQUIRE(ncclGroupEnd() == ncclSuccess);
  const std::vector<double> all = host_reduce(in, ncclSum);
  for (int r = 0; r < kRanks; ++r) {
    const std::vector<double> want(all.begin() + static_cast<long>(r * n), all.begin() + static_cast<long>((r + 1) * n));
    CHECK(count_differences(recv[r]->download(), want) == 0);
  }
}

TEST_CASE("ncclGroupStart + ncclCommInitRank per device from one thread, then streams of each device" *
          PN_NEEDS_TWO_DEVICES) {
  ncclUniqueId id;
  REQUIRE(ncclGetUniqueId(&id) == ncclSuccess);
  ncclComm_t comms[kRanks] = {};
  REQUIRE(ncclGroupStart() == ncclSuccess);
  for (int r = 0; r < kRanks; ++r) {
    REQUIRE(cudaSetDevice(r) == cudaSuccess);
    REQUIRE(ncclCommInitRank(&comms[r], kRanks, id, r) == ncclSuccess);
  }
  REQUIRE(ncclGroupEnd() == ncclSuccess);
  const size_t n = 4097;
  std::vector<std::vector<float>> in;
  std::vector<std::unique_ptr<DeviceBuffer<float>>> bufs;
  cudaStream_t streams[kRanks] = {};
  for (int r = 0; r < kRanks; ++r) {
    REQUIRE(cudaSetDevice(r) == cudaSuccess);
    REQUIRE(cudaStreamCreate(&streams[r]) == cudaSuccess);
    in.push_back(rank_input<float>(n, r, 3));
    bufs.push_back(std::make_unique<DeviceBuffer<float>>(r, in.back()));
  }
  REQUIRE(cudaSetDevice(0) == cudaSuccess);
  REQUIRE(ncclGroupStart() == ncclSuccess);
  for (int r = 0; r < kRanks; ++r)
    REQUIRE(ncclAllReduce(bufs[r]->get(), bufs[r]->get(), n, ncclFloat32, ncclSum, comms[r], streams[r]) == ncclSuccess);
  REQUIRE(ncclGroupEnd() == ncclSuccess);
  for (int r = 0; r < kRanks; ++r) {
    REQUIRE(cudaStreamSynchronize(streams[r]) == cudaSuccess);
    CHECK(count_differences(bufs[r]->download(), host_reduce(in, ncclSum)) == 0);
    REQUIRE(cudaSetDevice(r) == cudaSuccess);
    CHECK(cudaStreamDestroy(streams[r]) == cudaSuccess);
    CHECK(ncclCommDestroy(comms[r]) == ncclSuccess);
  }
  REQUIRE(cudaSetDevice(0) == cudaSuccess);
}

TEST_CASE("two host threads, each driving one device with its own communicator" * PN_NEEDS_TWO_DEVICES) {
  ncclUniqueId id;
  REQUIRE(ncclGetUniqueId(&id) == ncclSuccess);
  const size_t n = kDoublesPastOneSlot;
  std::vector<std::vector<double>> in(kRanks), got(kRanks), bcast(kRanks);
  for (int r = 0; r < kRanks; ++r) in[r] = rank_input<double>(n, r, 5);
  std::vector<ncclResult_t> status(kRanks, ncclInternalError);
  per_rank_threads(kRanks, [&](int r) {
    ncclComm_t comm = nullptr;
    if (ncclCommInitRank(&comm, kRanks, id, r) != ncclSuccess) return;
    DeviceBuffer<double> buf(r, in[r]);
    ncclResult_t s = ncclAllReduce(buf.get(), buf.get(), n, ncclFloat64, ncclMax, comm, nullptr);
    got[r] = buf.download();
    DeviceBuffer<double> b(r, in[r]);
    if (s == ncclSuccess) s = ncclBroadcast(b.get(), b.get(), n, ncclFloat64, 0, comm, nullptr);
    bcast[r] = b.download();
    status[r] = s == ncclSuccess ? ncclCommDestroy(comm) : s;
  });
  const std::vector<double> want = host_reduce(in, ncclMax);
  for (int r = 0; r < kRanks; ++r) {
    REQUIRE(status[r] == ncclSuccess);
    CHECK(count_differences(got[r], want) == 0);
    CHECK(count_differences(bcast[r], in[0]) == 0);
  }
}
