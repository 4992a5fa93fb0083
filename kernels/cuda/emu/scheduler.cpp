// Runs an emulated kernel launch. Blocks run one after another; the threads of a block are
// fibers (fiber.h) on the OS thread that runs the launch. A fiber runs until it reaches __syncthreads,
// a warp collective or its end, then hands control back here. When every runnable fiber
// has stopped, the scheduler releases the warp collectives whose lanes have all arrived
// (computing every lane's result before any lane runs on, so none can overwrite a value
// another lane still has to read) or, failing that, the block barrier once every live
// thread waits there. Neither possible means the real GPU would hang or misbehave
// (__syncthreads in divergent code, a lane that left a shuffle's mask): the launch fails
// and says where each thread was. The resume order is the configured Schedule.
// Cost: a thread gets a stack from the pool (fiber.h) at its first resume and returns it when
// it ends; a fiber whose thread ends runs the round's next unstarted thread itself, and a
// thread that waits switches straight to the round's next started thread, so a kernel that
// never blocks switches twice per chain of threads and a barrier round once per thread, in
// the schedule's order all the same.
// Under AddressSanitizer every switch is announced with __sanitizer_start_switch_fiber /
// __sanitizer_finish_switch_fiber, so ASan tracks the fiber stacks correctly.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "kernels/cuda/emu/cuda_emu.h"
#include "kernels/cuda/emu/device_work.h"
#include "kernels/cuda/emu/emu_internal.h"
#include "kernels/cuda/emu/fiber.h"
#include "kernels/cuda/emu/profile_internal.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define PN_EMU_ASAN 1
#else
#define PN_EMU_ASAN 0
#endif

namespace pn::cuda::emu {

namespace {

// ---- Schedule settings --------------------------------------------------------------------
Schedule schedule_from_env() {
  const char* s = std::getenv("PN_CUDA_EMU_SCHEDULE");
  if (s && std::string(s) == "forward") return Schedule::Forward;
  if (s && std::string(s) == "reverse") return Schedule::Reverse;
  return Schedule::Shuffle;
}
uint64_t seed_from_env() {
  const char* s = std::getenv("PN_CUDA_EMU_SEED");
  return s ? std::strtoull(s, nullptr, 10) : 1;
}
Schedule g_schedule = schedule_from_env();
uint64_t g_seed = seed_from_env();

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Visiting order for n items in one round: depends only on (schedule, seed, salt, round).
// Shuffle: Fisher-Yates driven by a 64-bit LCG seeded from them, each draw mapped onto its
// range by a multiply and shift (no division per item).
void make_order(std::vector<int>& order, int n, uint64_t salt, uint64_t round) {
  order.resize(n);
  for (int i = 0; i < n; ++i) order[i] = g_schedule == Schedule::Reverse ? n - 1 - i : i;
  if (g_schedule != Schedule::Shuffle) return;
  uint64_t state = splitmix64(g_seed ^ splitmix64(salt ^ splitmix64(round)));
  for (int i = n - 1; i > 0; --i) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    const uint64_t draw = state >> 32;  // the LCG's good bits
    std::swap(order[i], order[static_cast<int>((draw * static_cast<uint64_t>(i + 1)) >> 32)]);
  }
}

// ---- Launch state -------------------------------------------------------------------------
enum class State : uint8_t { Runnable, AtBarrier, AtWarp, Done, Failed };

struct Thread {
  detail::FiberContext ctx;
  detail::FiberStack* stack = nullptr;  // from its first resume until it ends
  uint3 idx{0, 0, 0};
  State state = State::Runnable;
  // The warp collective this thread waits in, and its result once released.
  WarpOp op = WarpOp::Sync;
  unsigned mask = 0;
  int arg = 0, width = 32;
  uint64_t value = 0, result = 0;
};

struct SharedVar {
  const void* key;
  void* ptr;
  size_t bytes;
};

struct Launch {
  dim3 grid, block;
  int nthreads = 0;
  ThreadBody body = nullptr;
  void* ctx = nullptr;
  std::vector<Thread> threads;
  detail::FiberContext sched_ctx;
  const void* sched_stack_bottom = nullptr;  // the launching thread's stack, for ASan
  size_t sched_stack_size = 0;
  Thread* current = nullptr;
  int ended = 0;           // threads of the running block that are Done
  std::vector<int> order;  // the running round's visiting order (thread indices)
  int pos = 0;             // the position in `order` of the thread running or last run
  std::vector<SharedVar> shared;
  size_t shared_bytes = 0;  // PN_SHARED total, checked against the 48 KiB limit
  size_t dynamic_bytes = 0;
  void* dynamic = nullptr;
  cudaError_t error = cudaSuccess;
  std::string detail;
};

std::mutex g_launch_mutex;          // one emulated launch at a time, process-wide
thread_local Launch* g_launch = nullptr;

constexpr unsigned char kPoison = 0xFF;  // all-ones bytes: NaN as float/double, -1 as int
constexpr uint64_t kPoisonBits = ~0ull;

Launch& running(const char* what) {
  if (!g_launch || !g_launch->current) {
    std::fprintf(stderr, "cuda emulator: %s called outside a running kernel\n", what);
    std::abort();
  }
  return *g_launch;
}

std::string dim_str(dim3 d) {
  return "(" + std::to_string(d.x) + "," + std::to_string(d.y) + "," + std::to_string(d.z) + ")";
}
std::string thread_str(const Launch& L, const Thread& t) {
  return "thread " + dim_str(dim3(t.idx)) + " of block " + dim_str(dim3(blockIdx)) + " (grid " +
         dim_str(L.grid) + ", block " + dim_str(L.block) + ")";
}
const char* op_name(WarpOp op) {
  static const char* names[] = {"__syncwarp", "__shfl_sync", "__shfl_up_sync", "__shfl_down_sync",
                                "__shfl_xor_sync", "__ballot_sync", "__any_sync", "__all_sync",
                                "an nvcuda::wmma function (load_matrix_sync / store_matrix_sync / mma_sync)"};
  return names[static_cast<int>(op)];
}

// ---- Switching ----------------------------------------------------------------------------
void fiber_main();

// Scheduler -> thread t, until the fiber yields or ends. A thread gets its stack at its
// first resume and returns it when it ends, for the next thread to start on.
void resume(Launch& L, Thread& t) {
  if (!t.stack) {
    t.stack = detail::stack_pool().take();
    detail::fiber_prepare(t.ctx, t.stack->lo, t.stack->bytes, fiber_main);
  }
  L.current = &t;
  threadIdx = t.idx;
#if PN_EMU_ASAN
  void* fake = nullptr;
  __sanitizer_start_switch_fiber(&fake, t.stack->lo, t.stack->bytes);
  detail::fiber_switch(L.sched_ctx, t.ctx);
  __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#else
  detail::fiber_switch(L.sched_ctx, t.ctx);
#endif
  Thread& last = *L.current;  // the fiber may have run on to later threads (fiber_main)
  L.current = nullptr;
  if (last.state == State::Done) {
    detail::stack_pool().give_back(last.stack, false);
    last.stack = nullptr;
  }
}

// The thread the round resumes after the one at L.pos when it has started (it has a fiber
// to switch to), with L.pos moved to it; nullptr when the next runnable thread has not
// started or the round is over (the scheduler takes over then).
Thread* next_started(Launch& L) {
  int p = L.pos + 1;
  while (p < L.nthreads && L.threads[L.order[p]].state != State::Runnable) ++p;
  if (p >= L.nthreads || !L.threads[L.order[p]].stack) return nullptr;
  L.pos = p;
  return &L.threads[L.order[p]];
}

// Running thread -> the next thread of the round, directly when that one has a fiber (a
// barrier round then costs one switch per thread, not two), else -> scheduler. Either way,
// the order threads run in is the scheduler's. final: the thread will never be resumed (it
// always returns to the scheduler, which takes its stack back; ASan may drop its fake stack).
void yield(Launch& L, bool final) {
  Thread& t = *L.current;
  Thread* next = final ? nullptr : next_started(L);
  if (next) {
    L.current = next;
    threadIdx = next->idx;
  }
  detail::FiberContext& to = next ? next->ctx : L.sched_ctx;
#if PN_EMU_ASAN
  void* fake = nullptr;
  if (next)
    __sanitizer_start_switch_fiber(&fake, next->stack->lo, next->stack->bytes);
  else
    __sanitizer_start_switch_fiber(final ? nullptr : &fake, L.sched_stack_bottom, L.sched_stack_size);
  detail::fiber_switch(t.ctx, to);
  __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#else
  detail::fiber_switch(t.ctx, to);
#endif
}

// Runs the body of thread L.current to its end; true when it ended normally.
bool run_body(Launch& L) {
  try {
    L.body(L.ctx);
    L.current->state = State::Done;
    ++L.ended;
    return true;
  } catch (const std::exception& e) {
    L.current->state = State::Failed;
    L.error = cudaErrorLaunchFailure;
    L.detail = std::string("exception in kernel: ") + e.what() + " in " + thread_str(L, *L.current);
  } catch (...) {
    L.current->state = State::Failed;
    L.error = cudaErrorLaunchFailure;
    L.detail = "exception of unknown type in kernel in " + thread_str(L, *L.current);
  }
  return false;
}

// Moves the running fiber on to the next runnable thread of the round's order when that
// thread has not started yet: it takes over the stack, exactly as if the scheduler had
// started it there. False when there is none, or it has a fiber of its own.
bool chain_next(Launch& L) {
  int p = L.pos + 1;
  while (p < L.nthreads && L.threads[L.order[p]].state != State::Runnable) ++p;
  if (p >= L.nthreads || L.threads[L.order[p]].stack) return false;
  Thread& next = L.threads[L.order[p]];
  next.stack = L.current->stack;
  L.current->stack = nullptr;
  L.current = &next;
  L.pos = p;
  threadIdx = next.idx;
  return true;
}

// A fiber's life: run the body of the thread it was started for and, while threads end
// without waiting, the bodies of the threads the round starts next (chain_next: a kernel
// whose threads never block switches twice per chain instead of twice per thread), then
// switch back for good. A thread that waits keeps the fiber; the scheduler starts the next
// thread on a new one.
void fiber_main() {
  Launch& L = *g_launch;
#if PN_EMU_ASAN
  __sanitizer_finish_switch_fiber(nullptr, &L.sched_stack_bottom, &L.sched_stack_size);
#endif
  while (run_body(L) && chain_next(L)) {
  }
  yield(L, true);  // never resumed
  std::abort();
}

// ---- Releasing waiters --------------------------------------------------------------------
// The source lane of a shuffle, or -1 where CUDA returns the caller's own value.
int shuffle_source(WarpOp op, int lane, int arg, int width) {
  const int base = lane & ~(width - 1);
  switch (op) {
    case WarpOp::Shfl: return base + (arg & (width - 1));
    case WarpOp::Wmma: return base;
    case WarpOp::ShflUp: return (lane - base) < arg ? -1 : lane - arg;
    case WarpOp::ShflDown: return (lane - base) + arg >= width ? -1 : lane + arg;
    case WarpOp::ShflXor: {
      const int src = lane ^ arg;  // later groups are out of reach; earlier ones are not
      return src >= base + width ? -1 : src;
    }
    default: return -1;
  }
}

// Releases every warp collective whose named lanes have all arrived. Returns whether any
// was released; sets L.error on a collective that can never complete correctly.
bool release_warps(Launch& L) {
  bool released = false;
  for (int w0 = 0; w0 < L.nthreads; w0 += 32) {
    const int lanes = std::min(32, L.nthreads - w0);
    const unsigned exists = lanes == 32 ? 0xffffffffu : ((1u << lanes) - 1u);
    unsigned handled = 0;
    for (int lane = 0; lane < lanes; ++lane) {
      Thread& t = L.threads[w0 + lane];
      if (t.state != State::AtWarp || ((handled >> lane) & 1u)) continue;
      const unsigned group = t.mask & exists;
      bool ready = true;
      for (int l = 0; l < lanes && ready; ++l) {
        if (!((group >> l) & 1u)) continue;
        const Thread& o = L.threads[w0 + l];
        if (o.state == State::Done || o.state == State::Failed) {
          L.error = cudaErrorLaunchFailure;
          L.detail = std::string(op_name(t.op)) + " names lane " + std::to_string(l) +
                     " in its mask, but that thread has exited: " + thread_str(L, t);
          return false;
        }
        if (o.state != State::AtWarp) { ready = false; break; }
        if (o.op != t.op || o.mask != t.mask || o.width != t.width) {
          L.error = cudaErrorLaunchFailure;
          L.detail = std::string("lanes of one warp meet in different collectives: ") + op_name(t.op) +
                     " (mask " + std::to_string(t.mask) + ") and " + op_name(o.op) + " (mask " +
                     std::to_string(o.mask) + "), " + thread_str(L, t);
          return false;
        }
      }
      if (!ready) continue;
      unsigned ballot = 0;
      for (int l = 0; l < lanes; ++l)
        if (((group >> l) & 1u) && L.threads[w0 + l].value != 0) ballot |= 1u << l;
      for (int l = 0; l < lanes; ++l) {  // results first, then release: see the file comment
        if (!((group >> l) & 1u)) continue;
        Thread& o = L.threads[w0 + l];
        switch (o.op) {
          case WarpOp::Sync: o.result = 0; break;
          case WarpOp::Ballot: o.result = ballot; break;
          case WarpOp::Any: o.result = ballot != 0; break;
          case WarpOp::All: o.result = ballot == group; break;
          default: {
            const int src = shuffle_source(o.op, l, o.arg, o.width);
            if (src < 0) o.result = o.value;
            else if (src < lanes && ((group >> src) & 1u)) o.result = L.threads[w0 + src].value;
            else o.result = kPoisonBits;  // reading a lane outside the mask: undefined in CUDA
          }
        }
      }
      for (int l = 0; l < lanes; ++l)
        if ((group >> l) & 1u) L.threads[w0 + l].state = State::Runnable;
      handled |= group;
      released = true;
    }
  }
  return released;
}

std::string where_threads_are(const Launch& L) {
  std::string s;
  auto list = [&](const char* what, auto pred) {
    int count = 0;
    std::string first;
    for (const Thread& t : L.threads)
      if (pred(t)) {
        if (count < 4) first += (count ? " " : "") + dim_str(dim3(t.idx));
        ++count;
      }
    if (count) s += "; " + std::to_string(count) + " " + what + " (e.g. " + first + ")";
  };
  list("at __syncthreads", [](const Thread& t) { return t.state == State::AtBarrier; });
  list("in a warp collective", [](const Thread& t) { return t.state == State::AtWarp; });
  list("exited", [](const Thread& t) { return t.state == State::Done; });
  return s;
}

void run_block(Launch& L, uint3 block_index, uint64_t block_linear) {
  blockIdx = block_index;
  for (SharedVar& v : L.shared) std::memset(v.ptr, kPoison, v.bytes);
  if (L.dynamic_bytes) std::memset(L.dynamic, kPoison, L.dynamic_bytes);
  for (Thread& t : L.threads) t.state = State::Runnable;  // each starts (gets a stack) at its first resume
  L.ended = 0;
  for (uint64_t round = 0;; ++round) {
    make_order(L.order, L.nthreads, block_linear, round);
    for (L.pos = 0; L.pos < L.nthreads; ++L.pos) {  // resume moves L.pos past threads its fiber chained to
      Thread& t = L.threads[L.order[L.pos]];
      if (t.state != State::Runnable) continue;
      resume(L, t);
      if (L.error != cudaSuccess) return;
    }
    if (L.ended == L.nthreads) return;
    if (release_warps(L)) continue;
    if (L.error != cudaSuccess) return;
    // Exited threads count as arrived, as on the hardware.
    bool barrier = std::all_of(L.threads.begin(), L.threads.end(), [](const Thread& t) {
      return t.state == State::AtBarrier || t.state == State::Done;
    });
    if (!barrier) {
      L.error = cudaErrorLaunchFailure;
      L.detail = "deadlock in block " + dim_str(dim3(block_index)) +
                 ": __syncthreads or a warp collective reached by only part of the threads" +
                 where_threads_are(L);
      return;
    }
    for (Thread& t : L.threads)
      if (t.state == State::AtBarrier) t.state = State::Runnable;
    detail::profile_barrier();
  }
}

cudaError_t check_config(dim3 grid, dim3 block, size_t shared_bytes) {
  const uint64_t threads = uint64_t{block.x} * block.y * block.z;
  std::string bad;
  if (block.x == 0 || block.y == 0 || block.z == 0 || grid.x == 0 || grid.y == 0 || grid.z == 0)
    bad = "a zero grid or block dimension";
  else if (threads > static_cast<uint64_t>(detail::kMaxThreadsPerBlock) || block.z > 64)
    bad = "more than 1024 threads per block (or block.z > 64)";
  else if (grid.x > 0x7fffffffu || grid.y > 65535 || grid.z > 65535)
    bad = "a grid dimension above the limit";
  else if (shared_bytes > detail::kMaxSharedBytes)
    bad = "more than 48 KiB of dynamic shared memory";
  if (bad.empty()) return cudaSuccess;
  return detail::record_error(cudaErrorInvalidConfiguration, "kernel launch with grid " + dim_str(grid) +
                                                                 ", block " + dim_str(block) + ", " +
                                                                 std::to_string(shared_bytes) +
                                                                 " shared bytes: " + bad);
}

// Ends the running thread's launch with L.detail. Nothing may be left on the fiber's stack
// that owns heap memory: the fiber is never resumed, so its destructors never run.
[[noreturn]] void fail_running(Launch& L) {
  L.error = cudaErrorLaunchFailure;
  L.current->state = State::Failed;
  yield(L, true);
  std::abort();  // never resumed
}

// Abandons the fibers of a failed block: they are never resumed, so their stacks go back
// marked for cleaning before reuse.
void abandon(Launch& L) {
  for (Thread& t : L.threads)
    if (t.stack) {
      detail::stack_pool().give_back(t.stack, true);
      t.stack = nullptr;
    }
}

}  // namespace

// ---- Public interface ---------------------------------------------------------------------
void set_schedule(Schedule s, uint64_t seed) {
  std::lock_guard<std::mutex> lock(g_launch_mutex);
  g_schedule = s;
  g_seed = seed;
}
Schedule schedule() { return g_schedule; }
uint64_t schedule_seed() { return g_seed; }
const char* schedule_name(Schedule s) {
  return s == Schedule::Forward ? "forward" : s == Schedule::Reverse ? "reverse" : "shuffle";
}

namespace {

// What the memory-traffic profile needs of a launch (profile.h): set at submission when the
// profile was on then, so that a launch is profiled iff it was launched while profiling().
struct ProfileRequest {
  bool on = false;
  std::string what;
  LaunchSite site;
};

// Runs a launch's blocks now (the op's body; the stream machinery decided it is time).
cudaError_t execute_grid(const ProfileRequest& profile, dim3 grid, dim3 block, size_t shared_bytes, ThreadBody body,
                         void* ctx, std::string& detail_out) {
  std::lock_guard<std::mutex> lock(g_launch_mutex);
  Launch L;
  L.grid = grid;
  L.block = block;
  L.nthreads = static_cast<int>(block.x * block.y * block.z);
  L.body = body;
  L.ctx = ctx;
  L.dynamic_bytes = shared_bytes;
  std::unique_ptr<char[]> dynamic(new char[shared_bytes]);  // its own allocation: ASan sees overflows
  L.dynamic = dynamic.get();
  L.threads.resize(static_cast<size_t>(L.nthreads));
  for (int i = 0; i < L.nthreads; ++i) {
    Thread& t = L.threads[i];
    t.idx = uint3{static_cast<unsigned>(i) % block.x, static_cast<unsigned>(i) / block.x % block.y,
                  static_cast<unsigned>(i) / (block.x * block.y)};
  }
  blockDim = block;
  gridDim = grid;
  g_launch = &L;
  const uint64_t nblocks = uint64_t{grid.x} * grid.y * grid.z;
  std::vector<int> border;
  make_order(border, static_cast<int>(std::min<uint64_t>(nblocks, 0x7fffffff)), ~0ull, 0);
  const bool profiled = profile.on;
  if (profiled) detail::profile_launch_begin(profile.what, profile.site, grid, block, L.dynamic, shared_bytes);
  for (int b : border) {
    const uint64_t lin = static_cast<uint64_t>(b);
    if (profiled) detail::profile_block_begin();
    run_block(L, uint3{static_cast<unsigned>(lin % grid.x), static_cast<unsigned>(lin / grid.x % grid.y),
                       static_cast<unsigned>(lin / (uint64_t{grid.x} * grid.y))},
              lin);
    if (profiled) detail::profile_block_end();
    if (L.error != cudaSuccess) {
      abandon(L);
      break;
    }
  }
  if (profiled) detail::profile_launch_end();
  g_launch = nullptr;
  threadIdx = blockIdx = uint3{0, 0, 0};
  for (SharedVar& v : L.shared) std::free(v.ptr);
  if (L.error != cudaSuccess) {
    detail_out = L.detail;
    return L.error;
  }
  std::string oob = detail::check_guard_bytes();
  if (!oob.empty()) {
    detail_out = oob + " (found after the kernel ran)";
    return cudaErrorIllegalAddress;
  }
  return cudaSuccess;
}

}  // namespace

cudaError_t submit_grid(std::string what, dim3 grid, dim3 block, size_t shared_bytes, cudaStream_t stream,
                        ThreadBody body, std::shared_ptr<void> ctx, std::vector<PointerArg> pointers, LaunchSite site) {
  if (cudaError_t e = check_config(grid, block, shared_bytes); e != cudaSuccess) return e;
  if (g_launch) return detail::record_error(cudaErrorLaunchFailure, what + ": kernel launched from inside a kernel");
  const int dev = detail::stream_device(stream);
  if (dev < 0) return detail::record_error(cudaErrorInvalidResourceHandle, what + ": unknown or destroyed stream");
  if (dev != detail::current_device())
    return detail::record_error(cudaErrorInvalidResourceHandle,
                                what + ": launched into a stream of device " + std::to_string(dev) + " while device " +
                                    std::to_string(detail::current_device()) +
                                    " is current (a kernel runs on the current device: cudaSetDevice first)");
  std::vector<detail::Access> accesses;
  for (const PointerArg& p : pointers)
    accesses.push_back(detail::Access{p.ptr, 0, p.write, "kernel argument " + std::to_string(p.index)});
  std::string bad = detail::check_accesses(dev, accesses);
  if (!bad.empty()) return detail::record_error(cudaErrorIllegalAddress, what + ": " + bad);
  ProfileRequest profile;
  if (profiling()) profile = ProfileRequest{true, what, site};
  return detail::enqueue(stream, std::move(what), std::move(accesses),
                         [profile = std::move(profile), grid, block, shared_bytes, body,
                          ctx = std::move(ctx)](std::string& detail) {
                           return execute_grid(profile, grid, block, shared_bytes, body, ctx.get(), detail);
                         });
}

void* shared_alloc(const void* key, size_t bytes, size_t align, const char* name) {
  Launch& L = running("PN_SHARED");
  for (const SharedVar& v : L.shared)
    if (v.key == key) return v.ptr;
  if (L.shared_bytes + bytes + L.dynamic_bytes > detail::kMaxSharedBytes) {
    L.detail = std::string("shared array '") + name + "' takes the block past 48 KiB of shared memory: " +
               thread_str(L, *L.current);
    fail_running(L);
  }
  void* p = nullptr;
  if (posix_memalign(&p, std::max(align, sizeof(void*)), bytes) != 0) fail("out of host memory for shared memory");
  std::memset(p, kPoison, bytes);  // first block: poisoned here; later blocks: in run_block
  L.shared.push_back(SharedVar{key, p, bytes});
  detail::profile_shared(p, bytes);
  L.shared_bytes += bytes;
  return p;
}

void* dynamic_shared() { return running("PN_DYNAMIC_SHARED").dynamic; }

void sync_block() {
  Launch& L = running("__syncthreads");
  L.current->state = State::AtBarrier;
  yield(L, false);
}

uint64_t warp_collective(WarpOp op, unsigned mask, uint64_t value, int arg, int width) {
  Launch& L = running(op_name(op));
  Thread& t = *L.current;
  const int lane = static_cast<int>((t.idx.x + t.idx.y * L.block.x + t.idx.z * L.block.x * L.block.y) % 32);
  if (width < 1 || width > 32 || (width & (width - 1)) != 0) fail("warp shuffle width is not a power of two <= 32");
  if (!((mask >> lane) & 1u)) fail("a warp collective was called by a lane that is not in its mask");
  t.state = State::AtWarp;
  t.op = op;
  t.mask = mask;
  t.arg = arg;
  t.width = width;
  t.value = value;
  yield(L, false);
  return t.result;
}

unsigned active_mask() {
  Launch& L = running("__activemask");
  const Thread& t = *L.current;
  const int linear = static_cast<int>(t.idx.x + t.idx.y * L.block.x + t.idx.z * L.block.x * L.block.y);
  const int w0 = linear / 32 * 32;
  unsigned m = 0;
  for (int l = 0; l < 32 && w0 + l < L.nthreads; ++l)
    if (L.threads[w0 + l].state != State::Done) m |= 1u << l;
  return m;
}

void fail(const char* what) {
  Launch& L = running("a failing device check");
  L.detail = std::string(what) + ": " + thread_str(L, *L.current);
  fail_running(L);
}

}  // namespace pn::cuda::emu
