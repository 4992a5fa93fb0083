// What the emulated NCCL's files share (not for users: they include nccl_api.h):
//  - Status, and report(), which makes a failed Status the calling thread's last error;
//  - Rendezvous: one communicator's shared-memory file (nccl_emu_rendezvous.cpp): joining,
//    barriers with timeouts and failure propagation, the per-rank data slots;
//  - struct ncclComm and the registry of live communicators (nccl_emu_comm.cpp);
//  - Collective: one collective call, checked at the call and run (now or at ncclGroupEnd)
//    as device work on its stream (nccl_emu_collectives.cpp);
//  - the calling thread's group state (nccl_emu_group.cpp).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "kernels/cuda/emu/nccl_emu.h"

namespace pn::cuda::emu::nccl {

// ---- Results ----------------------------------------------------------------------------------
struct Status {
  ncclResult_t code = ncclSuccess;
  std::string why;  // starts with the call's name ("ncclAllReduce: ...")
  bool ok() const { return code == ncclSuccess; }
};
inline Status failure(ncclResult_t code, std::string why) { return Status{code, std::move(why)}; }

// Makes s the calling thread's last error (ncclGetLastError and, through
// pn::cuda::emu::last_error_detail(), CudaError messages) when it failed; returns s.code.
ncclResult_t report(const Status& s);

// "0x7f...": a pointer as messages show it.
std::string hex(const void* p);
const char* type_name(ncclDataType_t t);
// Bytes per element of a valid type.
size_t type_size(ncclDataType_t t);

// ---- The shared-memory transport (nccl_emu_rendezvous.cpp) ----------------------------------
// What the rendezvous file holds per communicator: what each rank is doing, so that a rank
// can name the peers it waits for and detect ranks that call different collectives.
struct Signature {
  char what[24] = {};  // "ncclAllReduce"
  uint64_t seq = 0;    // the rank's number of collectives so far on this communicator
  uint64_t count = 0;
  int32_t datatype = -1, op = -1, root = -1;
};
Signature make_signature(const char* what, uint64_t seq, uint64_t count, int datatype, int op, int root);
std::string describe(const Signature& s);  // "ncclAllReduce #3 (1000 x ncclFloat32, sum)"

// The decoded ncclUniqueId (exactly NCCL_UNIQUE_ID_BYTES).
struct IdLayout {
  char magic[8];
  unsigned char token[16];
  uint64_t host_hash;
  char dir[96];  // where the rendezvous file lives, chosen by the rank that made the id
};
static_assert(sizeof(IdLayout) == NCCL_UNIQUE_ID_BYTES, "the emulated unique id must fill ncclUniqueId");
uint64_t this_host_hash();

class Rendezvous {
 public:
  // Joins the communicator of `id` as `rank` (creating its file if first), then waits until
  // all nranks ranks have joined or timeout_s passes. The file is unlinked as soon as every
  // rank has joined. `device` and this host identify the rank's GPU for peers' checks.
  static Status join(const IdLayout& id, int nranks, int rank, int device, double timeout_s,
                     std::unique_ptr<Rendezvous>& out);
  ~Rendezvous();
  Rendezvous(const Rendezvous&) = delete;
  Rendezvous& operator=(const Rendezvous&) = delete;

  // Waits until every rank has entered this barrier (each rank's signature is published as
  // it enters). Fails fast when a peer aborted, exited or departed, and after the timeout.
  Status barrier(const Signature& mine);
  // Every rank's signature as published at the barrier just passed, or "" when all match
  // mine; otherwise which ranks called what instead (to be called between two barriers).
  std::string mismatch(const Signature& mine);
  // After the join: "" or a message naming two ranks on the same GPU of this host.
  std::string duplicate_gpu();
  // Marks the communicator failed for every rank (waiters wake and fail with `why`).
  void fail_all(const std::string& why);
  // This rank leaves: peers still waiting for it fail instead of timing out.
  void depart();
  // The failure another rank recorded, if any ("" when the communicator is healthy).
  std::string shared_failure();

  char* slot(int r) const;
  size_t slot_bytes() const { return slot_bytes_; }
  int rank() const { return rank_; }
  int nranks() const { return nranks_; }

  struct Shared;  // the file's header (nccl_emu_rendezvous.cpp)

 private:
  Rendezvous() = default;
  Shared* shared_ = nullptr;
  size_t mapped_bytes_ = 0;
  size_t slot_bytes_ = 0;
  int rank_ = 0, nranks_ = 0;
  double timeout_s_ = 0;
};

}  // namespace pn::cuda::emu::nccl

// ---- A communicator (nccl_emu_comm.cpp) ------------------------------------------------------
struct ncclComm {
  int rank = 0, nranks = 0, device = 0;
  uint64_t seq = 0;  // collectives run so far
  ncclResult_t async_error = ncclSuccess;
  std::string error_text;  // why async_error is set
  std::unique_ptr<pn::cuda::emu::nccl::Rendezvous> rv;
};

namespace pn::cuda::emu::nccl {

// "" when comm is a live communicator made by ncclCommInitRank/All; else why not.
std::string check_comm(const ncclComm* comm);
// The value of PN_NCCL_EMU_TIMEOUT_S (seconds, default 300), or a failed Status.
Status timeout_seconds(double& out);
// Joins nranks ranks (the blocking part of ncclCommInitRank): *out is set on success.
Status init_rank(ncclComm_t* out, int nranks, const ncclUniqueId& id, int rank, int device);

// ---- Collectives (nccl_emu_collectives.cpp) --------------------------------------------------
enum class Kind { AllReduce, Broadcast, AllGather, ReduceScatter };
struct Collective {
  Kind kind = Kind::AllReduce;
  const void* send = nullptr;
  void* recv = nullptr;
  size_t count = 0;  // NCCL's count argument: per-rank send count (AllGather), recv count (ReduceScatter)
  ncclDataType_t type = ncclFloat32;
  ncclRedOp_t op = ncclSum;
  int root = 0;
  ncclComm_t comm = nullptr;
  cudaStream_t stream = nullptr;
};
const char* name(Kind k);
// NCCL's argument checks, at the call (ncclEnqueueCheck / ArgsCheck / CudaPtrCheck).
Status check_collective(const Collective& c);
// Runs a checked collective as device work on its stream (all ranks meet in it).
Status run_collective(const Collective& c);

// ---- Group calls (nccl_emu_group.cpp) -------------------------------------------------------
struct InitJob {
  ncclComm_t* out = nullptr;
  int nranks = 0, rank = 0, device = 0;
  ncclUniqueId id{};
};
bool in_group();
// Inside a group: a call that passed its checks (`checked`) is kept for ncclGroupEnd; one
// that failed them makes the group fail (ncclGroupEnd returns that error, as in NCCL).
// Returns the call's own result.
Status group_add(const InitJob& job, const Status& checked);
Status group_add(const Collective& c, const Status& checked);
// Runs init jobs concurrently (one thread each when there are several); the first failure.
Status run_init_jobs(const InitJob* jobs, size_t n);

}  // namespace pn::cuda::emu::nccl
