// An in-process stand-in for `mpirun` in the examples: n ranks as n threads of one process,
// each with an nn::Communicator (the host interface nn/communicator.h defines: sum and max
// all-reduce, broadcast, barrier). A collective copies every rank's buffer into a slot of
// its own, meets at a barrier, and every rank then combines the slots in rank order, so all
// ranks get identical, deterministic results (as the emulated NCCL does). It counts the
// all-reduce calls, so an example can see how many buckets a step sent.
// run_ranks(n, body) runs body(collectives) on each rank's thread; an error on any rank
// ends the process with exit status 1 (the others would wait at a barrier forever).
#pragma once
#include <atomic>
#include <barrier>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "nn/communicator.h"

namespace pn::examples {

struct ThreadWorld {
  explicit ThreadWorld(int n) : size(n), meet(n), slots(static_cast<size_t>(n)) {}
  int size;
  std::barrier<> meet;
  std::vector<std::vector<char>> slots;
  std::atomic<int> allreduce_calls{0};  // counted once per collective (by rank 0)
};

class ThreadCommunicator final : public nn::Communicator {
 public:
  ThreadCommunicator(std::shared_ptr<ThreadWorld> world, int rank) : world_(std::move(world)), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return world_->size; }
  int local_rank() const override { return rank_; }
  std::string backend() const override { return "threads"; }
  const ThreadWorld& world() const { return *world_; }
  void allreduce_sum(float* data, int64_t n) override { combine(data, n, [](float a, float b) { return a + b; }); }
  void allreduce_sum(double* data, int64_t n) override { combine(data, n, [](double a, double b) { return a + b; }); }
  void allreduce_max(double* data, int64_t n) override {
    combine(data, n, [](double a, double b) { return a > b ? a : b; });
  }
  void broadcast(void* data, int64_t bytes, int root) override {
    if (rank_ == root) world_->slots[0].assign(static_cast<char*>(data), static_cast<char*>(data) + bytes);
    world_->meet.arrive_and_wait();
    if (rank_ != root) std::memcpy(data, world_->slots[0].data(), static_cast<size_t>(bytes));
    world_->meet.arrive_and_wait();  // nobody overwrites slot 0 before everyone has read it
  }
  void barrier() override { world_->meet.arrive_and_wait(); }
  [[noreturn]] void abort(const std::string& why, int code) override {
    std::fprintf(stderr, "rank %d aborts: %s\n", rank_, why.c_str());
    std::_Exit(code);
  }

 private:
  template <class T, class Op>
  void combine(T* data, int64_t n, Op op) {
    const size_t bytes = static_cast<size_t>(n) * sizeof(T);
    if (rank_ == 0) ++world_->allreduce_calls;
    world_->slots[static_cast<size_t>(rank_)].assign(reinterpret_cast<char*>(data), reinterpret_cast<char*>(data) + bytes);
    world_->meet.arrive_and_wait();
    std::vector<T> out(static_cast<size_t>(n));
    std::memcpy(out.data(), world_->slots[0].data(), bytes);
    for (int r = 1; r < world_->size; ++r) {
      const T* theirs = reinterpret_cast<const T*>(world_->slots[static_cast<size_t>(r)].data());
      for (int64_t i = 0; i < n; ++i) out[static_cast<size_t>(i)] = op(out[static_cast<size_t>(i)], theirs[i]);
    }
    world_->meet.arrive_and_wait();  // every rank has read every slot
    std::memcpy(data, out.data(), bytes);
  }
  std::shared_ptr<ThreadWorld> world_;
  int rank_;
};

// Runs body on n ranks (threads) and returns the world (for its counters) once all are done.
inline std::shared_ptr<ThreadWorld> run_ranks(int n, const std::function<void(const nn::Collectives&)>& body) {
  auto world = std::make_shared<ThreadWorld>(n);
  std::vector<std::thread> threads;
  for (int r = 0; r < n; ++r)
    threads.emplace_back([&, r] {
      try {
        body(nn::Collectives(std::make_shared<ThreadCommunicator>(world, r)));
      } catch (const std::exception& e) {
        std::fprintf(stderr, "rank %d failed: %s\n", r, e.what());
        std::_Exit(1);
      }
    });
  for (auto& t : threads) t.join();
  return world;
}

}  // namespace pn::examples
