// Streams, events and the queue of device work (device_work.h has the model). Each stream
// keeps its pending ops in order; an op records the vector clock of what happens before
// it: earlier ops of its stream, whatever the stream waited for through events, the
// legacy default stream's implicit synchronisation with blocking streams, and what the
// host had synchronised with when it enqueued the op. Running an op first runs everything
// its clock names (run_until), so any order the policy picks is one a GPU could produce.
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "kernels/cuda/emu/device_work.h"
#include "kernels/cuda/emu/emu_internal.h"
#include "kernels/cuda/emu/vector_clock.h"

struct CUstream_st {
  int id;
};
struct CUevent_st {
  int id;
};

namespace pn::cuda::emu {

namespace detail {
namespace {

constexpr size_t kMaxPendingPerStream = 256;  // deferred work is bounded

struct Op {
  std::string what;
  std::vector<Access> accesses;
  OpBody body;
  VectorClock clock;
  uint64_t seq = 0;     // number within its stream, from 1
  uint64_t ticket = 0;  // global enqueue order (program order)
  bool now = false;     // When::Now: run by the thread that enqueued it, nobody else
};

struct Stream {
  int id = 0, device = 0;
  bool legacy = false, blocking = true, destroyed = false;
  VectorClock clock;  // what happens before the next op enqueued here
  uint64_t enqueued = 0, executed = 0;
  std::deque<std::unique_ptr<Op>> pending;
  bool running_now = false;  // a When::Now op of this stream runs outside the lock
  std::string name() const {
    return legacy ? "the legacy default stream of device " + std::to_string(device)
                  : "stream " + std::to_string(id) + (blocking ? "" : " (non-blocking)") + " of device " +
                        std::to_string(device);
  }
};

struct Event {
  int device = 0;
  unsigned flags = 0;
  bool destroyed = false, recorded = false;
  int stream = -1;
  uint64_t seq = 0, generation = 0;
  VectorClock clock;
  double time_ms = 0;  // when the stream reached the record (host clock, ms)
};

struct AsyncError {
  cudaError_t code = cudaSuccess;
  std::string detail;
};

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

StreamPolicy policy_from_env() {
  const char* s = std::getenv("PN_CUDA_EMU_STREAMS");
  if (s && std::string(s) == "eager") return StreamPolicy::Eager;
  if (s && std::string(s) == "deferred") return StreamPolicy::Deferred;
  return StreamPolicy::Shuffle;
}
uint64_t seed_from_env() {
  const char* s = std::getenv("PN_CUDA_EMU_SEED");
  return s ? std::strtoull(s, nullptr, 10) : 1;
}

struct State {
  std::mutex mu;
  std::condition_variable cv;
  std::map<int, Stream> streams;
  std::map<int, Event> events;
  std::map<CUstream_st*, int> stream_handles;  // handles are never freed: a stale one is recognised
  std::map<CUevent_st*, int> event_handles;
  int legacy[kMaxDevices] = {};  // stream id of each device's legacy stream (0: not yet made)
  AsyncError async[kMaxDevices];
  VectorClock host;  // what the host has synchronised with
  int next_stream = 1, next_event = 1;
  uint64_t next_ticket = 0;
  StreamPolicy policy = policy_from_env();
  uint64_t seed = seed_from_env(), rng = 0;
  Stats stats;
};

// Never destroyed: static objects may queue work or free memory after main returns.
State& state() {
  static auto* s = new State;
  return *s;
}

double now_ms() {
  using namespace std::chrono;
  return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

Stream& legacy_stream(State& S, int device) {
  int& id = S.legacy[device];
  if (id == 0) {
    id = S.next_stream++;
    Stream& st = S.streams[id];
    st.id = id;
    st.device = device;
    st.legacy = true;
  }
  return S.streams[id];
}

// The stream a handle names, or null (unknown, destroyed, or the legacy stream of a device
// that does not exist).
Stream* lookup(State& S, cudaStream_t s) {
  if (s == nullptr || s == cudaStreamLegacy)
    return valid_device(current_device()) ? &legacy_stream(S, current_device()) : nullptr;
  auto it = S.stream_handles.find(s);
  if (it == S.stream_handles.end()) return nullptr;
  Stream& st = S.streams[it->second];
  return st.destroyed ? nullptr : &st;
}

Event* lookup(State& S, cudaEvent_t e) {
  auto it = S.event_handles.find(e);
  if (it == S.event_handles.end()) return nullptr;
  Event& ev = S.events[it->second];
  return ev.destroyed ? nullptr : &ev;
}

void run_until(State& S, std::unique_lock<std::mutex>& lock, Stream& st, uint64_t target);

// Why an op about to run must not: an access into memory freed since it was enqueued (a GPU
// would fault; running it would touch freed host memory). "" when all are live.
std::string freed_access(const Stream& st, const Op& op) {
  for (const Access& a : op.accesses)
    if (a.ptr && !find_allocation(a.ptr, nullptr))
      return op.what + " on " + st.name() + ": its " + a.role + " points at memory freed before the op ran";
  return "";
}

// Checks an op's accesses for hazards and records them (lock held, op about to run, every
// access live).
std::string check_hazards(const Stream& st, const Op& op) {
  if (hazard_mode() == HazardMode::Off) return "";
  OpRef ref{st.id, op.seq, &op.clock, &op.what, st.name()};
  for (const Access& a : op.accesses) {
    if (!a.ptr) continue;
    AllocationInfo info;
    if (!find_allocation(a.ptr, &info)) continue;
    std::string hazard = check_and_record_access(ref, info, a.write, a.role);
    if (!hazard.empty()) return hazard;
  }
  return "";
}

void set_async_error(State& S, int device, cudaError_t e, const std::string& detail) {
  AsyncError& a = S.async[device];
  if (a.code == cudaSuccess) a = AsyncError{e, detail};  // the first error is the one to report
}

void count_order(State& S, const Op& op) {
  for (auto& [id, other] : S.streams)
    if (!other.pending.empty() && other.pending.front()->ticket < op.ticket) {
      ++S.stats.ops_run_out_of_order;
      return;
    }
}

// Runs the front op of st (lock held; its dependencies have run).
void run_front(State& S, Stream& st) {
  std::unique_ptr<Op> op = std::move(st.pending.front());
  st.pending.pop_front();
  count_order(S, *op);
  const std::string freed = freed_access(st, *op);
  std::string hazard = freed.empty() ? check_hazards(st, *op) : "";
  std::string detail;
  cudaError_t e = op->body && freed.empty() ? op->body(detail) : cudaSuccess;
  st.executed = op->seq;
  ++S.stats.ops_run;
  if (!freed.empty()) set_async_error(S, st.device, cudaErrorIllegalAddress, freed + " (the op was not run)");
  if (!hazard.empty()) {
    ++S.stats.hazards;
    if (hazard_mode() == HazardMode::Warn) std::fprintf(stderr, "cuda emulator: warning: %s\n", hazard.c_str());
    else set_async_error(S, st.device, cudaErrorLaunchFailure, "stream hazard: " + hazard);
  }
  if (e != cudaSuccess) set_async_error(S, st.device, e, op->what + " on " + st.name() + ": " + detail);
}

void run_dependencies(State& S, std::unique_lock<std::mutex>& lock, const Stream& st, const Op& op) {
  for (const auto& [sid, count] : op.clock.entries())
    if (sid != st.id) run_until(S, lock, S.streams[sid], count);
}

// Runs st's ops up to number `target`, each after what its clock names.
void run_until(State& S, std::unique_lock<std::mutex>& lock, Stream& st, uint64_t target) {
  while (st.executed < target) {
    while (st.running_now) S.cv.wait(lock);
    if (st.executed >= target || st.pending.empty()) return;
    if (st.pending.front()->now) {  // its own thread runs it; wait for that
      S.cv.wait(lock);
      continue;
    }
    Op& op = *st.pending.front();
    run_dependencies(S, lock, st, op);
    if (!st.pending.empty() && st.pending.front().get() == &op && !st.running_now) run_front(S, st);
  }
}

uint64_t next_random(State& S) {
  S.rng = splitmix64(S.rng ^ S.seed);
  return S.rng;
}

// The shuffle policy's step: run the next ops of a few randomly chosen streams.
void random_progress(State& S, std::unique_lock<std::mutex>& lock) {
  const uint64_t steps = next_random(S) % 3;
  for (uint64_t i = 0; i < steps; ++i) {
    std::vector<Stream*> ready;
    for (auto& [id, st] : S.streams)
      if (!st.pending.empty() && !st.running_now) ready.push_back(&st);
    if (ready.empty()) return;
    Stream& st = *ready[next_random(S) % ready.size()];
    run_until(S, lock, st, st.executed + 1);
  }
}

// Appends an op to st with its happens-before clock (lock held).
Op& append(State& S, Stream& st, std::string what, std::vector<Access> accesses, OpBody body) {
  if (st.legacy) {
    for (auto& [id, other] : S.streams)
      if (other.device == st.device && other.blocking && !other.legacy && !other.destroyed) st.clock.join(other.clock);
  } else if (st.blocking) {
    st.clock.join(legacy_stream(S, st.device).clock);
  }
  st.clock.join(S.host);
  auto op = std::make_unique<Op>();
  op->what = std::move(what);
  op->accesses = std::move(accesses);
  op->body = std::move(body);
  op->seq = ++st.enqueued;
  op->ticket = ++S.next_ticket;
  st.clock.set(st.id, op->seq);
  op->clock = st.clock;
  ++S.stats.ops_enqueued;
  st.pending.push_back(std::move(op));
  return *st.pending.back();
}

// Runs a When::Now op: its stream's earlier ops and its dependencies first, then its body
// outside the lock (a collective waits there for other threads or processes).
cudaError_t run_now(State& S, std::unique_lock<std::mutex>& lock, Stream& st) {
  const uint64_t seq = st.enqueued;
  run_until(S, lock, st, seq - 1);
  while (st.running_now) S.cv.wait(lock);
  run_dependencies(S, lock, st, *st.pending.front());
  std::unique_ptr<Op> op = std::move(st.pending.front());
  st.pending.pop_front();
  count_order(S, *op);
  std::string hazard = check_hazards(st, *op);
  st.running_now = true;
  lock.unlock();
  std::string detail;
  const cudaError_t e = op->body(detail);
  lock.lock();
  st.running_now = false;
  st.executed = op->seq;
  ++S.stats.ops_run;
  S.cv.notify_all();
  if (!hazard.empty()) {
    ++S.stats.hazards;
    if (hazard_mode() == HazardMode::Warn) std::fprintf(stderr, "cuda emulator: warning: %s\n", hazard.c_str());
    else return record_error(cudaErrorLaunchFailure, "stream hazard: " + hazard);
  }
  if (e != cudaSuccess) return record_error(e, op->what + " on " + st.name() + ": " + detail);
  return cudaSuccess;
}

cudaError_t report_async(State& S, int device) {
  AsyncError& a = S.async[device];
  if (a.code == cudaSuccess) return cudaSuccess;
  const AsyncError taken = a;
  a = AsyncError{};
  return record_error(taken.code, taken.detail);
}

// Runs everything queued on st and makes the host's clock include it (lock held).
void drain(State& S, std::unique_lock<std::mutex>& lock, Stream& st) {
  run_until(S, lock, st, st.enqueued);
  S.host.join(st.clock);
}

}  // namespace

int stream_device(cudaStream_t s) {
  State& S = state();
  std::lock_guard<std::mutex> lock(S.mu);
  Stream* st = lookup(S, s);
  return st ? st->device : -1;
}

bool valid_stream(cudaStream_t s) { return stream_device(s) >= 0; }

cudaError_t enqueue(cudaStream_t s, std::string what, std::vector<Access> accesses, OpBody body, When when) {
  State& S = state();
  std::unique_lock<std::mutex> lock(S.mu);
  Stream* st = lookup(S, s);
  if (!st) return record_error(cudaErrorInvalidResourceHandle, what + ": unknown or destroyed stream");
  std::string bad = check_accesses(st->device, accesses);
  if (!bad.empty()) return record_error(cudaErrorInvalidValue, what + " on " + st->name() + ": " + bad);
  append(S, *st, std::move(what), std::move(accesses), std::move(body)).now = when == When::Now;
  if (when == When::Now) return run_now(S, lock, *st);
  switch (S.policy) {
    case StreamPolicy::Eager: run_until(S, lock, *st, st->enqueued); break;
    case StreamPolicy::Deferred: break;
    case StreamPolicy::Shuffle: random_progress(S, lock); break;
  }
  if (st->pending.size() > kMaxPendingPerStream) run_until(S, lock, *st, st->executed + 1);
  return cudaSuccess;
}

cudaError_t synchronize_stream(cudaStream_t s) {
  State& S = state();
  std::unique_lock<std::mutex> lock(S.mu);
  Stream* st = lookup(S, s);
  if (!st) return record_error(cudaErrorInvalidResourceHandle, "cudaStreamSynchronize: unknown or destroyed stream");
  drain(S, lock, *st);
  return report_async(S, st->device);
}

cudaError_t synchronize_device(int d) {
  State& S = state();
  std::unique_lock<std::mutex> lock(S.mu);
  for (auto& [id, st] : S.streams)
    if (d < 0 || st.device == d) drain(S, lock, st);
  if (d >= 0) return report_async(S, d);
  for (int i = 0; i < device_count(); ++i)
    if (cudaError_t e = report_async(S, i); e != cudaSuccess) return e;
  return cudaSuccess;
}

cudaError_t take_async_error(int d) {
  if (!valid_device(d)) return cudaSuccess;
  State& S = state();
  std::lock_guard<std::mutex> lock(S.mu);
  return report_async(S, d);
}

}  // namespace detail

// ---- Policy settings ----------------------------------------------------------------------
void set_stream_policy(StreamPolicy p, uint64_t seed) {
  auto& S = detail::state();
  std::unique_lock<std::mutex> lock(S.mu);
  for (auto& [id, st] : S.streams) detail::drain(S, lock, st);  // a policy change starts from an empty queue
  S.policy = p;
  S.seed = seed;
  S.rng = 0;
}
StreamPolicy stream_policy() { return detail::state().policy; }
uint64_t stream_seed() { return detail::state().seed; }
const char* stream_policy_name(StreamPolicy p) {
  return p == StreamPolicy::Eager ? "eager" : p == StreamPolicy::Deferred ? "deferred" : "shuffle";
}

Stats stats() {
  auto& S = detail::state();
  std::lock_guard<std::mutex> lock(S.mu);
  return S.stats;
}
void reset_stats() {
  auto& S = detail::state();
  std::lock_guard<std::mutex> lock(S.mu);
  S.stats = Stats{};
}

}  // namespace pn::cuda::emu

// ---- Runtime API: streams and events --------------------------------------------------------
using pn::cuda::emu::detail::record_error;
namespace emu = pn::cuda::emu;
namespace ed = pn::cuda::emu::detail;

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned flags) {
  if (!s) return record_error(cudaErrorInvalidValue, "cudaStreamCreate: null output pointer");
  if (flags & ~cudaStreamNonBlocking) return record_error(cudaErrorInvalidValue, "cudaStreamCreateWithFlags: unknown flags");
  auto& S = ed::state();
  std::lock_guard<std::mutex> lock(S.mu);
  const int id = S.next_stream++;
  ed::Stream& st = S.streams[id];
  st.id = id;
  st.device = ed::current_device();
  st.blocking = (flags & cudaStreamNonBlocking) == 0;
  *s = new CUstream_st{id};
  S.stream_handles.emplace(*s, id);
  return cudaSuccess;
}

cudaError_t cudaStreamCreate(cudaStream_t* s) { return cudaStreamCreateWithFlags(s, cudaStreamDefault); }

cudaError_t cudaStreamGetFlags(cudaStream_t s, unsigned* flags) {
  auto& S = ed::state();
  std::lock_guard<std::mutex> lock(S.mu);
  ed::Stream* st = ed::lookup(S, s);
  if (!st || !flags) return record_error(cudaErrorInvalidResourceHandle, "cudaStreamGetFlags: unknown stream");
  *flags = st->blocking ? cudaStreamDefault : cudaStreamNonBlocking;
  return cudaSuccess;
}

// CUDA lets queued work finish after cudaStreamDestroy; the emulator runs it at once.
cudaError_t cudaStreamDestroy(cudaStream_t s) {
  auto& S = ed::state();
  std::unique_lock<std::mutex> lock(S.mu);
  if (s == nullptr || s == cudaStreamLegacy || !S.stream_handles.count(s))
    return record_error(cudaErrorInvalidResourceHandle, "cudaStreamDestroy: unknown stream");
  ed::Stream* st = ed::lookup(S, s);
  if (!st) return record_error(cudaErrorInvalidResourceHandle, "cudaStreamDestroy: stream already destroyed");
  ed::run_until(S, lock, *st, st->enqueued);
  st->destroyed = true;
  return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t s) { return ed::synchronize_stream(s); }

// Complete: the host has seen it complete (ordered after it). Not complete: one op is run,
// so that a polling loop always ends.
cudaError_t cudaStreamQuery(cudaStream_t s) {
  auto& S = ed::state();
  std::unique_lock<std::mutex> lock(S.mu);
  ed::Stream* st = ed::lookup(S, s);
  if (!st) return record_error(cudaErrorInvalidResourceHandle, "cudaStreamQuery: unknown or destroyed stream");
  if (st->executed < st->enqueued) ed::run_until(S, lock, *st, st->executed + 1);
  if (st->executed < st->enqueued) return cudaErrorNotReady;
  S.host.join(st->clock);
  return ed::report_async(S, st->device);
}

cudaError_t cudaStreamWaitEvent(cudaStream_t s, cudaEvent_t e, unsigned flags) {
  auto& S = ed::state();
  std::lock_guard<std::mutex> lock(S.mu);
  ed::Stream* st = ed::lookup(S, s);
  ed::Event* ev = ed::lookup(S, e);
  if (!st || !ev || flags != 0)
    return record_error(cudaErrorInvalidResourceHandle, "cudaStreamWaitEvent: unknown stream or event, or flags");
  if (ev->recorded) st->clock.join(ev->clock);  // waiting for a never-recorded event waits for nothing
  return cudaSuccess;
}

cudaError_t cudaEventCreateWithFlags(cudaEvent_t* e, unsigned flags) {
  if (!e) return record_error(cudaErrorInvalidValue, "cudaEventCreate: null output pointer");
  if (flags & ~(cudaEventBlockingSync | cudaEventDisableTiming))
    return record_error(cudaErrorInvalidValue, "cudaEventCreateWithFlags: flags not emulated");
  auto& S = ed::state();
  std::lock_guard<std::mutex> lock(S.mu);
  const int id = S.next_event++;
  ed::Event& ev = S.events[id];
  ev.device = ed::current_device();
  ev.flags = flags;
  *e = new CUevent_st{id};
  S.event_handles.emplace(*e, id);
  return cudaSuccess;
}

cudaError_t cudaEventCreate(cudaEvent_t* e) { return cudaEventCreateWithFlags(e, cudaEventDefault); }

// A marker op on the stream: the event completes (and is stamped) when the stream gets there.
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s) {
  auto& S = ed::state();
  std::unique_lock<std::mutex> lock(S.mu);
  ed::Stream* st = ed::lookup(S, s);
  ed::Event* ev = ed::lookup(S, e);
  if (!st || !ev) return record_error(cudaErrorInvalidResourceHandle, "cudaEventRecord: unknown stream or event");
  if (st->device != ev->device)
    return record_error(cudaErrorInvalidResourceHandle, "cudaEventRecord: the event belongs to device " +
                                                            std::to_string(ev->device) + ", the stream to device " +
                                                            std::to_string(st->device));
  const uint64_t generation = ++ev->generation;
  ed::Op& op = ed::append(S, *st, "cudaEventRecord", {}, [ev, generation](std::string&) {
    if (ev->generation == generation) ev->time_ms = ed::now_ms();
    return cudaSuccess;
  });
  ev->recorded = true;
  ev->stream = st->id;
  ev->seq = op.seq;
  ev->clock = op.clock;
  if (S.policy == emu::StreamPolicy::Eager) ed::run_until(S, lock, *st, st->enqueued);
  return cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t e) {
  auto& S = ed::state();
  std::unique_lock<std::mutex> lock(S.mu);
  ed::Event* ev = ed::lookup(S, e);
  if (!ev) return record_error(cudaErrorInvalidResourceHandle, "cudaEventSynchronize: unknown event");
  if (!ev->recorded) return cudaSuccess;
  ed::run_until(S, lock, S.streams[ev->stream], ev->seq);
  S.host.join(ev->clock);
  return ed::report_async(S, ev->device);
}

cudaError_t cudaEventQuery(cudaEvent_t e) {
  auto& S = ed::state();
  std::unique_lock<std::mutex> lock(S.mu);
  ed::Event* ev = ed::lookup(S, e);
  if (!ev) return record_error(cudaErrorInvalidResourceHandle, "cudaEventQuery: unknown event");
  if (!ev->recorded) return cudaSuccess;
  ed::Stream& st = S.streams[ev->stream];
  if (st.executed < ev->seq) ed::run_until(S, lock, st, st.executed + 1);
  if (st.executed < ev->seq) return cudaErrorNotReady;
  S.host.join(ev->clock);
  return cudaSuccess;
}

cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  auto& S = ed::state();
  std::lock_guard<std::mutex> lock(S.mu);
  ed::Event* a = ed::lookup(S, start);
  ed::Event* b = ed::lookup(S, end);
  if (!ms || !a || !b) return record_error(cudaErrorInvalidResourceHandle, "cudaEventElapsedTime: unknown event");
  if ((a->flags | b->flags) & cudaEventDisableTiming)
    return record_error(cudaErrorInvalidResourceHandle, "cudaEventElapsedTime: an event was created with cudaEventDisableTiming");
  if (!a->recorded || !b->recorded)
    return record_error(cudaErrorInvalidResourceHandle, "cudaEventElapsedTime: an event was never recorded");
  if (S.streams[a->stream].executed < a->seq || S.streams[b->stream].executed < b->seq) return cudaErrorNotReady;
  *ms = static_cast<float>(b->time_ms - a->time_ms);
  return cudaSuccess;
}

cudaError_t cudaEventDestroy(cudaEvent_t e) {
  auto& S = ed::state();
  std::lock_guard<std::mutex> lock(S.mu);
  ed::Event* ev = ed::lookup(S, e);
  if (!ev) return record_error(cudaErrorInvalidResourceHandle, "cudaEventDestroy: unknown or destroyed event");
  ev->destroyed = true;
  return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize() { return ed::synchronize_device(ed::current_device()); }
