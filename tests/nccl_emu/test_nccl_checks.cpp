// The emulated NCCL refuses what the real one refuses, with NCCL's status and a message that
// names the problem (ncclGetLastError, pn::cuda::emu::last_error_detail()):
//  - the planted bug of issue 13: a host pointer handed to ncclAllReduce;
//  - buffers on another device, too short for count x type size, or null; invalid root,
//    type and op; a stream of another device; destroyed communicators;
//  - communicator creation: invalid rank / nranks, a unique id that is not one or is spent,
//    two ranks claiming one rank number or disagreeing on nranks, two ranks on one GPU;
//  - failures of peers: one that never arrives (timeout naming it), one that calls another
//    collective (mismatch), one that aborts, destroys or exits (peers fail fast).
// Single-rank communicators need one emulated device; the rest are skipped with fewer than 2.
#include <doctest/doctest.h>
#include <dirent.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "nccl_test_util.h"

using namespace pn::test;
using Clock = std::chrono::steady_clock;

namespace {

// A one-rank communicator on device 0: enough for every argument check.
struct Solo {
  ncclComm_t comm = nullptr;
  Solo() {
    ncclUniqueId id;
    REQUIRE(ncclGetUniqueId(&id) == ncclSuccess);
    REQUIRE(cudaSetDevice(0) == cudaSuccess);
    REQUIRE(ncclCommInitRank(&comm, 1, id, 0) == ncclSuccess);
  }
  ~Solo() { CHECK(ncclCommDestroy(comm) == ncclSuccess); }
};

std::string last_error() { return ncclGetLastError(nullptr); }

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::string make_temp_dir() {
  char dir_template[] = "/tmp/pn-nccl-test-XXXXXX";
  const char* dir = mkdtemp(dir_template);
  REQUIRE(dir != nullptr);
  return dir;
}

// Files in dir (not . and ..).
int entries(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  REQUIRE(d != nullptr);
  int n = 0;
  while (dirent* e = readdir(d)) n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

// Sleeps in steps until dir holds a file (a rendezvous file was published), at most 10 s.
bool wait_for_file(const std::string& dir) {
  for (int i = 0; i < 1000; ++i) {
    if (entries(dir) > 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

// Two ranks on devices 0 and 1, made by two threads.
struct Pair {
  ncclComm_t comms[2] = {};
  Pair() {
    ncclUniqueId id;
    REQUIRE(ncclGetUniqueId(&id) == ncclSuccess);
    per_rank_threads(2, [&](int r) { CHECK(ncclCommInitRank(&comms[r], 2, id, r) == ncclSuccess); });
  }
  ~Pair() {
    for (ncclComm_t c : comms)
      if (c) CHECK(ncclCommDestroy(c) == ncclSuccess);
  }
};

}  // namespace

TEST_CASE("planted bug (issue 13): a host pointer handed to ncclAllReduce is refused as host memory") {
  Solo s;
  std::vector<float> host(100, 1.0f);
  DeviceBuffer<float> dev(0, 100);
  CHECK(ncclAllReduce(host.data(), dev.get(), 100, ncclFloat32, ncclSum, s.comm, nullptr) == ncclInvalidArgument);
  const std::string why = last_error();
  INFO(why);
  CHECK(contains(why, "ncclAllReduce: sendbuff"));
  CHECK(contains(why, "is host memory"));
  CHECK(contains(why, "400 bytes of ncclFloat32"));
  CHECK(std::string(pn::cuda::emu::last_error_detail()) == why);  // CudaError messages carry it too
  CHECK(ncclAllReduce(host.data(), host.data(), 100, ncclFloat32, ncclSum, s.comm, nullptr) == ncclInvalidArgument);
  CHECK(contains(last_error(), "sendbuff"));
  CHECK(ncclAllReduce(dev.get(), host.data(), 100, ncclFloat32, ncclSum, s.comm, nullptr) == ncclInvalidArgument);
  CHECK(contains(last_error(), "recvbuff"));
  CHECK(contains(last_error(), "is host memory"));
  CHECK(ncclAllReduce(dev.get(), dev.get(), 100, ncclFloat32, ncclSum, s.comm, nullptr) == ncclSuccess);
}

TEST_CASE("a collective is device work on its stream: reading a buffer written on another stream needs an event") {
  // Issue 13's first bug: gradients concatenated on the legacy default stream, then reduced
  // by NCCL on the communicator's non-blocking stream with nothing ordering the two.
  Solo s;
  DeviceBuffer<float> grads(0, 64);
  cudaStream_t nccl_stream = nullptr;
  cudaEvent_t written = nullptr;
  REQUIRE(cudaStreamCreateWithFlags(&nccl_stream, cudaStreamNonBlocking) == cudaSuccess);
  REQUIRE(cudaEventCreate(&written) == cudaSuccess);
  REQUIRE(cudaMemsetAsync(grads.get(), 0, grads.bytes(), nullptr) == cudaSuccess);
  // Whichever of the two runs second finds the hazard: the collective at its call (eager,
  // shuffled) or the memset later, reported at the next synchronisation (deferred).
  const ncclResult_t r = ncclAllReduce(grads.get(), grads.get(), 64, ncclFloat32, ncclSum, s.comm, nccl_stream);
  std::string hazard = last_error();
  if (r == ncclSuccess) {
    CHECK(cudaDeviceSynchronize() == cudaErrorLaunchFailure);
    hazard = pn::cuda::emu::last_error_detail();
  } else {
    CHECK(r == ncclUnhandledCudaError);
  }
  INFO(hazard);
  CHECK(contains(hazard, "hazard on the 256-byte allocation"));
  CHECK(contains(hazard, "ncclAllReduce on stream"));
  CHECK(contains(hazard, "cudaMemsetAsync"));
  (void)cudaGetLastError();
  REQUIRE(cudaDeviceSynchronize() == cudaSuccess);  // the memset below must follow the collective
  REQUIRE(cudaMemsetAsync(grads.get(), 0, grads.bytes(), nullptr) == cudaSuccess);
  REQUIRE(cudaEventRecord(written, nullptr) == cudaSuccess);
  REQUIRE(cudaStreamWaitEvent(nccl_stream, written) == cudaSuccess);
  CHECK(ncclAllReduce(grads.get(), grads.get(), 64, ncclFloat32, ncclSum, s.comm, nccl_stream) == ncclSuccess);
  CHECK(cudaStreamSynchronize(nccl_stream) == cudaSuccess);
  CHECK(grads.download() == std::vector<float>(64, 0.0f));
  CHECK(cudaEventDestroy(written) == cudaSuccess);
  CHECK(cudaStreamDestroy(nccl_stream) == cudaSuccess);
}

TEST_CASE("buffers shorter than count x type size, null buffers, and every collective's extents") {
  Solo s;
  DeviceBuffer<double> nine(0, 9), ten(0, 10);
  CHECK(ncclAllReduce(ten.get(), nine.get(), 10, ncclFloat64, ncclSum, s.comm, nullptr) == ncclInvalidArgument);
  CHECK(contains(last_error(), "recvbuff"));
  CHECK(contains(last_error(), "(80 bytes of ncclFloat64)"));
  CHECK(ncclAllReduce(ten.get(), ten.get(), 10, ncclFloat64, ncclSum, s.comm, nullptr) == ncclSuccess);
  CHECK(ncclAllReduce(nullptr, ten.get(), 10, ncclFloat64, ncclSum, s.comm, nullptr) == ncclInvalidArgument);
  CHECK(contains(last_error(), "sendbuff is NULL"));
  // The type size counts: 10 elements of ncclFloat64 need 80 bytes, of ncclInt8 only 10.
  DeviceBuffer<char> bytes(0, 40);
  CHECK(ncclBroadcast(bytes.get(), bytes.get(), 40, ncclInt8, 0, s.comm, nullptr) == ncclSuccess);
  CHECK(ncclBroadcast(bytes.get(), bytes.get(), 10, ncclFloat64, 0, s.comm, nullptr) == ncclInvalidArgument);
  // All-gather receives nranks x count, reduce-scatter sends nranks x count (nranks = 1 here).
  CHECK(ncclAllGather(nine.get(), ten.get(), 9, ncclFloat64, s.comm, nullptr) == ncclSuccess);
  CHECK(ncclAllGather(ten.get(), nine.get(), 10, ncclFloat64, s.comm, nullptr) == ncclInvalidArgument);
  CHECK(ncclReduceScatter(nine.get(), ten.get(), 10, ncclFloat64, ncclSum, s.comm, nullptr) == ncclInvalidArgument);
  CHECK(contains(last_error(), "ncclReduceScatter: sendbuff"));
}

TEST_CASE("invalid root, type, reduction op and unemulated reductions are ncclInvalidArgument") {
  Solo s;
  DeviceBuffer<float> buf(0, 4);
  CHECK(ncclBroadcast(buf.get(), buf.get(), 4, ncclFloat32, 1, s.comm, nullptr) == ncclInvalidArgument);
  CHECK(contains(last_error(), "invalid root 1 (root should be in the 0..0 range)"));
  CHECK(ncclAllReduce(buf.get(), buf.get(), 4, static_cast<ncclDataType_t>(12), ncclSum, s.comm, nullptr) ==
        ncclInvalidArgument);
  CHECK(contains(last_error(), "invalid type 12"));
  CHECK(ncclAllReduce(buf.get(), buf.get(), 4, ncclFloat32, static_cast<ncclRedOp_t>(5), s.comm, nullptr) ==
        ncclInvalidArgument);
  CHECK(contains(last_error(), "reduction operation 5 unknown"));
  CHECK(ncclAllReduce(buf.get(), buf.get(), 8, ncclFloat16, ncclSum, s.comm, nullptr) == ncclInvalidArgument);
  CHECK(contains(last_error(), "does not reduce ncclFloat16"));
  CHECK(ncclBroadcast(buf.get(), buf.get(), 8, ncclFloat16, 0, s.comm, nullptr) == ncclSuccess);  // moving is fine
}

TEST_CASE("a destroyed communicator, and the queries' null arguments") {
  ncclComm_t comm = nullptr;
  {
    ncclUniqueId id;
    REQUIRE(ncclGetUniqueId(&id) == ncclSuccess);
    REQUIRE(ncclCommInitRank(&comm, 1, id, 0) == ncclSuccess);
  }
  int n = 0;
  CHECK(ncclCommCount(comm, nullptr) == ncclInvalidArgument);
  REQUIRE(ncclCommDestroy(comm) == ncclSuccess);
  DeviceBuffer<float> buf(0, 4);
  CHECK(ncclAllReduce(buf.get(), buf.get(), 4, ncclFloat32, ncclSum, comm, nullptr) == ncclInvalidArgument);
  CHECK(contains(last_error(), "is not a live communicator"));
  CHECK(ncclCommCount(comm, &n) == ncclInvalidArgument);
  CHECK(ncclCommDestroy(comm) == ncclInvalidArgument);
  CHECK(ncclCommDestroy(nullptr) == ncclSuccess);
  CHECK(ncclAllReduce(buf.get(), buf.get(), 4, ncclFloat32, ncclSum, nullptr, nullptr) == ncclInvalidArgument);
  CHECK(contains(last_error(), "comm argument is NULL"));
}

TEST_CASE("communicator creation: ranks, unique ids, group misuse") {
  const std::string dir = make_temp_dir();
  ScopedEnv tmp("TMPDIR", dir);
  ncclUniqueId id;
  REQUIRE(ncclGetUniqueId(&id) == ncclSuccess);
  ncclComm_t comm = nullptr;
  CHECK(ncclCommInitRank(&comm, 2, id, 2) == ncclInvalidArgument);
  CHECK(contains(last_error(), "Invalid rank requested : 2/2"));
  CHECK(ncclCommInitRank(&comm, 0, id, 0) == ncclInvalidArgument);
  CHECK(ncclCommInitRank(nullptr, 1, id, 0) == ncclInvalidArgument);
  ncclUniqueId zeros{};
  CHECK(ncclCommInitRank(&comm, 1, zeros, 0) == ncclInvalidArgument);
  CHECK(contains(last_error(), "not made by ncclGetUniqueId"));
  REQUIRE(ncclCommInitRank(&comm, 1, id, 0) == ncclSuccess);
  CHECK(entries(dir) == 0);  // unlinked once every rank had joined, while the communicator lives
  ncclComm_t again = nullptr;
  CHECK(ncclCommInitRank(&again, 1, id, 0) == ncclInvalidUsage);  // a spent id
  CHECK(contains(last_error(), "already formed a communicator"));
  CHECK(ncclGroupEnd() == ncclInvalidUsage);
  CHECK(contains(last_error(), "not in a group call"));
  // ncclCommInitRank and collectives may not share a group; the group then runs nothing.
  DeviceBuffer<float> buf(0, 4);
  ncclUniqueId other;
  REQUIRE(ncclGetUniqueId(&other) == ncclSuccess);
  REQUIRE(ncclGroupStart() == ncclSuccess);
  CHECK(ncclAllReduce(buf.get(), buf.get(), 4, ncclFloat32, ncclSum, comm, nullptr) == ncclSuccess);
  CHECK(ncclCommInitRank(&again, 1, other, 0) == ncclInvalidUsage);
  CHECK(ncclGroupEnd() == ncclInvalidUsage);
  CHECK(contains(last_error(), "cannot be in one group"));
  CHECK(ncclCommDestroy(comm) == ncclSuccess);
  rmdir(dir.c_str());
  int version = 0;
  CHECK(ncclGetVersion(&version) == ncclSuccess);
  CHECK(version == NCCL_VERSION_CODE);
  CHECK(NCCL_VERSION_CODE == NCCL_VERSION(2, 28, 9));
  CHECK(std::string(ncclGetErrorString(ncclInvalidUsage)) == "invalid usage (run with NCCL_DEBUG=WARN for details)");
}

TEST_CASE("two ranks on one GPU: Duplicate GPU detected (ncclInvalidUsage), in a group and in ncclCommInitAll") {
  ncclUniqueId id;
  REQUIRE(ncclGetUniqueId(&id) == ncclSuccess);
  ncclComm_t comms[2] = {};
  REQUIRE(cudaSetDevice(0) == cudaSuccess);
  REQUIRE(ncclGroupStart() == ncclSuccess);
  for (int r = 0; r < 2; ++r) REQUIRE(ncclCommInitRank(&comms[r], 2, id, r) == ncclSuccess);
  CHECK(ncclGroupEnd() == ncclInvalidUsage);
  CHECK(contains(last_error(), "Duplicate GPU detected : rank 0 and rank 1 both on CUDA device 0"));
  CHECK(comms[0] == nullptr);
  CHECK(comms[1] == nullptr);
  const int same[2] = {0, 0};
  CHECK(ncclCommInitAll(comms, 2, same) == ncclInvalidUsage);
  CHECK(contains(last_error(), "device 0 appears twice in devlist"));
  const int missing[2] = {0, 7};
  CHECK(ncclCommInitAll(comms, 2, missing) == ncclInvalidArgument);
  CHECK(contains(last_error(), "Invalid device 7"));
  CHECK(ncclCommInitAll(comms, -1, nullptr) == ncclInvalidArgument);
}

TEST_CASE("a peer that never joins: ncclCommInitRank times out naming it, and leaves no file behind") {
  const std::string dir = make_temp_dir();
  ScopedEnv tmp("TMPDIR", dir), timeout("PN_NCCL_EMU_TIMEOUT_S", "1");
  ncclUniqueId id;
  REQUIRE(ncclGetUniqueId(&id) == ncclSuccess);
  ncclComm_t comm = nullptr;
  const auto t0 = Clock::now();
  CHECK(ncclCommInitRank(&comm, 2, id, 0) == ncclRemoteError);
  CHECK(seconds_since(t0) < 5);
  const std::string why = last_error();
  INFO(why);
  CHECK(contains(why, "timed out after 1 s waiting for rank 1 (has not joined"));
  CHECK(contains(why, "PN_NCCL_EMU_TIMEOUT_S"));
  CHECK(comm == nullptr);
  CHECK(entries(dir) == 0);
  rmdir(dir.c_str());
  ScopedEnv bad("PN_NCCL_EMU_TIMEOUT_S", "soon");
  REQUIRE(ncclGetUniqueId(&id) == ncclSuccess);
  CHECK(ncclCommInitRank(&comm, 1, id, 0) == ncclInvalidArgument);
  CHECK(contains(last_error(), "PN_NCCL_EMU_TIMEOUT_S=soon is not a positive number of seconds"));
}

TEST_CASE("two ranks claiming one rank number, or disagreeing on nranks") {
  const std::string dir = make_temp_dir();
  ScopedEnv tmp("TMPDIR", dir), timeout("PN_NCCL_EMU_TIMEOUT_S", "2");  // rank 0 waits while the other joins
  for (int other_nranks : {2, 3}) {
    ncclUniqueId id;
    REQUIRE(ncclGetUniqueId(&id) == ncclSuccess);
    ncclResult_t first = ncclSuccess, second = ncclSuccess;
    std::string second_why;
    ncclComm_t a = nullptr, b = nullptr;
    std::thread t([&] { first = ncclCommInitRank(&a, 2, id, 0); });
    REQUIRE(wait_for_file(dir));  // rank 0 has made the communicator's file
    second = ncclCommInitRank(&b, other_nranks, id, other_nranks == 2 ? 0 : 1);
    second_why = last_error();
    t.join();
    INFO(second_why);
    CHECK(second == ncclInvalidUsage);
    CHECK(contains(second_why, other_nranks == 2 ? "rank 0 of this unique id has already joined"
                                                 : "was given nranks=3 but the communicator of this unique id was "
                                                   "created with nranks=2"));
    CHECK(first == ncclRemoteError);  // its peer never came
  }
  CHECK(entries(dir) == 0);
  rmdir(dir.c_str());
}

TEST_CASE("a buffer on another device, and a stream of another device" * PN_NEEDS_TWO_DEVICES) {
  Solo s;  // rank 0 on device 0
  DeviceBuffer<float> on1(1, 16), on0(0, 16);
  CHECK(ncclAllReduce(on1.get(), on0.get(), 16, ncclFloat32, ncclSum, s.comm, nullptr) == ncclInvalidArgument);
  INFO(last_error());
  CHECK(contains(last_error(), "sendbuff"));
  CHECK(contains(last_error(), "is allocated on device 1, which mismatches the communicator's device 0"));
  cudaStream_t stream1 = nullptr;
  REQUIRE(cudaSetDevice(1) == cudaSuccess);
  REQUIRE(cudaStreamCreate(&stream1) == cudaSuccess);
  REQUIRE(cudaSetDevice(0) == cudaSuccess);
  CHECK(ncclAllReduce(on0.get(), on0.get(), 16, ncclFloat32, ncclSum, s.comm, stream1) == ncclUnhandledCudaError);
  CHECK(contains(last_error(), "belongs to device 1 but the communicator (rank 0) to device 0"));
  CHECK(cudaStreamDestroy(stream1) == cudaSuccess);
  CHECK(ncclAllReduce(on0.get(), on0.get(), 16, ncclFloat32, ncclSum, s.comm, stream1) == ncclUnhandledCudaError);
  CHECK(contains(last_error(), "is not a live stream"));
}

TEST_CASE("a peer that skips a collective: the waiting rank times out naming it and what it did last" *
          PN_NEEDS_TWO_DEVICES) {
  ScopedEnv timeout("PN_NCCL_EMU_TIMEOUT_S", "1");
  Pair p;
  DeviceBuffer<float> buf(0, 8);
  const auto t0 = Clock::now();
  CHECK(ncclAllReduce(buf.get(), buf.get(), 8, ncclFloat32, ncclSum, p.comms[0], nullptr) == ncclRemoteError);
  CHECK(seconds_since(t0) < 5);
  const std::string why = last_error();
  INFO(why);
  CHECK(contains(why, "ncclAllReduce #1 (8 x ncclFloat32, sum) on rank 0 of 2 timed out after 1 s waiting for "
                      "rank 1"));
  CHECK(contains(why, "last in ncclCommInitRank #0"));
  ncclResult_t async = ncclSuccess;
  CHECK(ncclCommGetAsyncError(p.comms[1], &async) == ncclSuccess);
  CHECK(async == ncclRemoteError);  // the communicator failed for every rank
  DeviceBuffer<float> buf1(1, 8);
  CHECK(ncclAllReduce(buf1.get(), buf1.get(), 8, ncclFloat32, ncclSum, p.comms[1], nullptr) == ncclRemoteError);
}

TEST_CASE("ranks calling different collectives: both fail with ncclInvalidUsage naming the other" *
          PN_NEEDS_TWO_DEVICES) {
  Pair p;
  std::vector<ncclResult_t> status(2);
  std::vector<std::string> why(2);
  per_rank_threads(2, [&](int r) {
    DeviceBuffer<float> buf(r, 12);
    status[r] = ncclAllReduce(buf.get(), buf.get(), r == 0 ? 10 : 12, ncclFloat32, ncclSum, p.comms[r], nullptr);
    why[r] = last_error();
  });
  for (int r = 0; r < 2; ++r) {
    INFO(why[r]);
    CHECK(status[r] == ncclInvalidUsage);
  }
  CHECK(contains(why[0], "rank 1 called ncclAllReduce #1 (12 x ncclFloat32, sum)"));
  CHECK(contains(why[1], "rank 0 called ncclAllReduce #1 (10 x ncclFloat32, sum)"));
}

TEST_CASE("ncclCommAbort and ncclCommDestroy make a waiting peer fail at once, not at the timeout" *
          PN_NEEDS_TWO_DEVICES) {
  ScopedEnv timeout("PN_NCCL_EMU_TIMEOUT_S", "60");
  for (bool abort : {true, false}) {
    Pair p;
    ncclResult_t waiting = ncclSuccess;
    std::string why;
    const auto t0 = Clock::now();
    std::thread t([&] {
      DeviceBuffer<float> buf(0, 8);
      waiting = ncclAllReduce(buf.get(), buf.get(), 8, ncclFloat32, ncclSum, p.comms[0], nullptr);
      why = last_error();
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    CHECK((abort ? ncclCommAbort(p.comms[1]) : ncclCommDestroy(p.comms[1])) == ncclSuccess);
    p.comms[1] = nullptr;
    t.join();
    INFO(why);
    CHECK(seconds_since(t0) < 10);
    CHECK(waiting == ncclRemoteError);
    CHECK(contains(why, abort ? "rank 1 aborted the communicator (ncclCommAbort)" : "has destroyed or aborted"));
  }
}

TEST_CASE("a peer process that exits: the waiting rank fails within seconds, naming its pid" * PN_NEEDS_TWO_DEVICES) {
  ScopedEnv timeout("PN_NCCL_EMU_TIMEOUT_S", "60");
  ncclUniqueId id;
  REQUIRE(ncclGetUniqueId(&id) == ncclSuccess);
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {  // rank 1 on device 1 joins, then dies without a word
    ncclComm_t c = nullptr;
    _exit(cudaSetDevice(1) == cudaSuccess && ncclCommInitRank(&c, 2, id, 1) == ncclSuccess ? 0 : 1);
  }
  REQUIRE(cudaSetDevice(0) == cudaSuccess);
  ncclComm_t comm = nullptr;
  REQUIRE(ncclCommInitRank(&comm, 2, id, 0) == ncclSuccess);
  ncclResult_t waiting = ncclSuccess;
  std::string why;
  const auto t0 = Clock::now();
  std::thread t([&] {
    DeviceBuffer<float> buf(0, 8);
    waiting = ncclAllReduce(buf.get(), buf.get(), 8, ncclFloat32, ncclSum, comm, nullptr);
    why = last_error();
  });
  int child_status = -1;
  REQUIRE(waitpid(child, &child_status, 0) == child);  // reaped: its pid is gone
  t.join();
  INFO(why);
  CHECK(child_status == 0);
  CHECK(seconds_since(t0) < 10);
  CHECK(waiting == ncclRemoteError);
  CHECK(contains(why, "rank 1 (pid " + std::to_string(child)));
  CHECK(contains(why, "has exited"));
  CHECK(ncclCommDestroy(comm) == ncclSuccess);
}
