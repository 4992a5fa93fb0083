// The emulated NCCL's public face: what code sees instead of <nccl.h> when it is compiled with
// PN_CUDA_EMU (kernels/cuda/nccl_api.h picks it). It declares exactly the part of NCCL that
// Penumbra calls, with the names, types and numeric values of the installed nccl.h (2.28.9),
// so that the same wrapper source (nn/nccl_communicator.cpp) builds against either.
//
// Ranks meet through a shared-memory file (one per communicator): ranks in different
// processes on one host (under mpirun) and ranks on several emulated devices of one process
// (ncclCommInitAll, group calls, one thread per device) alike. Every collective is device
// work on its stream (kernels/cuda/emu/device_work.h). Arguments are checked as NCCL checks
// them (with NCCL_CHECK_POINTERS=1, and more strictly: a buffer must lie inside one
// cudaMalloc allocation of the communicator's device for its whole extent); a failure
// returns NCCL's status and explains itself through ncclGetLastError and
// pn::cuda::emu::last_error_detail(). See kernels/cuda/README.md, "Emulated NCCL".
//
// The functions have C++ linkage (unlike libnccl's C symbols), so a program can never bind
// one flavour's call to the other's library.
#pragma once
#if !defined(PN_CUDA_EMU) || defined(__CUDACC__)
#error "nccl_emu.h is for host-compiler builds with PN_CUDA_EMU (include kernels/cuda/nccl_api.h)"
#endif

#include <limits.h>
#include <stddef.h>

#include "kernels/cuda/emu/cuda_emu.h"

#define NCCL_MAJOR 2
#define NCCL_MINOR 28
#define NCCL_PATCH 9
#define NCCL_SUFFIX ""
#define NCCL_VERSION_CODE 22809
#define NCCL_VERSION(X, Y, Z) (((X) <= 2 && (Y) <= 8) ? (X) * 1000 + (Y) * 100 + (Z) : (X) * 10000 + (Y) * 100 + (Z))

typedef struct ncclComm* ncclComm_t;
#define NCCL_COMM_NULL NULL

#define NCCL_UNIQUE_ID_BYTES 128
typedef struct {
  char internal[NCCL_UNIQUE_ID_BYTES];
} ncclUniqueId;

typedef enum {
  ncclSuccess = 0,
  ncclUnhandledCudaError = 1,
  ncclSystemError = 2,
  ncclInternalError = 3,
  ncclInvalidArgument = 4,
  ncclInvalidUsage = 5,
  ncclRemoteError = 6,
  ncclInProgress = 7,
  ncclNumResults = 8
} ncclResult_t;

typedef enum { ncclNumOps_dummy = 5 } ncclRedOp_dummy_t;
typedef enum {
  ncclSum = 0,
  ncclProd = 1,
  ncclMax = 2,
  ncclMin = 3,
  ncclAvg = 4,
  ncclNumOps = 5,
  ncclMaxRedOp = 0x7fffffff >> (32 - 8 * sizeof(ncclRedOp_dummy_t))
} ncclRedOp_t;

// Reductions are emulated for the 8 integer and float32/float64 types; the 16- and 8-bit
// floating types move (broadcast, all-gather) but are not reduced (ncclInvalidArgument).
typedef enum {
  ncclInt8 = 0,
  ncclChar = 0,
  ncclUint8 = 1,
  ncclInt32 = 2,
  ncclInt = 2,
  ncclUint32 = 3,
  ncclInt64 = 4,
  ncclUint64 = 5,
  ncclFloat16 = 6,
  ncclHalf = 6,
  ncclFloat32 = 7,
  ncclFloat = 7,
  ncclFloat64 = 8,
  ncclDouble = 8,
  ncclBfloat16 = 9,
  ncclFloat8e4m3 = 10,
  ncclFloat8e5m2 = 11,
  ncclNumTypes = 12
} ncclDataType_t;

// ---- Versions and errors (nccl_emu_comm.cpp) --------------------------------------------
ncclResult_t ncclGetVersion(int* version);
const char* ncclGetErrorString(ncclResult_t result);
// The explanation of the calling thread's last failed NCCL call (libnccl keeps one per
// process; per thread is what a program driving devices from several threads needs).
const char* ncclGetLastError(ncclComm_t comm);

// ---- Communicators (nccl_emu_comm.cpp) ----------------------------------------------------
ncclResult_t ncclGetUniqueId(ncclUniqueId* uniqueId);
// Blocks until all nranks ranks have joined (bounded by PN_NCCL_EMU_TIMEOUT_S), unless
// called between ncclGroupStart and ncclGroupEnd. The rank's device is the calling thread's
// current device.
ncclResult_t ncclCommInitRank(ncclComm_t* comm, int nranks, ncclUniqueId commId, int rank);
ncclResult_t ncclCommInitAll(ncclComm_t* comm, int ndev, const int* devlist);
ncclResult_t ncclCommDestroy(ncclComm_t comm);
// Frees the communicator and makes every peer's pending and later collectives fail at once
// (ncclRemoteError) instead of waiting.
ncclResult_t ncclCommAbort(ncclComm_t comm);
ncclResult_t ncclCommGetAsyncError(ncclComm_t comm, ncclResult_t* asyncError);
ncclResult_t ncclCommCount(const ncclComm_t comm, int* count);
ncclResult_t ncclCommCuDevice(const ncclComm_t comm, int* device);
ncclResult_t ncclCommUserRank(const ncclComm_t comm, int* rank);

// ---- Collectives (nccl_emu_collectives.cpp) -----------------------------------------------
// Each is device work on `stream`, run after the work enqueued on it before; the call
// returns when every rank has taken part (the emulator runs collectives at the call).
ncclResult_t ncclAllReduce(const void* sendbuff, void* recvbuff, size_t count, ncclDataType_t datatype,
                           ncclRedOp_t op, ncclComm_t comm, cudaStream_t stream);
ncclResult_t ncclBroadcast(const void* sendbuff, void* recvbuff, size_t count, ncclDataType_t datatype, int root,
                           ncclComm_t comm, cudaStream_t stream);
ncclResult_t ncclAllGather(const void* sendbuff, void* recvbuff, size_t sendcount, ncclDataType_t datatype,
                           ncclComm_t comm, cudaStream_t stream);
ncclResult_t ncclReduceScatter(const void* sendbuff, void* recvbuff, size_t recvcount, ncclDataType_t datatype,
                               ncclRedOp_t op, ncclComm_t comm, cudaStream_t stream);

// ---- Group calls (nccl_emu_group.cpp) -------------------------------------------------------
// Between them, ncclCommInitRank calls (or collectives, not both) are checked and recorded;
// ncclGroupEnd runs them, each communicator's share on a thread of its own when the group
// spans several, so that one thread can drive every device of a process.
ncclResult_t ncclGroupStart();
ncclResult_t ncclGroupEnd();
