// The emulated NCCL's group calls. Between ncclGroupStart and ncclGroupEnd (nestable, per
// thread, as in NCCL) ncclCommInitRank calls or collectives are checked at the call and
// kept; ncclGroupEnd runs them. Ranks of one communicator meet in every call, so a thread
// that drives several ranks cannot run their shares one after another: when the group spans
// several communicators, each one's calls run, in the order they were made, on a
// short-lived thread of its own, and ncclGroupEnd joins them all and returns the first
// failure. A call that failed its checks fails the whole group, which then runs nothing
// (NCCL: ncclGroupErrCheck). Mixing ncclCommInitRank and collectives in one group is
// ncclInvalidUsage (nccl.h: "can be used in conjunction ..., but not together").
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "kernels/cuda/emu/nccl_emu_internal.h"

namespace pn::cuda::emu::nccl {

namespace {

struct GroupState {
  int depth = 0;
  std::vector<InitJob> inits;
  std::vector<Collective> collectives;
  Status error;  // the first call of the group that failed
};
thread_local GroupState t_group;

Status mixed() {
  return failure(ncclInvalidUsage, "ncclGroupStart/End: ncclCommInitRank and collectives cannot be in one group "
                                   "(end the group after the inits, then start another for the collectives)");
}

Status keep_error(const Status& s) {
  if (t_group.error.ok()) t_group.error = s;
  return s;
}

// Runs fn(i) for i in [0, n): inline when n == 1, else each on its own thread; returns the
// first failure by index.
template <class F>
Status run_each(size_t n, F fn) {
  std::vector<Status> results(n);
  if (n == 1) {
    results[0] = fn(size_t{0});
  } else {
    std::vector<std::thread> threads;
    threads.reserve(n);
    for (size_t i = 0; i < n; ++i) threads.emplace_back([&results, &fn, i] { results[i] = fn(i); });
    for (std::thread& t : threads) t.join();
  }
  for (Status& s : results)
    if (!s.ok()) return s;
  return {};
}

// The group's collectives, split by communicator (each keeping its calls' order).
std::vector<std::vector<Collective>> by_communicator(const std::vector<Collective>& all) {
  std::vector<std::vector<Collective>> out;
  for (const Collective& c : all) {
    auto it = out.begin();
    while (it != out.end() && it->front().comm != c.comm) ++it;
    if (it == out.end())
      out.push_back({c});
    else
      it->push_back(c);
  }
  return out;
}

}  // namespace

bool in_group() { return t_group.depth > 0; }

Status group_add(const InitJob& job, const Status& checked) {
  if (!checked.ok()) return keep_error(checked);
  if (!t_group.collectives.empty()) return keep_error(mixed());
  t_group.inits.push_back(job);
  return {};
}

Status group_add(const Collective& c, const Status& checked) {
  if (!checked.ok()) return keep_error(checked);
  if (!t_group.inits.empty()) return keep_error(mixed());
  t_group.collectives.push_back(c);
  return {};
}

Status run_init_jobs(const InitJob* jobs, size_t n) {
  return run_each(n, [jobs](size_t i) {
    const InitJob& j = jobs[i];
    return init_rank(j.out, j.nranks, j.id, j.rank, j.device);
  });
}

}  // namespace pn::cuda::emu::nccl

namespace nccl = pn::cuda::emu::nccl;

ncclResult_t ncclGroupStart() {
  ++nccl::t_group.depth;
  return ncclSuccess;
}

ncclResult_t ncclGroupEnd() {
  nccl::GroupState& g = nccl::t_group;
  if (g.depth == 0)
    return nccl::report(nccl::failure(ncclInvalidUsage, "ncclGroupEnd: not in a group call (no ncclGroupStart)"));
  if (--g.depth > 0) return ncclSuccess;
  nccl::GroupState run = std::move(g);
  g = nccl::GroupState();
  if (!run.error.ok()) return nccl::report(run.error);
  if (!run.inits.empty()) return nccl::report(nccl::run_init_jobs(run.inits.data(), run.inits.size()));
  const std::vector<std::vector<nccl::Collective>> parts = nccl::by_communicator(run.collectives);
  return nccl::report(nccl::run_each(parts.size(), [&parts](size_t i) {
    for (const nccl::Collective& c : parts[i])
      if (nccl::Status s = nccl::run_collective(c); !s.ok()) return s;
    return nccl::Status{};
  }));
}
