#include "experiments/run/stdout_tee.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "autograd/error.h"

namespace pn::experiments {

namespace {

std::atomic<bool> g_active{false};

void write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;  // nowhere to report it: the log or terminal went away
    p += w;
    n -= static_cast<size_t>(w);
  }
}

}  // namespace

StdoutTee::StdoutTee(const std::string& log_path) {
  PN_CHECK(!g_active.exchange(true), "{}: stdout is already mirrored to another log", log_path);
  log_fd_ = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd_ < 0) {
    g_active = false;
    PN_FAIL("{}: cannot open the log for writing: {}", log_path, std::strerror(errno));
  }
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    ::close(log_fd_);
    g_active = false;
    PN_FAIL("{}: cannot mirror stdout (pipe failed: {})", log_path, std::strerror(errno));
  }
  std::fflush(stdout);
  saved_stdout_ = ::fcntl(1, F_DUPFD_CLOEXEC, 3);
  ::dup2(fds[1], 1);
  ::close(fds[1]);
  read_end_ = fds[0];
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // a pipe would make stdout fully buffered
  copier_ = std::thread([this] {
    char buf[4096];
    for (;;) {
      ssize_t n = ::read(read_end_, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // EOF: fd 1 was restored and the pipe's last writer closed
      write_all(saved_stdout_, buf, static_cast<size_t>(n));
      write_all(log_fd_, buf, static_cast<size_t>(n));
    }
  });
}

StdoutTee::~StdoutTee() {
  std::fflush(stdout);
  ::dup2(saved_stdout_, 1);  // closes the pipe's write end held by fd 1
  copier_.join();
  ::close(saved_stdout_);
  ::close(read_end_);
  ::close(log_fd_);
  g_active = false;
}

}  // namespace pn::experiments
