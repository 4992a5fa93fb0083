// The MPI communicator (compiled only when the build found MPI). Every call is checked:
// errors come back as codes (MPI_ERRORS_RETURN) and become pn::Error naming the call.
#include <mpi.h>
#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "autograd/error.h"
#include "nn/communicator.h"

namespace pn::nn {

namespace {

void check_mpi(int rc, const char* call, int64_t n) {
  if (rc == MPI_SUCCESS) return;
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  PN_FAIL("{} ({} elements) failed: {}", call, n, std::string(msg, static_cast<size_t>(len)));
}

// MPI counts are int: long buffers go in chunks.
constexpr int64_t kChunk = int64_t{1} << 30;

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator() {
    int inited = 0;
    MPI_Initialized(&inited);
    if (!inited) {
      int provided = 0;
      MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
      std::atexit([] {
        int fin = 0;
        MPI_Finalized(&fin);
        if (!fin) MPI_Finalize();
      });
    }
    MPI_Comm_dup(MPI_COMM_WORLD, &comm_);
    MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
    MPI_Comm node;
    check_mpi(MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node), "MPI_Comm_split_type", 0);
    MPI_Comm_rank(node, &local_rank_);
    MPI_Comm_size(node, &local_size_);
    MPI_Comm_free(&node);
    share_cores_between_local_ranks();
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_rank() const override { return local_rank_; }
  std::string backend() const override { return "mpi"; }
  void allreduce_sum(float* data, int64_t n) override { allreduce(data, n, MPI_FLOAT, MPI_SUM); }
  void allreduce_sum(double* data, int64_t n) override { allreduce(data, n, MPI_DOUBLE, MPI_SUM); }
  void allreduce_max(double* data, int64_t n) override { allreduce(data, n, MPI_DOUBLE, MPI_MAX); }
  void broadcast(void* data, int64_t bytes, int root) override {
    PN_CHECK(root >= 0 && root < size_, "broadcast: root {} outside ranks 0..{}", root, size_ - 1);
    auto* p = static_cast<char*>(data);
    for (int64_t off = 0; off < bytes; off += kChunk)
      check_mpi(MPI_Bcast(p + off, static_cast<int>(std::min(kChunk, bytes - off)), MPI_BYTE, root, comm_),
                "MPI_Bcast", bytes);
  }
  void barrier() override { check_mpi(MPI_Barrier(comm_), "MPI_Barrier", 0); }
  [[noreturn]] void abort(const std::string& why, int code) override {
    std::fprintf(stderr, "penumbra: rank %d of %d aborting all ranks: %s\n", rank_, size_, why.c_str());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, code);
    std::exit(code);  // MPI_Abort does not return; this keeps [[noreturn]] honest
  }

 private:
  template <class T>
  void allreduce(T* data, int64_t n, MPI_Datatype type, MPI_Op op) {
    for (int64_t off = 0; off < n; off += kChunk)
      check_mpi(MPI_Allreduce(MPI_IN_PLACE, data + off, static_cast<int>(std::min(kChunk, n - off)), type, op, comm_),
                "MPI_Allreduce", n);
  }
  // Ranks on one node split its cores (OpenMP threads) unless OMP_NUM_THREADS says
  // otherwise: N ranks x all cores each would oversubscribe the node, and OpenMP barriers
  // degrade badly when their threads wait for a core.
  void share_cores_between_local_ranks() const {
    const char* set = std::getenv("OMP_NUM_THREADS");
    if (set && *set) return;
    const int cores = omp_get_num_procs();
    omp_set_num_threads(std::max(1, cores / std::max(1, local_size_)));
  }
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
};

}  // namespace

std::shared_ptr<Communicator> make_mpi_communicator() { return std::make_shared<MpiCommunicator>(); }

}  // namespace pn::nn
