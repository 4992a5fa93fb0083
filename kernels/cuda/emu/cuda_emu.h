// The CUDA emulator's public face: what a .cu file sees instead of <cuda_runtime.h> when it
// is compiled by the host compiler with PN_CUDA_EMU (kernels/cuda/runtime.h picks it).
// It provides the CUDA keywords, dim3 and the index built-ins, the runtime API subset our
// host code uses (device memory is host memory), and the device intrinsics: barriers, warp
// shuffles and votes, atomics. scheduler.cpp runs a launch: blocks one after another, each
// thread of a block a fiber, switched at every barrier and warp collective; memory.cpp
// implements the runtime API. Only what CUDA itself offers is emulated, so that code which
// passes here also compiles with nvcc.
#pragma once
#if !defined(PN_CUDA_EMU) || defined(__CUDACC__)
#error "cuda_emu.h is for host-compiler builds with PN_CUDA_EMU (include kernels/cuda/runtime.h)"
#endif

#include <math.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

// ---- Keywords ------------------------------------------------------------------------------
// Qualifiers vanish; __shared__ becomes function-local static storage (shared by all threads
// of the running block, since blocks run one at a time). Prefer PN_SHARED (runtime.h): it is
// poisoned per block and bounds-checked by ASan, which a static cannot be.
#define __global__
#define __device__
#define __host__
#define __constant__
#define __forceinline__ inline
// No __noinline__: libstdc++ spells __attribute__((__noinline__)) (<memory>), which such a
// macro breaks whenever a standard header follows this one; no kernel here uses it.
#define __shared__ static
#define __launch_bounds__(...)
#define __align__(n) alignas(n)

// ---- Index types and built-in variables ---------------------------------------------------
struct uint3 {
  unsigned x, y, z;
};
struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned vx = 1, unsigned vy = 1, unsigned vz = 1) : x(vx), y(vy), z(vz) {}
  constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}  // NOLINT: implicit, as in CUDA
};
// One OS thread runs one emulated thread at a time; the scheduler stores the running
// thread's indices here at every switch, so each emulated thread sees its own. Defined here
// (inline, constant-initialised) rather than declared extern: every use then compiles to a
// plain thread-local load, without the call C++ makes through an extern thread_local's
// wrapper in case it needs dynamic initialisation (a kernel's grid-stride loop reads these
// at every step).
inline thread_local uint3 threadIdx{0, 0, 0};
inline thread_local uint3 blockIdx{0, 0, 0};
inline thread_local dim3 blockDim{1, 1, 1};
inline thread_local dim3 gridDim{1, 1, 1};
constexpr int warpSize = 32;

// ---- Runtime API types --------------------------------------------------------------------
// Error numbers are CUDA's, so that messages read the same in both builds.
enum cudaError_t : int {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorInvalidDevicePointer = 17,
  cudaErrorInvalidMemcpyDirection = 21,
  cudaErrorNoDevice = 100,
  cudaErrorInvalidDevice = 101,
  cudaErrorInvalidResourceHandle = 400,
  cudaErrorNotReady = 600,
  cudaErrorIllegalAddress = 700,
  cudaErrorAssert = 710,
  cudaErrorLaunchFailure = 719,
  cudaErrorNotSupported = 801,
  cudaErrorUnknown = 999,
};
using cudaError = cudaError_t;

enum cudaMemcpyKind : int {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4,
};

enum cudaDeviceAttr : int {
  cudaDevAttrMaxThreadsPerBlock = 1,
  cudaDevAttrMaxSharedMemoryPerBlock = 8,
  cudaDevAttrWarpSize = 10,
  cudaDevAttrMultiProcessorCount = 16,
  cudaDevAttrComputeCapabilityMajor = 75,
  cudaDevAttrComputeCapabilityMinor = 76,
};

enum cudaMemoryType : int {
  cudaMemoryTypeUnregistered = 0,
  cudaMemoryTypeHost = 1,
  cudaMemoryTypeDevice = 2,
  cudaMemoryTypeManaged = 3,
};
struct cudaPointerAttributes {
  cudaMemoryType type;
  int device;
  void* devicePointer;
  void* hostPointer;
};

// The fields of cudaDeviceProp that Penumbra reads (same names as CUDA's).
struct cudaDeviceProp {
  char name[256];
  size_t totalGlobalMem;
  size_t sharedMemPerBlock;
  int warpSize;
  int maxThreadsPerBlock;
  int major, minor;
  int multiProcessorCount;
};

struct CUstream_st;
using cudaStream_t = CUstream_st*;
struct CUevent_st;
using cudaEvent_t = CUevent_st*;
// The legacy default stream can be named explicitly; the per-thread default stream is not emulated.
#define cudaStreamLegacy (reinterpret_cast<cudaStream_t>(0x1))
#define cudaStreamDefault 0x00u
#define cudaStreamNonBlocking 0x01u
#define cudaEventDefault 0x00u
#define cudaEventBlockingSync 0x01u
#define cudaEventDisableTiming 0x02u

// ---- Runtime API (memory.cpp) -------------------------------------------------------------
cudaError_t cudaMalloc(void** p, size_t bytes);
cudaError_t cudaFree(void* p);
cudaError_t cudaMallocAsync(void** p, size_t bytes, cudaStream_t s);
cudaError_t cudaFreeAsync(void* p, cudaStream_t s);
cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t s = nullptr);
cudaError_t cudaMemset(void* p, int value, size_t bytes);
cudaError_t cudaMemsetAsync(void* p, int value, size_t bytes, cudaStream_t s = nullptr);
cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes);
cudaError_t cudaPointerGetAttributes(cudaPointerAttributes* attr, const void* p);
// Streams and events (streams.cpp).
cudaError_t cudaStreamCreate(cudaStream_t* s);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned flags);
cudaError_t cudaStreamGetFlags(cudaStream_t s, unsigned* flags);
cudaError_t cudaStreamDestroy(cudaStream_t s);
cudaError_t cudaStreamSynchronize(cudaStream_t s);
cudaError_t cudaStreamQuery(cudaStream_t s);
cudaError_t cudaStreamWaitEvent(cudaStream_t s, cudaEvent_t e, unsigned flags = 0);
cudaError_t cudaEventCreate(cudaEvent_t* e);
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* e, unsigned flags);
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s = nullptr);
cudaError_t cudaEventQuery(cudaEvent_t e);
cudaError_t cudaEventSynchronize(cudaEvent_t e);
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end);
cudaError_t cudaEventDestroy(cudaEvent_t e);
cudaError_t cudaDeviceSynchronize();
// Devices (devices.cpp).
cudaError_t cudaGetDeviceCount(int* n);
cudaError_t cudaGetDevice(int* d);
cudaError_t cudaSetDevice(int d);
cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device);
cudaError_t cudaDriverGetVersion(int* version);
cudaError_t cudaRuntimeGetVersion(int* version);
cudaError_t cudaGetLastError();
cudaError_t cudaPeekAtLastError();
const char* cudaGetErrorName(cudaError_t e);
const char* cudaGetErrorString(cudaError_t e);

template <class T>
cudaError_t cudaMalloc(T** p, size_t bytes) {
  return cudaMalloc(reinterpret_cast<void**>(p), bytes);
}

// ---- The emulator's own interface -----------------------------------------------------------
namespace pn::cuda::emu {

// The order in which runnable threads (and blocks) are resumed. A missing barrier shows
// only when a reader runs before the writer it should have waited for: Forward exposes
// readers of higher-numbered threads, Reverse readers of lower-numbered ones, Shuffle
// (a fresh seeded permutation per block and round; the default) both, with high probability.
enum class Schedule { Forward, Reverse, Shuffle };
// Process-wide; the initial value comes from PN_CUDA_EMU_SCHEDULE=forward|reverse|shuffle
// and PN_CUDA_EMU_SEED.
void set_schedule(Schedule s, uint64_t seed = 1);
Schedule schedule();
uint64_t schedule_seed();
const char* schedule_name(Schedule s);

// Sets a schedule for one scope (tests run every kernel under each).
class ScopedSchedule {
 public:
  explicit ScopedSchedule(Schedule s, uint64_t seed = 1) : old_(schedule()), old_seed_(schedule_seed()) {
    set_schedule(s, seed);
  }
  ~ScopedSchedule() { set_schedule(old_, old_seed_); }
  ScopedSchedule(const ScopedSchedule&) = delete;
  ScopedSchedule& operator=(const ScopedSchedule&) = delete;

 private:
  Schedule old_;
  uint64_t old_seed_;
};

// Whether device allocations carry guard bytes that are checked after every launch (builds
// without AddressSanitizer; with it, ASan's own redzones catch the access as it happens).
bool guard_bytes_enabled();
// The emulator's explanation of the last failed call or launch ("" if none).
const char* last_error_detail();

// ---- Streams: when queued device work runs, and the cross-stream hazard checker ----------
// Eager: each op runs as it is enqueued (program order). Deferred: ops run only when
// something waits for them (a synchronisation, a blocking copy, an event query). Shuffle
// (the default): at each enqueue a seeded random number of pending ops of random streams
// run, so work that nothing orders runs out of program order. Initial values come from
// PN_CUDA_EMU_STREAMS=eager|deferred|shuffle (seed PN_CUDA_EMU_SEED).
enum class StreamPolicy { Eager, Deferred, Shuffle };
void set_stream_policy(StreamPolicy p, uint64_t seed = 1);
StreamPolicy stream_policy();
uint64_t stream_seed();
const char* stream_policy_name(StreamPolicy p);

class ScopedStreamPolicy {
 public:
  explicit ScopedStreamPolicy(StreamPolicy p, uint64_t seed = 1) : old_(stream_policy()), old_seed_(stream_seed()) {
    set_stream_policy(p, seed);
  }
  ~ScopedStreamPolicy() { set_stream_policy(old_, old_seed_); }
  ScopedStreamPolicy(const ScopedStreamPolicy&) = delete;
  ScopedStreamPolicy& operator=(const ScopedStreamPolicy&) = delete;

 private:
  StreamPolicy old_;
  uint64_t old_seed_;
};

// What a hazard (device memory touched on one stream, last written or read on another
// without an event or synchronisation in between) does: Error (the default) fails the op
// that found it, reported like any asynchronous error; Warn prints it to stderr once per
// pair of ops and goes on; Off. Initial value: PN_CUDA_EMU_HAZARDS=error|warn|off.
enum class HazardMode { Error, Warn, Off };
void set_hazard_mode(HazardMode m);
HazardMode hazard_mode();

// Counters since process start (or reset_stats), for tests and `penumbra info`.
struct Stats {
  uint64_t ops_enqueued = 0;
  uint64_t ops_run = 0;
  uint64_t ops_run_out_of_order = 0;  // run while an op enqueued earlier on another stream was pending
  uint64_t hazards = 0;
};
Stats stats();
void reset_stats();

// Emulated devices: PN_CUDA_EMU_DEVICES (0 to 16, default 1; 0 is a machine without a GPU),
// each with PN_CUDA_EMU_MEMORY_MB of memory (default 8192).
int device_count();

// ---- Kernel launches ------------------------------------------------------------------------
// A kernel's pointer argument: the emulator checks it points into device memory of the
// launching device (or is null) and counts it as read (pointer to const) or read and
// written, for the hazard checker.
struct PointerArg {
  const void* ptr;
  bool write;
  int index;
};
using ThreadBody = void (*)(void* ctx);
// Where a launch is written (kernels/cuda/launch.h fills it from the call): the host function,
// file and line, for the memory-traffic profile's labels (profile.h). Any part may be null / 0.
struct LaunchSite {
  const char* function = nullptr;
  const char* file = nullptr;
  int line = 0;
};
// Queues a launch of body(ctx) over the grid on `stream` as device work (device_work.h);
// `ctx` is kept alive until it has run. Configuration, stream and pointer errors are
// returned at once; errors of the kernel itself are asynchronous.
cudaError_t submit_grid(std::string what, dim3 grid, dim3 block, size_t shared_bytes, cudaStream_t stream,
                        ThreadBody body, std::shared_ptr<void> ctx, std::vector<PointerArg> pointers,
                        LaunchSite site = {});

template <class T>
void note_pointer(std::vector<PointerArg>& out, int index, const T& v) {
  if constexpr (std::is_pointer_v<T>)
    out.push_back(PointerArg{static_cast<const void*>(v), !std::is_const_v<std::remove_pointer_t<T>>, index});
  else
    (void)out, (void)index, (void)v;
}
template <class Tuple, size_t... I>
std::vector<PointerArg> pointer_args(const Tuple& t, std::index_sequence<I...>) {
  std::vector<PointerArg> out;
  (note_pointer(out, static_cast<int>(I), std::get<I>(t)), ...);
  return out;
}

// Launches a kernel: converts the arguments to the kernel's parameter types once, and each
// emulated thread calls the kernel with its own copies (CUDA passes parameters by value).
// `what` names the launch in messages, `site` where it is written (for the profile).
template <class... P, class... A>
cudaError_t launch(std::string what, LaunchSite site, void (*kernel)(P...), dim3 grid, dim3 block,
                   size_t shared_bytes, cudaStream_t stream, A&&... args) {
  static_assert(sizeof...(P) == sizeof...(A), "kernel launched with the wrong number of arguments");
  struct Ctx {
    void (*kernel)(P...);
    std::tuple<std::decay_t<P>...> params;
  };
  auto ctx = std::make_shared<Ctx>(Ctx{kernel, std::tuple<std::decay_t<P>...>(std::forward<A>(args)...)});
  auto pointers = pointer_args(ctx->params, std::index_sequence_for<P...>{});
  ThreadBody body = [](void* c) {
    auto* x = static_cast<Ctx*>(c);
    std::apply(x->kernel, x->params);
  };
  return submit_grid(std::move(what), grid, block, shared_bytes, stream, body, std::move(ctx), std::move(pointers),
                     site);
}

// Device-side services (scheduler.cpp), callable only from a running kernel.
void* shared_alloc(const void* key, size_t bytes, size_t align, const char* name);
void* dynamic_shared();
void sync_block();
[[noreturn]] void fail(const char* what);  // aborts the launch with cudaErrorLaunchFailure

enum class WarpOp : uint8_t { Sync, Shfl, ShflUp, ShflDown, ShflXor, Ballot, Any, All, Wmma };
// A warp collective: waits until every lane named in mask has reached one (the same op and
// mask), then returns this lane's result: the source lane's value bits for shuffles, the
// ballot for votes. A lane read that is outside the mask or the block gives poison bits.
// Wmma: the emulated warp matrix functions' meeting (emu/wmma_emu.h); returns lane 0's value.
uint64_t warp_collective(WarpOp op, unsigned mask, uint64_t value, int arg, int width);
unsigned active_mask();

template <class A>
A& block_shared(const void* key, const char* name) {
  return *static_cast<A*>(shared_alloc(key, sizeof(A), alignof(A), name));
}

template <class T>
T shuffle(WarpOp op, unsigned mask, T var, int arg, int width) {
  static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= 8, "shuffles move at most 8 bytes");
  uint64_t bits = 0;
  std::memcpy(&bits, &var, sizeof(T));
  bits = warp_collective(op, mask, bits, arg, width);
  T out;
  std::memcpy(&out, &bits, sizeof(T));
  return out;
}

template <class T>
struct identity { using type = T; };
template <class T>
using nondeduced_t = typename identity<T>::type;
template <class T, class... U>
inline constexpr bool one_of_v = (std::is_same_v<T, U> || ...);

}  // namespace pn::cuda::emu

#include "kernels/cuda/emu/profile.h"

// ---- Device intrinsics --------------------------------------------------------------------
inline void __syncthreads() { pn::cuda::emu::sync_block(); }
inline void __syncwarp(unsigned mask = 0xffffffffu) {
  pn::cuda::emu::warp_collective(pn::cuda::emu::WarpOp::Sync, mask, 0, 0, warpSize);
}
inline void __threadfence() {}
inline void __threadfence_block() {}
[[noreturn]] inline void __trap() { pn::cuda::emu::fail("__trap() called"); }
inline unsigned __activemask() { return pn::cuda::emu::active_mask(); }

template <class T>
T __shfl_sync(unsigned mask, T var, int src_lane, int width = warpSize) {
  return pn::cuda::emu::shuffle(pn::cuda::emu::WarpOp::Shfl, mask, var, src_lane, width);
}
template <class T>
T __shfl_up_sync(unsigned mask, T var, unsigned delta, int width = warpSize) {
  return pn::cuda::emu::shuffle(pn::cuda::emu::WarpOp::ShflUp, mask, var, static_cast<int>(delta), width);
}
template <class T>
T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = warpSize) {
  return pn::cuda::emu::shuffle(pn::cuda::emu::WarpOp::ShflDown, mask, var, static_cast<int>(delta), width);
}
template <class T>
T __shfl_xor_sync(unsigned mask, T var, int lane_mask, int width = warpSize) {
  return pn::cuda::emu::shuffle(pn::cuda::emu::WarpOp::ShflXor, mask, var, lane_mask, width);
}
inline unsigned __ballot_sync(unsigned mask, int pred) {
  return static_cast<unsigned>(
      pn::cuda::emu::warp_collective(pn::cuda::emu::WarpOp::Ballot, mask, pred != 0, 0, warpSize));
}
inline int __any_sync(unsigned mask, int pred) {
  return static_cast<int>(pn::cuda::emu::warp_collective(pn::cuda::emu::WarpOp::Any, mask, pred != 0, 0, warpSize));
}
inline int __all_sync(unsigned mask, int pred) {
  return static_cast<int>(pn::cuda::emu::warp_collective(pn::cuda::emu::WarpOp::All, mask, pred != 0, 0, warpSize));
}

inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz(static_cast<unsigned>(x)); }
template <class T>
T __ldg(const T* p) { return *p; }
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline double rsqrt(double x) { return 1.0 / sqrt(x); }
inline float __expf(float x) { return expf(x); }
inline float __logf(float x) { return logf(x); }
inline float __fdividef(float a, float b) { return a / b; }

// Atomics: emulated threads never run concurrently (fibers of one OS thread, one launch at
// a time), so a plain read-modify-write is atomic. Loads and stores go through memcpy so
// that CAS loops over reinterpreted floats do not break C++ aliasing rules. The overload
// sets are CUDA's (no float atomicMax there: kernels/cuda/device.h builds it from atomicCAS).
namespace pn::cuda::emu {
template <class T, class F>
T atomic_rmw(T* p, F f) {
  T old;
  std::memcpy(&old, p, sizeof(T));
  const T updated = f(old);
  std::memcpy(p, &updated, sizeof(T));
  return old;
}
}  // namespace pn::cuda::emu
#define PN_EMU_ATOMIC(name, expr, ...)                                                          \
  template <class T, class = std::enable_if_t<pn::cuda::emu::one_of_v<T, __VA_ARGS__>>>       \
  T name(T* p, pn::cuda::emu::nondeduced_t<T> v) {                                           \
    return pn::cuda::emu::atomic_rmw(p, [v](T old) -> T { return (expr); });                 \
  }
PN_EMU_ATOMIC(atomicAdd, old + v, int, unsigned, unsigned long long, float, double)
PN_EMU_ATOMIC(atomicSub, old - v, int, unsigned)
PN_EMU_ATOMIC(atomicExch, v, int, unsigned, unsigned long long, float)
PN_EMU_ATOMIC(atomicMax, old > v ? old : v, int, unsigned, long long, unsigned long long)
PN_EMU_ATOMIC(atomicMin, old < v ? old : v, int, unsigned, long long, unsigned long long)
PN_EMU_ATOMIC(atomicAnd, old & v, int, unsigned, unsigned long long)
PN_EMU_ATOMIC(atomicOr, old | v, int, unsigned, unsigned long long)
PN_EMU_ATOMIC(atomicXor, old ^ v, int, unsigned, unsigned long long)
#undef PN_EMU_ATOMIC

template <class T, class = std::enable_if_t<pn::cuda::emu::one_of_v<T, int, unsigned, unsigned long long, unsigned short>>>
T atomicCAS(T* p, pn::cuda::emu::nondeduced_t<T> compare, pn::cuda::emu::nondeduced_t<T> v) {
  return pn::cuda::emu::atomic_rmw(p, [compare, v](T old) -> T { return old == compare ? v : old; });
}

// Reinterpretations used by CAS loops over floating-point values.
inline int __float_as_int(float x) { int i; std::memcpy(&i, &x, 4); return i; }
inline float __int_as_float(int i) { float x; std::memcpy(&x, &i, 4); return x; }
inline unsigned __float_as_uint(float x) { unsigned i; std::memcpy(&i, &x, 4); return i; }
inline float __uint_as_float(unsigned i) { float x; std::memcpy(&x, &i, 4); return x; }
inline long long __double_as_longlong(double x) { long long i; std::memcpy(&i, &x, 8); return i; }
inline double __longlong_as_double(long long i) { double x; std::memcpy(&x, &i, 8); return x; }

// ==== Stream-ordered memory pools (mempool.cpp) ==============================================
// The part of the pool API the cuDNN wrapper uses (kernels/cuda/dnn.cpp keeps workspace
// memory in the pool: release threshold UINT64_MAX). One default pool per device; its
// attributes are stored and read back with the runtime's rules (values by pointer: uint64
// for the memory attributes, int for the reuse flags). The emulated cudaMallocAsync does
// not cache, so the usage attributes read 0.
struct CUmemPoolHandle_st;
using cudaMemPool_t = CUmemPoolHandle_st*;

enum cudaMemPoolAttr : int {
  cudaMemPoolReuseFollowEventDependencies = 0x1,
  cudaMemPoolReuseAllowOpportunistic = 0x2,
  cudaMemPoolReuseAllowInternalDependencies = 0x3,
  cudaMemPoolAttrReleaseThreshold = 0x4,
  cudaMemPoolAttrReservedMemCurrent = 0x5,
  cudaMemPoolAttrReservedMemHigh = 0x6,
  cudaMemPoolAttrUsedMemCurrent = 0x7,
  cudaMemPoolAttrUsedMemHigh = 0x8,
};

cudaError_t cudaDeviceGetDefaultMemPool(cudaMemPool_t* memPool, int device);
cudaError_t cudaMemPoolSetAttribute(cudaMemPool_t memPool, cudaMemPoolAttr attr, void* value);
cudaError_t cudaMemPoolGetAttribute(cudaMemPool_t memPool, cudaMemPoolAttr attr, void* value);
// Releases the pool's unused memory down to minBytesToKeep (the emulated pool holds none;
// each call is counted for tests: pn::cuda::emu::mempool_trims()).
cudaError_t cudaMemPoolTrimTo(cudaMemPool_t memPool, size_t minBytesToKeep);
namespace pn::cuda::emu {
uint64_t mempool_trims();
}  // namespace pn::cuda::emu
