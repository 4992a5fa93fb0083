// The emulated NCCL's collectives: all-reduce, broadcast, all-gather, reduce-scatter.
//
// At the call each is checked as NCCL checks it (enqueue.cc ncclEnqueueCheck, argcheck.cc
// ArgsCheck and CudaPtrCheck with NCCL_CHECK_POINTERS=1): a live communicator, root, type and
// reduction op in range (ncclInvalidArgument), and every buffer it will touch inside one
// cudaMalloc allocation of the communicator's device for its whole extent (count x type
// size): a host pointer, a buffer on another device or one that is too short is
// ncclInvalidArgument, naming the buffer and why. A stream of another device makes CUDA's
// launch fail, so NCCL returns ncclUnhandledCudaError. A count of 0 does nothing.
//
// It then runs as device work on its stream (detail::enqueue, When::Now): after the work
// enqueued on that stream before it, hazard-checked with the buffers it declares. Every rank
// copies its chunk into its slot of the rendezvous file, all meet at a barrier, every rank
// reduces (or copies) all slots in rank order itself, and all meet again before the slots
// are reused; buffers larger than a slot go chunk by chunk. The results are therefore
// bit-identical on every rank and from run to run. Reductions follow NCCL's definitions:
// fmax/fmin for floating max/min, and ncclAvg as a sum of inputs premultiplied by 1/nranks
// (floating types) or a sum divided by nranks (integer types).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <type_traits>
#include <vector>

#include "kernels/cuda/emu/device_work.h"
#include "kernels/cuda/emu/emu_internal.h"
#include "kernels/cuda/emu/nccl_emu_internal.h"

namespace pn::cuda::emu::nccl {

// ---- Names and sizes ---------------------------------------------------------------------------

const char* name(Kind k) {
  switch (k) {
    case Kind::AllReduce: return "ncclAllReduce";
    case Kind::Broadcast: return "ncclBroadcast";
    case Kind::AllGather: return "ncclAllGather";
    case Kind::ReduceScatter: return "ncclReduceScatter";
  }
  return "nccl?";
}

const char* type_name(ncclDataType_t t) {
  static const char* const names[] = {"ncclInt8",    "ncclUint8",   "ncclInt32",    "ncclUint32",
                                      "ncclInt64",   "ncclUint64",  "ncclFloat16",  "ncclFloat32",
                                      "ncclFloat64", "ncclBfloat16", "ncclFloat8e4m3", "ncclFloat8e5m2"};
  return t >= 0 && t < ncclNumTypes ? names[t] : "invalid type";
}

size_t type_size(ncclDataType_t t) {
  static const size_t sizes[] = {1, 1, 4, 4, 8, 8, 2, 4, 8, 2, 1, 1};
  return t >= 0 && t < ncclNumTypes ? sizes[t] : 0;
}

namespace {

const char* op_name(int op) {
  static const char* const names[] = {"sum", "prod", "max", "min", "avg"};
  return op >= 0 && op < ncclNumOps ? names[op] : "-";
}

bool reduces(Kind k) { return k == Kind::AllReduce || k == Kind::ReduceScatter; }

}  // namespace

Signature make_signature(const char* what, uint64_t seq, uint64_t count, int datatype, int op, int root) {
  Signature s;
  std::snprintf(s.what, sizeof s.what, "%s", what);
  s.seq = seq;
  s.count = count;
  s.datatype = datatype;
  s.op = op;
  s.root = root;
  return s;
}

std::string describe(const Signature& s) {
  if (!s.what[0]) return "nothing yet";
  std::string d = std::string(s.what) + " #" + std::to_string(s.seq);
  if (s.datatype < 0) return d;
  d += " (" + std::to_string(s.count) + " x " + type_name(static_cast<ncclDataType_t>(s.datatype));
  if (s.op >= 0) d += std::string(", ") + op_name(s.op);
  if (s.root >= 0) d += ", root " + std::to_string(s.root);
  return d + ")";
}

// ---- Checks at the call ---------------------------------------------------------------------------

namespace {

// The device memory a collective touches on this rank (NCCL's sendbuff / recvbuff extents).
std::vector<detail::Access> accesses(const Collective& c) {
  const size_t bytes = c.count * type_size(c.type), n = static_cast<size_t>(c.comm->nranks);
  std::vector<detail::Access> a;
  switch (c.kind) {
    case Kind::AllReduce:
      a.push_back({c.send, bytes, false, "sendbuff"});
      a.push_back({c.recv, bytes, true, "recvbuff"});
      break;
    case Kind::Broadcast:
      if (c.comm->rank == c.root) a.push_back({c.send, bytes, false, "sendbuff"});
      a.push_back({c.recv, bytes, true, "recvbuff"});
      break;
    case Kind::AllGather:
      a.push_back({c.send, bytes, false, "sendbuff"});
      a.push_back({c.recv, bytes * n, true, "recvbuff"});
      break;
    case Kind::ReduceScatter:
      a.push_back({c.send, bytes * n, false, "sendbuff"});
      a.push_back({c.recv, bytes, true, "recvbuff"});
      break;
  }
  return a;
}

// NCCL's CudaPtrCheck (cudaPointerGetAttributes: device memory of the communicator's
// device), then the whole extent inside that allocation (check_accesses).
Status check_buffer(const Collective& c, const detail::Access& a) {
  const std::string call = name(c.kind), dev = std::to_string(c.comm->device);
  const std::string what = a.role + " " + hex(a.ptr) + " (" + std::to_string(a.bytes) + " bytes of " +
                           type_name(c.type) + ")";
  if (!a.ptr) return failure(ncclInvalidArgument, call + ": " + a.role + " is NULL (" + std::to_string(a.bytes) + " bytes expected)");
  cudaPointerAttributes attr{};
  if (cudaPointerGetAttributes(&attr, a.ptr) != cudaSuccess || attr.type != cudaMemoryTypeDevice)
    return failure(ncclInvalidArgument,
                   call + ": " + what + " is host memory, not device memory: it lies in no cudaMalloc allocation. "
                   "NCCL collectives take device buffers on the communicator's device (" + dev + "); reduce host "
                   "data through the host (MPI) communicator");
  if (attr.device != c.comm->device)
    return failure(ncclInvalidArgument, call + ": " + what + " is allocated on device " + std::to_string(attr.device) +
                                            ", which mismatches the communicator's device " + dev + " (rank " +
                                            std::to_string(c.comm->rank) + ")");
  const std::string why = detail::check_accesses(c.comm->device, {a});
  if (why.empty()) return {};
  return failure(ncclInvalidArgument, call + ": " + what + " does not fit its allocation: " + why);
}

Status check_stream(const Collective& c) {
  if (!c.stream || c.stream == cudaStreamLegacy) return {};  // the legacy default stream of the communicator's device
  const std::string call = name(c.kind);
  const int sd = detail::stream_device(c.stream);
  if (sd < 0)
    return failure(ncclUnhandledCudaError, call + ": stream " + hex(c.stream) + " is not a live stream "
                                           "(cudaErrorInvalidResourceHandle)");
  if (sd != c.comm->device)
    return failure(ncclUnhandledCudaError, call + ": stream " + hex(c.stream) + " belongs to device " +
                                               std::to_string(sd) + " but the communicator (rank " +
                                               std::to_string(c.comm->rank) + ") to device " +
                                               std::to_string(c.comm->device) +
                                               ": CUDA refuses a launch on a stream of another device");
  return {};
}

}  // namespace

Status check_collective(const Collective& c) {
  const std::string call = name(c.kind);
  if (std::string why = check_comm(c.comm); !why.empty()) return failure(ncclInvalidArgument, call + ": " + why);
  ncclComm& comm = *c.comm;
  if (comm.async_error != ncclSuccess)
    return failure(comm.async_error, call + ": the communicator failed earlier: " + comm.error_text);
  if (c.kind == Kind::Broadcast && (c.root < 0 || c.root >= comm.nranks))
    return failure(ncclInvalidArgument, call + ": invalid root " + std::to_string(c.root) +
                                            " (root should be in the 0.." + std::to_string(comm.nranks - 1) + " range)");
  if (c.type < 0 || c.type >= ncclNumTypes)
    return failure(ncclInvalidArgument, call + ": invalid type " + std::to_string(static_cast<int>(c.type)));
  if (reduces(c.kind)) {
    if (c.op < 0 || c.op >= ncclNumOps)
      return failure(ncclInvalidArgument, call + ": reduction operation " + std::to_string(static_cast<int>(c.op)) +
                                              " unknown to this communicator");
    const bool emulated = c.type != ncclFloat16 && c.type != ncclBfloat16 && c.type != ncclFloat8e4m3 &&
                          c.type != ncclFloat8e5m2;
    if (!emulated)
      return failure(ncclInvalidArgument, call + ": the emulated NCCL does not reduce " + type_name(c.type) +
                                              " (float32/float64 and the integer types only)");
  }
  if (c.count == 0) return {};
  if (c.count > (size_t{1} << 62) / type_size(c.type) / static_cast<size_t>(comm.nranks))
    return failure(ncclInvalidArgument, call + ": count " + std::to_string(c.count) + " is too large");
  for (const detail::Access& a : accesses(c))
    if (Status s = check_buffer(c, a); !s.ok()) return s;
  return check_stream(c);
}

// ---- Reductions ---------------------------------------------------------------------------------

namespace {

// out[i] = op over ranks r (in rank order) of slot(r)[offset + i], for n elements of T.
template <class T>
void reduce_typed(T* out, const Rendezvous& rv, size_t offset, size_t n, ncclRedOp_t op) {
  const int ranks = rv.nranks();
  auto in = [&](int r) { return reinterpret_cast<const T*>(rv.slot(r) + offset); };
  if constexpr (std::is_floating_point_v<T>) {
    if (op == ncclAvg) {  // NCCL: premultiply each input by 1/nranks, then sum
      const T scale = static_cast<T>(1.0 / ranks);
      for (size_t i = 0; i < n; ++i) out[i] = in(0)[i] * scale;
      for (int r = 1; r < ranks; ++r)
        for (size_t i = 0; i < n; ++i) out[i] += in(r)[i] * scale;
      return;
    }
  }
  using U = std::make_unsigned_t<std::conditional_t<std::is_integral_v<T>, T, int>>;
  auto combine = [op](T a, T b) -> T {
    if constexpr (std::is_integral_v<T>) {  // wrap around as the GPU does, without C++ overflow
      if (op == ncclSum || op == ncclAvg) return static_cast<T>(static_cast<U>(a) + static_cast<U>(b));
      if (op == ncclProd) return static_cast<T>(static_cast<U>(a) * static_cast<U>(b));
      return op == ncclMax ? std::max(a, b) : std::min(a, b);
    } else {
      if (op == ncclSum) return a + b;
      if (op == ncclProd) return a * b;
      return op == ncclMax ? std::fmax(a, b) : std::fmin(a, b);
    }
  };
  std::memcpy(out, in(0), n * sizeof(T));
  for (int r = 1; r < ranks; ++r) {
    const T* x = in(r);
    for (size_t i = 0; i < n; ++i) out[i] = combine(out[i], x[i]);
  }
  if constexpr (std::is_integral_v<T>)
    if (op == ncclAvg)
      for (size_t i = 0; i < n; ++i) out[i] = static_cast<T>(out[i] / static_cast<T>(ranks));
}

void reduce(const Collective& c, void* out, size_t offset, size_t n) {
  const Rendezvous& rv = *c.comm->rv;
  switch (c.type) {
    case ncclInt8: return reduce_typed(static_cast<int8_t*>(out), rv, offset, n, c.op);
    case ncclUint8: return reduce_typed(static_cast<uint8_t*>(out), rv, offset, n, c.op);
    case ncclInt32: return reduce_typed(static_cast<int32_t*>(out), rv, offset, n, c.op);
    case ncclUint32: return reduce_typed(static_cast<uint32_t*>(out), rv, offset, n, c.op);
    case ncclInt64: return reduce_typed(static_cast<int64_t*>(out), rv, offset, n, c.op);
    case ncclUint64: return reduce_typed(static_cast<uint64_t*>(out), rv, offset, n, c.op);
    case ncclFloat32: return reduce_typed(static_cast<float*>(out), rv, offset, n, c.op);
    case ncclFloat64: return reduce_typed(static_cast<double*>(out), rv, offset, n, c.op);
    default: return;  // refused by check_collective
  }
}

// ---- The exchanges ---------------------------------------------------------------------------

// The first barrier of a collective: all ranks must have called the same one.
Status meet(Rendezvous& rv, const Signature& sig, bool first) {
  if (Status s = rv.barrier(sig); !s.ok()) return s;
  if (!first) return {};
  const std::string differ = rv.mismatch(sig);
  if (differ.empty()) return {};
  return failure(ncclInvalidUsage, std::string(sig.what) + ": rank " + std::to_string(rv.rank()) + " called " +
                                       describe(sig) + " but " + differ +
                                       " (every rank must call the same collectives in the same order)");
}

Status all_reduce(const Collective& c, const Signature& sig) {
  Rendezvous& rv = *c.comm->rv;
  const size_t es = type_size(c.type), bytes = c.count * es, chunk = rv.slot_bytes() / es * es;
  for (size_t off = 0; off < bytes; off += chunk) {
    const size_t len = std::min(chunk, bytes - off);
    std::memcpy(rv.slot(rv.rank()), static_cast<const char*>(c.send) + off, len);
    if (Status s = meet(rv, sig, off == 0); !s.ok()) return s;
    reduce(c, static_cast<char*>(c.recv) + off, 0, len / es);
    if (Status s = rv.barrier(sig); !s.ok()) return s;
  }
  return {};
}

Status broadcast(const Collective& c, const Signature& sig) {
  Rendezvous& rv = *c.comm->rv;
  const size_t bytes = c.count * type_size(c.type), chunk = rv.slot_bytes();
  for (size_t off = 0; off < bytes; off += chunk) {
    const size_t len = std::min(chunk, bytes - off);
    if (rv.rank() == c.root) std::memcpy(rv.slot(c.root), static_cast<const char*>(c.send) + off, len);
    if (Status s = meet(rv, sig, off == 0); !s.ok()) return s;
    std::memcpy(static_cast<char*>(c.recv) + off, rv.slot(c.root), len);
    if (Status s = rv.barrier(sig); !s.ok()) return s;
  }
  return {};
}

Status all_gather(const Collective& c, const Signature& sig) {
  Rendezvous& rv = *c.comm->rv;
  const size_t per_rank = c.count * type_size(c.type), chunk = rv.slot_bytes();
  for (size_t off = 0; off < per_rank; off += chunk) {
    const size_t len = std::min(chunk, per_rank - off);
    std::memcpy(rv.slot(rv.rank()), static_cast<const char*>(c.send) + off, len);
    if (Status s = meet(rv, sig, off == 0); !s.ok()) return s;
    for (int r = 0; r < rv.nranks(); ++r)
      std::memcpy(static_cast<char*>(c.recv) + static_cast<size_t>(r) * per_rank + off, rv.slot(r), len);
    if (Status s = rv.barrier(sig); !s.ok()) return s;
  }
  return {};
}

// Each slot holds, per chunk, the chunk of every rank's block: rank q's block b at b * chunk.
Status reduce_scatter(const Collective& c, const Signature& sig) {
  Rendezvous& rv = *c.comm->rv;
  const size_t es = type_size(c.type), per_rank = c.count * es, n = static_cast<size_t>(rv.nranks());
  const size_t chunk = rv.slot_bytes() / n / es * es;
  for (size_t off = 0; off < per_rank; off += chunk) {
    const size_t len = std::min(chunk, per_rank - off);
    for (size_t b = 0; b < n; ++b)
      std::memcpy(rv.slot(rv.rank()) + b * chunk, static_cast<const char*>(c.send) + b * per_rank + off, len);
    if (Status s = meet(rv, sig, off == 0); !s.ok()) return s;
    reduce(c, static_cast<char*>(c.recv) + off, static_cast<size_t>(rv.rank()) * chunk, len / es);
    if (Status s = rv.barrier(sig); !s.ok()) return s;
  }
  return {};
}

Status exchange(const Collective& c, const Signature& sig) {
  switch (c.kind) {
    case Kind::AllReduce: return all_reduce(c, sig);
    case Kind::Broadcast: return broadcast(c, sig);
    case Kind::AllGather: return all_gather(c, sig);
    case Kind::ReduceScatter: return reduce_scatter(c, sig);
  }
  return failure(ncclInternalError, "unknown collective");
}

}  // namespace

Status run_collective(const Collective& c) {
  if (c.count == 0) return {};
  ncclComm& comm = *c.comm;
  const std::string call = name(c.kind);
  const Signature sig = make_signature(call.c_str(), ++comm.seq, c.count, c.type, reduces(c.kind) ? c.op : -1,
                                       c.kind == Kind::Broadcast ? c.root : -1);
  Status result;
  bool ran = false;
  detail::OpBody body = [&](std::string&) {
    ran = true;
    result = exchange(c, sig);
    return cudaSuccess;  // a failed exchange ends the NCCL kernel early; the stream itself is fine
  };
  int old_device = comm.device;
  (void)cudaGetDevice(&old_device);
  if (old_device != comm.device) (void)cudaSetDevice(comm.device);  // the null stream is the comm's device's
  const cudaError_t e = detail::enqueue(c.stream, call, accesses(c), body, detail::When::Now);
  if (old_device != comm.device) (void)cudaSetDevice(old_device);
  if (!ran) {  // this rank never reached the rendezvous: its peers must not wait for it
    result = failure(ncclUnhandledCudaError, call + ": the stream refused it: " + last_error_detail());
    comm.rv->fail_all("rank " + std::to_string(comm.rank) + " could not run " + describe(sig) + ": " + result.why);
  }
  if (!result.ok()) {
    comm.async_error = result.code;
    comm.error_text = result.why;
    return result;
  }
  if (e != cudaSuccess)  // it ran, but the stream checker objects (a cross-stream hazard)
    return failure(ncclUnhandledCudaError, call + ": " + last_error_detail());
  return {};
}

}  // namespace pn::cuda::emu::nccl

namespace nccl = pn::cuda::emu::nccl;

namespace {

ncclResult_t submit(const nccl::Collective& c) {
  const nccl::Status checked = nccl::check_collective(c);
  if (nccl::in_group()) return nccl::report(nccl::group_add(c, checked));
  if (!checked.ok()) return nccl::report(checked);
  return nccl::report(nccl::run_collective(c));
}

nccl::Collective make(nccl::Kind k, const void* send, void* recv, size_t count, ncclDataType_t type, ncclRedOp_t op,
                      int root, ncclComm_t comm, cudaStream_t stream) {
  nccl::Collective c;
  c.kind = k;
  c.send = send;
  c.recv = recv;
  c.count = count;
  c.type = type;
  c.op = op;
  c.root = root;
  c.comm = comm;
  c.stream = stream;
  return c;
}

}  // namespace

ncclResult_t ncclAllReduce(const void* sendbuff, void* recvbuff, size_t count, ncclDataType_t datatype,
                           ncclRedOp_t op, ncclComm_t comm, cudaStream_t stream) {
  return submit(make(nccl::Kind::AllReduce, sendbuff, recvbuff, count, datatype, op, 0, comm, stream));
}

ncclResult_t ncclBroadcast(const void* sendbuff, void* recvbuff, size_t count, ncclDataType_t datatype, int root,
                           ncclComm_t comm, cudaStream_t stream) {
  return submit(make(nccl::Kind::Broadcast, sendbuff, recvbuff, count, datatype, ncclSum, root, comm, stream));
}

ncclResult_t ncclAllGather(const void* sendbuff, void* recvbuff, size_t sendcount, ncclDataType_t datatype,
                           ncclComm_t comm, cudaStream_t stream) {
  return submit(make(nccl::Kind::AllGather, sendbuff, recvbuff, sendcount, datatype, ncclSum, 0, comm, stream));
}

ncclResult_t ncclReduceScatter(const void* sendbuff, void* recvbuff, size_t recvcount, ncclDataType_t datatype,
                               ncclRedOp_t op, ncclComm_t comm, cudaStream_t stream) {
  return submit(make(nccl::Kind::ReduceScatter, sendbuff, recvbuff, recvcount, datatype, op, 0, comm, stream));
}
