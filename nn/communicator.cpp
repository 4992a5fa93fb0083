#include "nn/communicator.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "autograd/error.h"

namespace pn::nn {

// Defined in mpi_communicator.cpp when the build has MPI, else below.
std::shared_ptr<Communicator> make_mpi_communicator();

namespace {

class LocalCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  int local_rank() const override { return 0; }
  std::string backend() const override { return "local"; }
  void allreduce_sum(float*, int64_t) override {}
  void allreduce_sum(double*, int64_t) override {}
  void allreduce_max(double*, int64_t) override {}
  void broadcast(void*, int64_t, int root) override {
    PN_CHECK(root == 0, "broadcast: root {} does not exist in a single-process run", root);
  }
  void barrier() override {}
  [[noreturn]] void abort(const std::string& why, int code) override {
    std::fprintf(stderr, "penumbra: aborting: %s\n", why.c_str());
    std::exit(code);
  }
};

bool env_set(const char* name) {
  const char* v = std::getenv(name);
  return v && *v;
}


// FNV-1a: a stable 64-bit fingerprint, identical on every platform.
uint64_t fingerprint(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

}  // namespace

std::shared_ptr<Communicator> local_communicator() { return std::make_shared<LocalCommunicator>(); }

bool launched_by_mpi() {
  return env_set("OMPI_COMM_WORLD_SIZE") || env_set("PMI_SIZE") || env_set("PMIX_RANK") ||
         env_set("PMI_RANK");
}

std::shared_ptr<Communicator> world_communicator() {
  static std::shared_ptr<Communicator> world = [] {
    const char* no = std::getenv("PENUMBRA_NO_MPI");
    if (launched_by_mpi() && !(no && std::strcmp(no, "0") != 0)) {
      auto mpi = make_mpi_communicator();
      if (mpi) return mpi;
      std::fprintf(stderr, "penumbra: warning: launched by an MPI launcher, but this build has no MPI; "
                           "running as a single process\n");
    }
    return local_communicator();
  }();
  return world;
}

namespace {
DeviceCommunicatorFactory& device_factory() {
  static DeviceCommunicatorFactory f;
  return f;
}
}  // namespace

void register_device_communicator(DeviceCommunicatorFactory make) { device_factory() = std::move(make); }

std::shared_ptr<DeviceCommunicator> device_communicator(std::shared_ptr<Communicator> host, Device device) {
  PN_CHECK(host != nullptr, "device_communicator: no host communicator");
  PN_CHECK(device.is_cuda(), "device_communicator: {} is not a CUDA device (host tensors use the host communicator)",
           device.str());
  PN_CHECK(static_cast<bool>(device_factory()),
           "device_communicator: this program has no GPU collectives (built without CUDA or NCCL); "
           "train on one GPU, or use run.device = cpu for multi-rank runs");
  auto c = device_factory()(std::move(host), device);
  PN_CHECK(c != nullptr, "device_communicator: no communicator was made for {}", device.str());
  return c;
}

namespace {
// The device communicator a CUDA tensor's collective goes through (checked).
DeviceCommunicator& device_side(const Collectives& c, const Tensor& t, const char* what) {
  PN_CHECK(c.device != nullptr, "{}: {} is on {} but this run has no device communicator (NCCL): make one with "
           "device_communicator(host, device) for multi-rank GPU training", what, t.desc(), t.device().str());
  PN_CHECK(t.device() == c.device->device(), "{}: {} is on {} but the device communicator is on {}", what, t.desc(),
           t.device().str(), c.device->device().str());
  return *c.device;
}
}  // namespace

void Collectives::allreduce_sum(const Tensor& t) const {
  if (size() == 1) return;
  if (t.device().is_cuda()) return device_side(*this, t, "allreduce_sum").allreduce_sum(t);
  Tensor h = t;
  PN_DISPATCH_FLOAT(h.dtype(), host->allreduce_sum(h.data<scalar_t>(), h.numel()));
}

void Collectives::broadcast(const Tensor& t, int root) const {
  if (size() == 1) return;
  if (t.device().is_cuda()) return device_side(*this, t, "broadcast").broadcast(t, root);
  Tensor h = t;
  host->broadcast(h.raw(), h.numel() * static_cast<int64_t>(dtype_size(h.dtype())), root);
}

void abort_ranks_on_fatal_error(const std::string& message) {
  if (!launched_by_mpi()) return;
  auto world = world_communicator();
  if (world->size() > 1) world->abort(message);
}

void check_same_on_all_ranks(Communicator& comm, const std::string& what, const std::string& value) {
  if (comm.size() == 1) return;
  // Each rank contributes its fingerprint in its own slot (as two exact 32-bit halves).
  const uint64_t h = fingerprint(value);
  std::vector<double> slots(2 * comm.size(), 0.0);
  slots[2 * comm.rank()] = static_cast<double>(h >> 32);
  slots[2 * comm.rank() + 1] = static_cast<double>(h & 0xffffffffu);
  comm.allreduce_sum(slots.data(), static_cast<int64_t>(slots.size()));
  std::string differ;
  for (int r = 1; r < comm.size(); ++r)
    if (slots[2 * r] != slots[0] || slots[2 * r + 1] != slots[1]) differ += (differ.empty() ? "" : ", ") + std::to_string(r);
  PN_CHECK(differ.empty(), "{} differs across ranks: rank(s) {} disagree with rank 0 (start every rank with the "
           "same configuration)", what, differ);
}

}  // namespace pn::nn

#ifndef PENUMBRA_HAVE_MPI
std::shared_ptr<pn::nn::Communicator> pn::nn::make_mpi_communicator() { return nullptr; }
#endif
