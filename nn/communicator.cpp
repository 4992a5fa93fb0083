#include "nn/communicator.h"

#include <atomic>
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

std::atomic<GpuCommunicatorFactory> g_gpu_factory{nullptr};

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

void set_gpu_communicator_factory(GpuCommunicatorFactory make) { g_gpu_factory.store(make); }

std::shared_ptr<Communicator> gpu_communicator(std::shared_ptr<Communicator> host) {
  PN_CHECK(host != nullptr, "gpu_communicator: no host communicator");
  const GpuCommunicatorFactory make = g_gpu_factory.load();
  PN_CHECK(make != nullptr, "gpu_communicator: no NCCL communicator installed (link penumbra_nn_nccl, or "
           "penumbra_nn_nccl_emu for the emulated GPU, and call pn::nn::install_nccl_communicator())");
  auto nccl = make(std::move(host));
  PN_CHECK(nccl != nullptr, "gpu_communicator: the installed factory made no communicator");
  return nccl;
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
