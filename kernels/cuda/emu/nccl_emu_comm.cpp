// The emulated NCCL's communicators: unique ids, ncclCommInitRank / ncclCommInitAll,
// destroy and abort, the queries, versions and error strings, and the registry of live
// communicators that lets a call on a destroyed one fail cleanly instead of touching freed
// memory. Checks and statuses follow NCCL 2.28's init.cc and argcheck.cc: a bad rank, rank
// count, device or null argument is ncclInvalidArgument; two ranks on one GPU, or a devlist
// naming a device twice, ncclInvalidUsage; a peer that never joins, ncclRemoteError.
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <set>
#include <unordered_set>
#include <vector>

#include "kernels/cuda/emu/emu_internal.h"
#include "kernels/cuda/emu/nccl_emu_internal.h"

namespace pn::cuda::emu::nccl {

namespace {

constexpr char kIdMagic[8] = {'P', 'N', 'N', 'C', 'C', 'L', 'I', 'D'};
constexpr double kDefaultTimeoutS = 300;

thread_local std::string t_last_error;

std::mutex g_mutex;
std::unordered_set<const ncclComm*>& live_comms() {
  static std::unordered_set<const ncclComm*> s;
  return s;
}
// Tokens of unique ids whose communicator has formed in this process: joining one again is
// reuse of a spent id.
std::set<std::string>& spent_tokens() {
  static std::set<std::string> s;
  return s;
}

std::string token_of(const IdLayout& id) { return std::string(reinterpret_cast<const char*>(id.token), sizeof id.token); }

IdLayout decode(const ncclUniqueId& id) {
  IdLayout l;
  std::memcpy(&l, &id, sizeof l);
  return l;
}

// What ncclCommInitRank checks before it waits for anyone (at the call, also inside a group).
Status check_init(const ncclComm_t* out, int nranks, const ncclUniqueId& id, int rank) {
  if (!out) return failure(ncclInvalidArgument, "ncclCommInitRank: newcomm argument is NULL");
  if (nranks < 1 || rank < 0 || rank >= nranks)
    return failure(ncclInvalidArgument, "ncclCommInitRank: Invalid rank requested : " + std::to_string(rank) + "/" +
                                            std::to_string(nranks) + " (rank must be in 0..nranks-1, nranks >= 1)");
  const IdLayout l = decode(id);
  if (std::memcmp(l.magic, kIdMagic, sizeof kIdMagic) != 0)
    return failure(ncclInvalidArgument, "ncclCommInitRank: commId was not made by ncclGetUniqueId (of the emulated "
                                        "NCCL): make it on one rank with ncclGetUniqueId and send all of its " +
                                            std::to_string(NCCL_UNIQUE_ID_BYTES) + " bytes to every rank");
  if (l.host_hash != this_host_hash())
    return failure(ncclInvalidUsage, "ncclCommInitRank: commId was made on another host; the emulated NCCL connects "
                                     "ranks on one host only");
  std::lock_guard<std::mutex> lock(g_mutex);
  if (spent_tokens().count(token_of(l)))
    return failure(ncclInvalidUsage, "ncclCommInitRank: this unique id has already formed a communicator; call "
                                     "ncclGetUniqueId once for each new communicator");
  return {};
}

void unregister(ncclComm* c) {
  std::lock_guard<std::mutex> lock(g_mutex);
  live_comms().erase(c);
}

}  // namespace

// ---- Helpers shared by the emulated NCCL's files -------------------------------------------

ncclResult_t report(const Status& s) {
  if (s.ok()) return ncclSuccess;
  t_last_error = s.why + " [" + ncclGetErrorString(s.code) + "]";
  detail::record_detail(t_last_error);
  return s.code;
}

std::string hex(const void* p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%p", p);
  return buf;
}

uint64_t this_host_hash() {
  static const uint64_t h = [] {
    char name[256] = {};
    gethostname(name, sizeof name - 1);
    uint64_t x = 1469598103934665603ull;  // FNV-1a
    for (const char* c = name; *c; ++c) x = (x ^ static_cast<unsigned char>(*c)) * 1099511628211ull;
    return x;
  }();
  return h;
}

std::string check_comm(const ncclComm* comm) {
  if (!comm) return "comm argument is NULL";
  std::lock_guard<std::mutex> lock(g_mutex);
  if (live_comms().count(comm)) return "";
  return "comm " + hex(comm) + " is not a live communicator (already destroyed or aborted, or never made by "
         "ncclCommInitRank/ncclCommInitAll)";
}

Status timeout_seconds(double& out) {
  out = kDefaultTimeoutS;
  const char* v = std::getenv("PN_NCCL_EMU_TIMEOUT_S");
  if (!v || !*v) return {};
  char* end = nullptr;
  errno = 0;
  const double t = std::strtod(v, &end);
  if (errno != 0 || end == v || *end != 0 || !(t > 0))
    return failure(ncclInvalidArgument, std::string("ncclCommInitRank: PN_NCCL_EMU_TIMEOUT_S=") + v +
                                            " is not a positive number of seconds");
  out = t;
  return {};
}

Status init_rank(ncclComm_t* out, int nranks, const ncclUniqueId& id, int rank, int device) {
  double timeout = 0;
  if (Status s = timeout_seconds(timeout); !s.ok()) return s;
  const IdLayout l = decode(id);
  std::unique_ptr<Rendezvous> rv;
  if (Status s = Rendezvous::join(l, nranks, rank, device, timeout, rv); !s.ok()) return s;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    spent_tokens().insert(token_of(l));
  }
  const std::string dup = rv->duplicate_gpu();
  if (!dup.empty()) {
    rv->depart();
    return failure(ncclInvalidUsage, "ncclCommInitRank: " + dup);
  }
  auto* c = new ncclComm();
  c->rank = rank;
  c->nranks = nranks;
  c->device = device;
  c->rv = std::move(rv);
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    live_comms().insert(c);
  }
  *out = c;
  return {};
}

}  // namespace pn::cuda::emu::nccl

namespace nccl = pn::cuda::emu::nccl;
using nccl::failure;
using nccl::report;
using nccl::Status;

// ---- Versions and errors ------------------------------------------------------------------------

ncclResult_t ncclGetVersion(int* version) {
  if (!version) return report(failure(ncclInvalidArgument, "ncclGetVersion: version argument is NULL"));
  *version = NCCL_VERSION_CODE;
  return ncclSuccess;
}

const char* ncclGetErrorString(ncclResult_t result) {
  switch (result) {
    case ncclSuccess: return "no error";
    case ncclUnhandledCudaError: return "unhandled cuda error (run with NCCL_DEBUG=INFO for details)";
    case ncclSystemError: return "unhandled system error (run with NCCL_DEBUG=INFO for details)";
    case ncclInternalError: return "internal error - please report this issue to the NCCL developers";
    case ncclInvalidArgument: return "invalid argument (run with NCCL_DEBUG=WARN for details)";
    case ncclInvalidUsage: return "invalid usage (run with NCCL_DEBUG=WARN for details)";
    case ncclRemoteError: return "remote process exited or there was a network error";
    case ncclInProgress: return "NCCL operation in progress";
    default: return "unknown result code";
  }
}

const char* ncclGetLastError(ncclComm_t) { return nccl::t_last_error.c_str(); }

// ---- Communicators ------------------------------------------------------------------------------

ncclResult_t ncclGetUniqueId(ncclUniqueId* uniqueId) {
  if (!uniqueId) return report(failure(ncclInvalidArgument, "ncclGetUniqueId: out argument is NULL"));
  nccl::IdLayout l{};
  std::memcpy(l.magic, nccl::kIdMagic, sizeof l.magic);
  if (getrandom(l.token, sizeof l.token, 0) != static_cast<ssize_t>(sizeof l.token))
    return report(failure(ncclSystemError, std::string("ncclGetUniqueId: getrandom failed: ") + std::strerror(errno)));
  l.host_hash = nccl::this_host_hash();
  const char* tmp = std::getenv("TMPDIR");
  const std::string dir = tmp && *tmp && std::strlen(tmp) < sizeof l.dir ? tmp : "/tmp";
  std::snprintf(l.dir, sizeof l.dir, "%s", dir.c_str());
  std::memcpy(uniqueId, &l, sizeof l);
  return ncclSuccess;
}

ncclResult_t ncclCommInitRank(ncclComm_t* comm, int nranks, ncclUniqueId commId, int rank) {
  Status checked = nccl::check_init(comm, nranks, commId, rank);
  int device = 0;
  if (checked.ok() && cudaGetDevice(&device) != cudaSuccess)
    checked = failure(ncclUnhandledCudaError, "ncclCommInitRank: cudaGetDevice failed");
  if (checked.ok()) *comm = nullptr;
  nccl::InitJob job;
  job.out = comm;
  job.nranks = nranks;
  job.rank = rank;
  job.device = device;
  job.id = commId;
  if (nccl::in_group()) return report(nccl::group_add(job, checked));
  if (!checked.ok()) return report(checked);
  return report(nccl::init_rank(comm, nranks, commId, rank, device));
}

namespace {

// The devices ncclCommInitAll puts its ranks on, checked as NCCL checks devlist.
Status init_all_devices(int ndev, const int* devlist, std::vector<int>& devices) {
  int total = 0;
  if (cudaGetDeviceCount(&total) != cudaSuccess)
    return failure(ncclUnhandledCudaError, "ncclCommInitAll: cudaGetDeviceCount failed");
  std::vector<int> used(static_cast<size_t>(total), 0);
  for (int i = 0; i < ndev; ++i) {
    const int dev = devlist ? devlist[i] : i;
    if (devlist && (dev < 0 || dev >= total))
      return failure(ncclInvalidArgument, "ncclCommInitAll: Invalid device " + std::to_string(dev) + " (totalnDev=" +
                                              std::to_string(total) + ") in devlist[" + std::to_string(i) + "]");
    if (!devlist && dev >= total)
      return failure(ncclUnhandledCudaError, "ncclCommInitAll: cudaSetDevice(" + std::to_string(dev) +
                                                 ") failed: only " + std::to_string(total) +
                                                 " device(s) (PN_CUDA_EMU_DEVICES)");
    if (used[static_cast<size_t>(dev)]++)
      return failure(ncclInvalidUsage, "ncclCommInitAll: device " + std::to_string(dev) +
                                           " appears twice in devlist; each rank needs its own GPU");
    devices.push_back(dev);
  }
  return {};
}

}  // namespace

ncclResult_t ncclCommInitAll(ncclComm_t* comm, int ndev, const int* devlist) {
  if (!comm) return report(failure(ncclInvalidArgument, "ncclCommInitAll: comms argument is NULL"));
  if (ndev < 0)
    return report(failure(ncclInvalidArgument, "ncclCommInitAll: Invalid device count requested : " + std::to_string(ndev)));
  std::vector<int> devices;
  if (Status s = init_all_devices(ndev, devlist, devices); !s.ok()) return report(s);
  ncclUniqueId id;
  if (ncclResult_t r = ncclGetUniqueId(&id); r != ncclSuccess) return r;
  std::vector<nccl::InitJob> jobs(static_cast<size_t>(ndev));
  for (int i = 0; i < ndev; ++i) {
    comm[i] = nullptr;
    jobs[i].out = &comm[i];
    jobs[i].nranks = ndev;
    jobs[i].rank = i;
    jobs[i].device = devices[static_cast<size_t>(i)];
    jobs[i].id = id;
  }
  Status s = nccl::run_init_jobs(jobs.data(), jobs.size());
  if (!s.ok())
    for (int i = 0; i < ndev; ++i)
      if (comm[i]) (void)ncclCommDestroy(comm[i]), comm[i] = nullptr;
  return report(s);
}

namespace {

// Destroy (abort = false) or abort: the rank departs (aborting also fails every peer).
ncclResult_t release(ncclComm_t comm, bool abort) {
  const char* call = abort ? "ncclCommAbort" : "ncclCommDestroy";
  if (!comm) return ncclSuccess;
  if (std::string why = nccl::check_comm(comm); !why.empty())
    return report(failure(ncclInvalidArgument, std::string(call) + ": " + why));
  if (abort)
    comm->rv->fail_all("rank " + std::to_string(comm->rank) + " aborted the communicator (ncclCommAbort) after " +
                       std::to_string(comm->seq) + " collective(s)");
  comm->rv->depart();
  nccl::unregister(comm);
  delete comm;
  return ncclSuccess;
}

}  // namespace

ncclResult_t ncclCommDestroy(ncclComm_t comm) { return release(comm, false); }
ncclResult_t ncclCommAbort(ncclComm_t comm) { return release(comm, true); }

ncclResult_t ncclCommGetAsyncError(ncclComm_t comm, ncclResult_t* asyncError) {
  if (std::string why = nccl::check_comm(comm); !why.empty())
    return report(failure(ncclInvalidArgument, "ncclCommGetAsyncError: " + why));
  if (!asyncError) return report(failure(ncclInvalidArgument, "ncclCommGetAsyncError: asyncError argument is NULL"));
  if (comm->async_error == ncclSuccess) {
    const std::string peer = comm->rv->shared_failure();
    if (!peer.empty()) comm->async_error = ncclRemoteError, comm->error_text = peer;
  }
  *asyncError = comm->async_error;
  return ncclSuccess;
}

namespace {

ncclResult_t query(const ncclComm* comm, int* out, int ncclComm::*field, const char* call) {
  if (std::string why = nccl::check_comm(comm); !why.empty())
    return report(failure(ncclInvalidArgument, std::string(call) + ": " + why));
  if (!out) return report(failure(ncclInvalidArgument, std::string(call) + ": output argument is NULL"));
  *out = comm->*field;
  return ncclSuccess;
}

}  // namespace

ncclResult_t ncclCommCount(const ncclComm_t comm, int* count) { return query(comm, count, &ncclComm::nranks, "ncclCommCount"); }
ncclResult_t ncclCommCuDevice(const ncclComm_t comm, int* device) {
  return query(comm, device, &ncclComm::device, "ncclCommCuDevice");
}
ncclResult_t ncclCommUserRank(const ncclComm_t comm, int* rank) {
  return query(comm, rank, &ncclComm::rank, "ncclCommUserRank");
}
