// The emulated NCCL's transport: one shared-memory file per communicator, named from the
// unique id's random token, in the directory the id names ($TMPDIR or /tmp of the rank that
// made it). Its header holds a process-shared robust mutex and condition variable, a
// generation-counting barrier, each rank's identity (device, host, pid) and what it is doing
// (its last barrier's signature), and the communicator's failure state; after the header come
// the per-rank data slots (kSlotBytes each) that collectives exchange their chunks through.
//
// The first rank to arrive creates the file under a private name, sizes and initialises it,
// then publishes it with link() (atomic: a rank that loses the race opens the winner's file);
// the rank whose join completes the communicator unlinks it, so nothing is left behind even
// if a process dies later. Waits sleep on the condition variable (no spinning), waking at
// least once a second to notice a peer process that has died; every wait is bounded by the
// timeout, after which the communicator is failed for every rank, naming who did not arrive.
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <new>
#include <thread>

#include "kernels/cuda/emu/nccl_emu_internal.h"

namespace pn::cuda::emu::nccl {

namespace {

constexpr uint64_t kFileMagic = 0x504e4e43434c3031ull;  // "PNNCCL01"
constexpr size_t kSlotBytes = size_t{1} << 20;
constexpr size_t kPage = 4096;

struct RankRecord {
  int32_t joined = 0;
  int32_t departed = 0;  // destroyed or aborted its communicator
  int32_t device = -1;
  int32_t pid = 0;
  uint64_t host_hash = 0;
  uint64_t entered = 0;  // barriers this rank has entered
  Signature sig;         // what it entered the last one for
};

enum class Failed : int32_t { No = 0, Yes = 1 };

size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

double now_s() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

timespec at(double s) {
  timespec t{};
  t.tv_sec = static_cast<time_t>(s);
  t.tv_nsec = static_cast<long>((s - static_cast<double>(t.tv_sec)) * 1e9);
  return t;
}

std::string file_path(const IdLayout& id) {
  std::string name = "pn-nccl-emu-";
  char buf[3];
  for (unsigned char c : id.token) {
    std::snprintf(buf, sizeof buf, "%02x", c);
    name += buf;
  }
  return std::string(id.dir, strnlen(id.dir, sizeof id.dir)) + "/" + name;
}

std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

}  // namespace

struct Rendezvous::Shared {
  uint64_t magic;
  int32_t nranks;
  int32_t joined;
  uint64_t slot_bytes;
  uint64_t data_offset;
  pthread_mutex_t mutex;
  pthread_cond_t cond;
  uint64_t generation;  // barriers completed
  int32_t arrived;      // ranks inside the current barrier
  Failed failed;
  char failure[768];
  RankRecord* ranks() { return reinterpret_cast<RankRecord*>(reinterpret_cast<char*>(this) + round_up(sizeof(Shared), 64)); }
};

namespace {

// Holds the shared mutex; a rank that died holding it leaves it consistent but the
// communicator failed (its data may be half written).
class Lock {
 public:
  template <class S>
  explicit Lock(S* s) : m_(&s->mutex) {
    if (pthread_mutex_lock(m_) == EOWNERDEAD) {
      pthread_mutex_consistent(m_);
      owner_died_ = true;
    }
  }
  ~Lock() { pthread_mutex_unlock(m_); }
  Lock(const Lock&) = delete;
  Lock& operator=(const Lock&) = delete;
  // Waits on cond until `deadline` (CLOCK_MONOTONIC seconds).
  void wait(pthread_cond_t* cond, double deadline) {
    const timespec t = at(deadline);
    if (pthread_cond_timedwait(cond, m_, &t) == EOWNERDEAD) {
      pthread_mutex_consistent(m_);
      owner_died_ = true;
    }
  }
  bool owner_died() const { return owner_died_; }

 private:
  pthread_mutex_t* m_;
  bool owner_died_ = false;
};

// The header and the rank records, rounded up to a page: where the data slots start.
size_t header_bytes(int nranks) {
  return round_up(round_up(sizeof(Rendezvous::Shared), 64) + sizeof(RankRecord) * static_cast<size_t>(nranks), kPage);
}

}  // namespace

// ---- Creating and opening the file ------------------------------------------------------------

namespace {

// Initialises a fresh file's header (only its creator sees it before it is published).
template <class S>
void init_header(S* s, int nranks, size_t data_offset) {
  s->magic = kFileMagic;
  s->nranks = nranks;
  s->joined = 0;
  s->slot_bytes = kSlotBytes;
  s->data_offset = data_offset;
  pthread_mutexattr_t ma;
  pthread_mutexattr_init(&ma);
  pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
  pthread_mutex_init(&s->mutex, &ma);
  pthread_mutexattr_destroy(&ma);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&s->cond, &ca);
  pthread_condattr_destroy(&ca);
  s->generation = 0;
  s->arrived = 0;
  s->failed = Failed::No;
  s->failure[0] = 0;
  RankRecord* r = s->ranks();
  for (int i = 0; i < nranks; ++i) new (&r[i]) RankRecord();
}

// Creates the file under a private name and links it into place; false (errno EEXIST) when
// another rank published it first.
bool create_file(const std::string& path, int nranks, size_t total, size_t data_offset, int rank, std::string& err) {
  const std::string tmp = path + ".tmp." + std::to_string(getpid()) + "." +
                          std::to_string(std::hash<std::thread::id>()(std::this_thread::get_id())) + "." +
                          std::to_string(rank);
  const int fd = open(tmp.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
  if (fd < 0) return err = errno_text("cannot create " + tmp), false;
  bool ok = ftruncate(fd, static_cast<off_t>(total)) == 0;
  if (!ok) err = errno_text("cannot size " + tmp);
  void* p = ok ? mmap(nullptr, data_offset, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) : MAP_FAILED;
  if (ok && p == MAP_FAILED) ok = false, err = errno_text("cannot map " + tmp);
  if (ok) {
    init_header(static_cast<Rendezvous::Shared*>(p), nranks, data_offset);
    munmap(p, data_offset);
    if (link(tmp.c_str(), path.c_str()) != 0) {
      ok = false;
      if (errno != EEXIST) err = errno_text("cannot publish " + path);
    }
  }
  const int saved = errno;
  close(fd);
  unlink(tmp.c_str());
  errno = saved;
  return ok;
}

// Opens the communicator's file, first creating and publishing it if no rank has yet.
Status open_or_create(const std::string& path, int nranks, int rank, int& fd) {
  const size_t data_offset = header_bytes(nranks);
  const size_t total = data_offset + kSlotBytes * static_cast<size_t>(nranks);
  fd = -1;
  for (int attempt = 0; fd < 0 && attempt < 4; ++attempt) {
    fd = open(path.c_str(), O_RDWR);
    if (fd >= 0 || errno != ENOENT) break;
    std::string err;
    if (!create_file(path, nranks, total, data_offset, rank, err) && !err.empty())
      return failure(ncclSystemError, "ncclCommInitRank: " + err);
  }
  if (fd < 0) return failure(ncclSystemError, "ncclCommInitRank: " + errno_text("cannot open " + path));
  return {};
}

// Whether the mapped file is a rendezvous file of nranks ranks.
Status check_file(const Rendezvous::Shared* s, size_t mapped, const std::string& path, int nranks, int rank) {
  if (mapped < sizeof(Rendezvous::Shared) || s->magic != kFileMagic)
    return failure(ncclInternalError, "ncclCommInitRank: " + path + " is not an emulated-NCCL rendezvous file");
  if (s->nranks != nranks)
    return failure(ncclInvalidUsage, "ncclCommInitRank: rank " + std::to_string(rank) + " was given nranks=" +
                                         std::to_string(nranks) + " but the communicator of this unique id was "
                                         "created with nranks=" + std::to_string(s->nranks) +
                                         " (every rank must pass the same nranks)");
  if (mapped < header_bytes(nranks) + s->slot_bytes * static_cast<size_t>(nranks))
    return failure(ncclInternalError, "ncclCommInitRank: " + path + " is shorter than its header says");
  return {};
}

// Records this rank in the file; the rank that completes the communicator unlinks it.
Status enroll(Rendezvous::Shared* s, const std::string& path, int nranks, int rank, int device) {
  Lock lock(s);
  RankRecord& me = s->ranks()[rank];
  if (me.joined)
    return failure(ncclInvalidUsage, "ncclCommInitRank: rank " + std::to_string(rank) + " of this unique id has "
                                     "already joined (pid " + std::to_string(me.pid) + ", device " +
                                     std::to_string(me.device) + "); each rank needs its own rank number");
  me.joined = 1;
  me.device = device;
  me.pid = getpid();
  me.host_hash = this_host_hash();
  if (++s->joined == nranks) unlink(path.c_str());  // everyone has it mapped now
  return {};
}

}  // namespace

Status Rendezvous::join(const IdLayout& id, int nranks, int rank, int device, double timeout_s,
                        std::unique_ptr<Rendezvous>& out) {
  const std::string path = file_path(id);
  int fd = -1;
  if (Status st = open_or_create(path, nranks, rank, fd); !st.ok()) return st;
  struct stat st{};
  fstat(fd, &st);
  void* p = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (p == MAP_FAILED) return failure(ncclSystemError, "ncclCommInitRank: " + errno_text("cannot map " + path));
  std::unique_ptr<Rendezvous> rv(new Rendezvous());
  rv->shared_ = static_cast<Shared*>(p);
  rv->mapped_bytes_ = static_cast<size_t>(st.st_size);
  rv->rank_ = rank;
  rv->nranks_ = nranks;
  rv->timeout_s_ = timeout_s;
  if (Status s = check_file(rv->shared_, rv->mapped_bytes_, path, nranks, rank); !s.ok()) return s;
  rv->slot_bytes_ = rv->shared_->slot_bytes;
  if (Status s = enroll(rv->shared_, path, nranks, rank, device); !s.ok()) return s;
  Status joined = rv->barrier(make_signature("ncclCommInitRank", 0, static_cast<uint64_t>(nranks), -1, -1, -1));
  if (!joined.ok()) {
    unlink(path.c_str());  // the job failed: leave no file behind
    return joined;
  }
  out = std::move(rv);
  return {};
}

Rendezvous::~Rendezvous() {
  if (shared_) munmap(shared_, mapped_bytes_);
}

char* Rendezvous::slot(int r) const {
  return reinterpret_cast<char*>(shared_) + shared_->data_offset + static_cast<size_t>(r) * slot_bytes_;
}

// ---- Barriers and failures --------------------------------------------------------------------

namespace {

// Ranks that have not yet entered barrier number `target`, each with what it did last.
std::string missing_ranks(Rendezvous::Shared* s, uint64_t target, bool& any_dead, bool& any_departed) {
  std::string out;
  RankRecord* r = s->ranks();
  for (int q = 0; q < s->nranks; ++q) {
    if (r[q].entered >= target) continue;
    std::string who = "rank " + std::to_string(q);
    if (!r[q].joined) {
      who += " (has not joined: no ncclCommInitRank yet)";
    } else {
      who += " (pid " + std::to_string(r[q].pid) + ", device " + std::to_string(r[q].device) + ", last in " +
             describe(r[q].sig) + ")";
      const bool dead = r[q].host_hash == this_host_hash() && kill(r[q].pid, 0) != 0 && errno == ESRCH;
      if (dead) who += " has exited";
      if (r[q].departed) who += " has destroyed or aborted its communicator";
      any_dead = any_dead || dead;
      any_departed = any_departed || r[q].departed;
    }
    out += (out.empty() ? "" : ", ") + who;
  }
  return out;
}

template <class S>
void set_failed(S* s, const std::string& why) {
  if (s->failed != Failed::No) return;
  s->failed = Failed::Yes;
  std::snprintf(s->failure, sizeof s->failure, "%s", why.c_str());
  pthread_cond_broadcast(&s->cond);
}

}  // namespace

Status Rendezvous::barrier(const Signature& mine) {
  Shared* s = shared_;
  Lock lock(s);
  const std::string me = describe(mine) + " on rank " + std::to_string(rank_) + " of " + std::to_string(nranks_);
  if (s->failed != Failed::No)
    return failure(ncclRemoteError, std::string(mine.what) + ": the communicator has failed: " + s->failure);
  RankRecord& rec = s->ranks()[rank_];
  rec.sig = mine;
  const uint64_t target = s->generation + 1;
  rec.entered = target;
  if (++s->arrived == nranks_) {
    s->arrived = 0;
    s->generation = target;
    pthread_cond_broadcast(&s->cond);
    return {};
  }
  const double deadline = now_s() + timeout_s_;
  while (s->generation < target && s->failed == Failed::No && !lock.owner_died()) {
    const double now = now_s();
    bool dead = false, departed = false;
    std::string missing = missing_ranks(s, target, dead, departed);
    if (dead || departed)
      set_failed(s, me + " cannot complete: " + missing);
    else if (now >= deadline)
      set_failed(s, me + " timed out after " + std::to_string(static_cast<int>(timeout_s_)) + " s waiting for " +
                        missing + " (every rank must call the same collectives in the same order; "
                        "PN_NCCL_EMU_TIMEOUT_S sets the limit)");
    else
      lock.wait(&s->cond, std::min(deadline, now + 1.0));
  }
  if (lock.owner_died()) set_failed(s, me + ": a rank died inside the emulated NCCL");
  if (s->generation >= target) return {};
  return failure(ncclRemoteError, std::string(mine.what) + ": " + s->failure);
}

std::string Rendezvous::mismatch(const Signature& mine) {
  Lock lock(shared_);
  std::string out;
  const RankRecord* r = shared_->ranks();
  for (int q = 0; q < nranks_; ++q) {
    const Signature& o = r[q].sig;
    const bool same = std::strcmp(o.what, mine.what) == 0 && o.count == mine.count && o.datatype == mine.datatype &&
                      o.op == mine.op && o.root == mine.root;
    if (!same) out += (out.empty() ? "" : "; ") + ("rank " + std::to_string(q) + " called " + describe(o));
  }
  return out;
}

std::string Rendezvous::duplicate_gpu() {
  Lock lock(shared_);
  const RankRecord* r = shared_->ranks();
  for (int a = 0; a < nranks_; ++a)
    for (int b = a + 1; b < nranks_; ++b)
      if (r[a].host_hash == r[b].host_hash && r[a].device == r[b].device)
        return "Duplicate GPU detected : rank " + std::to_string(a) + " and rank " + std::to_string(b) +
               " both on CUDA device " + std::to_string(r[a].device) + " of this host (pids " +
               std::to_string(r[a].pid) + ", " + std::to_string(r[b].pid) + "); give each rank its own device";
  return "";
}

void Rendezvous::fail_all(const std::string& why) {
  Lock lock(shared_);
  set_failed(shared_, why);
}

void Rendezvous::depart() {
  Lock lock(shared_);
  shared_->ranks()[rank_].departed = 1;
  pthread_cond_broadcast(&shared_->cond);
}

std::string Rendezvous::shared_failure() {
  Lock lock(shared_);
  return shared_->failed == Failed::No ? "" : shared_->failure;
}

}  // namespace pn::cuda::emu::nccl
