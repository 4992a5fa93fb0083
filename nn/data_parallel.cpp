#include "nn/data_parallel.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <numeric>

#include "autograd/error.h"
#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "autograd/ops/concat.h"
#include "autograd/ops/elementwise.h"
#include "nn/layers.h"

namespace pn::nn {

namespace {

using Clock = std::chrono::steady_clock;

// Every tensor a replica must share with rank 0: parameters, then buffers, in a fixed order.
std::vector<Tensor> state_of(const std::vector<Module*>& modules) {
  std::vector<Tensor> out;
  for (Module* m : modules) {
    for (auto& [name, t] : m->named_parameters()) out.push_back(t);
    for (auto& [name, t] : m->named_buffers()) out.push_back(t);
  }
  return out;
}

// grads <- (sum over ranks of grads) / ranks, through one flat buffer on their device (on a
// GPU, the concat, the all-reduce and the copies back are queued in order on its stream).
void allreduce_bucket(const Collectives& comm, std::vector<Tensor>& grads) {
  NoGrad ng;
  std::vector<Tensor> flat_parts;
  for (Tensor& g : grads) flat_parts.push_back(g.reshape({g.numel()}));
  Tensor flat = concat(flat_parts, 0);
  comm.allreduce_sum(flat);
  flat = mul_scalar(flat, 1.0 / comm.size());
  int64_t off = 0;
  for (Tensor& g : grads) {
    g.copy_(narrow(flat, 0, off, g.numel()).reshape(g.shape()));
    off += g.numel();
  }
}

}  // namespace

DataParallel::DataParallel(Collectives comm, std::vector<Module*> modules, int64_t bucket_bytes)
    : comm_(std::move(comm)), modules_(std::move(modules)), bucket_bytes_(bucket_bytes) {
  PN_CHECK(comm_.host != nullptr, "DataParallel: no host communicator");
  PN_CHECK(bucket_bytes_ > 0, "DataParallel: bucket size must be positive, got {}", bucket_bytes_);
  // Replicas must agree on the architecture before anything is exchanged: names, dtypes and
  // shapes (not devices: on GPUs every rank has its own).
  std::string arch;
  for (Module* m : modules_)
    for (auto& [name, t] : m->named_parameters())
      arch += name + " " + dtype_name(t.dtype()) + shape_str(t.shape()) + ";";
  check_same_on_all_ranks(*comm_.host, "the model's parameter list", arch);
}

void DataParallel::broadcast_state() {
  auto t0 = Clock::now();
  broadcast_module_state(comm_, modules_);
  comm_seconds_ += std::chrono::duration<double>(Clock::now() - t0).count();
}

void broadcast_module_state(const Collectives& comm, const std::vector<Module*>& modules) {
  if (comm.size() == 1) return;
  for (const Tensor& t : state_of(modules)) comm.broadcast(t, 0);
}

void broadcast_training_state(const Collectives& comm, const CheckpointParts& parts) {
  if (comm.size() == 1) return;
  Communicator& host = *comm.host;
  std::vector<Module*> modules;
  for (const auto& [name, m] : parts.modules) modules.push_back(m);
  broadcast_module_state(comm, modules);
  std::vector<uint64_t> scalars;
  for (const auto& [prefix, o] : parts.optimizers) {
    for (auto& [name, t] : o->named_state()) comm.broadcast(t, 0);
    const double lr = o->base_lr();
    uint64_t lr_bits;
    std::memcpy(&lr_bits, &lr, sizeof lr);
    scalars.insert(scalars.end(), {static_cast<uint64_t>(o->steps()), lr_bits});
  }
  for (const auto& [name, g] : parts.generators) scalars.insert(scalars.end(), {g->seed(), g->offset()});
  host.broadcast(scalars.data(), static_cast<int64_t>(scalars.size() * sizeof(uint64_t)), 0);
  size_t i = 0;
  for (const auto& [prefix, o] : parts.optimizers) {
    double lr;
    std::memcpy(&lr, &scalars[i + 1], sizeof lr);
    o->set_steps(static_cast<int64_t>(scalars[i]));
    o->set_base_lr(lr);
    i += 2;
  }
  for (const auto& [name, g] : parts.generators) {
    g->set_state(scalars[i], scalars[i + 1]);
    i += 2;
  }
  for (const auto& [name, sc] : parts.scalers) {  // loss scalers: their state as text, fixed width
    char text[96] = {};
    const std::string mine = sc->state();
    std::copy(mine.begin(), mine.begin() + std::min<size_t>(mine.size(), sizeof text - 1), text);
    host.broadcast(text, sizeof text, 0);
    sc->set_state(text, "broadcast_training_state: scaler." + name);
  }
}

void DataParallel::average_gradients() {
  if (comm_.size() == 1) return;
  auto t0 = Clock::now();
  std::vector<Tensor> bucket;
  int64_t elems = 0, bytes = 0;
  DType dtype = DType::Float32;
  auto flush = [&] {
    if (bucket.empty()) return;
    allreduce_bucket(comm_, bucket);
    bucket.clear();
    elems = bytes = 0;
  };
  for (Module* m : modules_) {
    for (auto& [name, p] : m->named_parameters()) {
      if (!p.requires_grad()) continue;
      Tensor g = p.grad();
      if (!g.defined()) {
        g = Tensor::zeros(p.shape(), p.dtype(), p.device());
        p.set_grad(g);
      }
      if (!bucket.empty() && (g.dtype() != dtype || bytes >= bucket_bytes_)) flush();
      dtype = g.dtype();
      bucket.push_back(g);
      elems += g.numel();
      bytes += g.numel() * static_cast<int64_t>(dtype_size(g.dtype()));
    }
  }
  flush();
  comm_seconds_ += std::chrono::duration<double>(Clock::now() - t0).count();
}

double DataParallel::average(double value) {
  comm_.host->allreduce_sum(&value, 1);
  return value / comm_.size();
}

int enable_sync_batch_norm(Module& root, const Collectives& comm) {
  int n = 0;
  if (auto* bn = dynamic_cast<BatchNorm*>(&root)) {
    bn->set_sync(comm);
    ++n;
  }
  for (auto& [name, child] : root.children()) n += enable_sync_batch_norm(*child, comm);
  return n;
}

std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int64_t epoch) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t{0});
  // Fisher-Yates from a generator keyed by (seed, epoch).
  Generator gen(seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(epoch));
  for (int64_t i = n - 1; i > 0; --i) std::swap(order[i], order[gen.below(static_cast<uint64_t>(i + 1))]);
  return order;
}

int64_t steps_per_epoch(int64_t n, int64_t per_rank_batch, int ranks) {
  PN_CHECK(per_rank_batch > 0 && ranks > 0, "steps_per_epoch: batch {} and ranks {} must be positive",
           per_rank_batch, ranks);
  return n / (per_rank_batch * ranks);
}

Tensor rank_slice(const Tensor& global_batch, int rank, int ranks) {
  if (ranks == 1) return global_batch;
  PN_CHECK(global_batch.size(0) % ranks == 0, "rank_slice: a batch of {} does not split over {} ranks ({})",
           global_batch.size(0), ranks, global_batch.desc());
  const int64_t per = global_batch.size(0) / ranks;
  return narrow(global_batch, 0, rank * per, per);
}

std::vector<int64_t> rank_batch(const std::vector<int64_t>& order, int64_t step, int64_t per_rank_batch, int rank,
                                int ranks) {
  const int64_t n = static_cast<int64_t>(order.size());
  PN_CHECK(step >= 0 && step < steps_per_epoch(n, per_rank_batch, ranks),
           "rank_batch: step {} outside the {} full global batches of an epoch of {} samples", step,
           steps_per_epoch(n, per_rank_batch, ranks), n);
  const int64_t begin = (step * ranks + rank) * per_rank_batch;
  return {order.begin() + begin, order.begin() + begin + per_rank_batch};
}

}  // namespace pn::nn
