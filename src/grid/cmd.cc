// The cmd runner's process: fork and exec with pipes for stdin, stdout and stderr, in a process
// group of its own, killed (the group) at its timeout or when its output passes kMaxCmdOutput.
// It runs on a thread of its own; the workflow kills the group on cancel through `pid`. Every
// wait is bounded by the deadline: stdin is written as the child reads it (a child that never
// reads cannot hold the runner), and a child that closes its output early is still waited for
// with the deadline.
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/clock.h"
#include "grid/internal.h"

namespace spiker::grid {

namespace {

// A child's end of a pipe and ours; ours closed when done with it.
struct Pipes {
  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
  ~Pipes() {
    for (int* p : {in, out, err}) {
      for (int k = 0; k < 2; ++k) {
        if (p[k] >= 0) ::close(p[k]);
      }
    }
  }
  static void close(int& fd) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

// In the forked child of a threaded process: no allocation, only calls safe after fork.
[[noreturn]] void exec_child(const Pipes& p, char* const* args, const char* cannot) {
  setpgid(0, 0);
  signal(SIGPIPE, SIG_DFL);  // a child inherits an ignored SIGPIPE through exec
  dup2(p.in[0], 0);
  dup2(p.out[1], 1);
  dup2(p.err[1], 2);
  execvp(args[0], args);
  const char* why = std::strerror(errno);  // glibc: a static string per errno
  [[maybe_unused]] ssize_t w = ::write(2, cannot, std::strlen(cannot));
  w = ::write(2, why, std::strlen(why));
  w = ::write(2, "\n", 1);
  _exit(127);
}

// Waits until `pid` has exited (not reaped yet: its id stays its own) or `deadline_ns` passes;
// false when it still runs then.
bool exited_by(pid_t pid, int64_t deadline_ns) {
  for (;;) {
    siginfo_t info{};
    int r = waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT);
    if ((r == 0 && info.si_pid == pid) || (r < 0 && errno != EINTR)) return true;
    if (mono_now_ns() >= deadline_ns) return false;
    usleep(5'000);
  }
}

}  // namespace

CmdResult run_cmd(const std::vector<std::string>& argv, const std::string& input,
                  int64_t timeout_ms, std::atomic<pid_t>* pid_out) {
  CmdResult r;
  Pipes p;
  if (pipe2(p.in, O_CLOEXEC) != 0 || pipe2(p.out, O_CLOEXEC) != 0 || pipe2(p.err, O_CLOEXEC) != 0) {
    r.error = std::string("pipe: ") + std::strerror(errno);
    return r;
  }
  // Writing to a child that exited must be EPIPE, not a signal that ends LoadSpiker.
  signal(SIGPIPE, SIG_IGN);
  fcntl(p.in[1], F_SETFL, fcntl(p.in[1], F_GETFL) | O_NONBLOCK);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::string cannot = fmt::format("cannot run {}: ", argv.at(0));
  pid_t pid = fork();
  if (pid < 0) {
    r.error = std::string("fork: ") + std::strerror(errno);
    return r;
  }
  if (pid == 0) exec_child(p, args.data(), cannot.c_str());
  setpgid(pid, pid);  // as the child does: the group exists before anyone may kill it
  pid_out->store(pid);
  Pipes::close(p.in[0]);
  Pipes::close(p.out[1]);
  Pipes::close(p.err[1]);
  size_t written = 0;
  if (input.empty()) Pipes::close(p.in[1]);
  int64_t deadline = mono_now_ns() + timeout_ms * 1'000'000;
  std::string too_much;  // which output passed the limit
  bool timed_out = false;
  for (;;) {
    pollfd fds[3] = {{p.out[0], POLLIN, 0}, {p.err[0], POLLIN, 0}, {p.in[1], POLLOUT, 0}};
    if (fds[0].fd < 0 && fds[1].fd < 0) break;
    int64_t left_ms = (deadline - mono_now_ns()) / 1'000'000;
    if (left_ms <= 0) {
      timed_out = true;
      break;
    }
    if (poll(fds, 3, static_cast<int>(std::min<int64_t>(left_ms, 1000))) < 0 && errno != EINTR) {
      break;
    }
    if (fds[2].fd >= 0 && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP)) != 0) {
      ssize_t n = ::write(p.in[1], input.data() + written, input.size() - written);
      if (n > 0) written += static_cast<size_t>(n);
      if ((n < 0 && errno != EAGAIN && errno != EINTR) || written == input.size()) {
        Pipes::close(p.in[1]);  // all written, or the child stopped reading (EPIPE)
      }
    }
    for (int k = 0; k < 2; ++k) {
      if (fds[k].fd < 0 || (fds[k].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      std::string& to = k == 0 ? r.out : r.err;
      char buf[65536];
      ssize_t n = ::read(fds[k].fd, buf, std::min(sizeof buf, kMaxCmdOutput + 1 - to.size()));
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (n <= 0) {
        Pipes::close(k == 0 ? p.out[0] : p.err[0]);
        continue;
      }
      to.append(buf, static_cast<size_t>(n));
      if (to.size() > kMaxCmdOutput) {
        to.resize(kMaxCmdOutput);
        too_much = k == 0 ? "stdout" : "stderr";
      }
    }
    if (!too_much.empty()) break;
  }
  // Output closed: the process may still run (it closed them, or left a child holding them).
  bool ended = too_much.empty() && !timed_out && exited_by(pid, deadline);
  if (!ended) {
    timed_out = too_much.empty();
    kill(-pid, SIGKILL);  // the group: what it started goes with it
  }
  pid_out->store(0);  // before it is reaped: a cancel never kills a reused id
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (timed_out) r.error = fmt::format("timed out after {} ms (killed)", timeout_ms);
  if (!too_much.empty()) {
    r.error = fmt::format(
        "its {} passed {} MiB (the limit on a cmd step's captured output): killed; the output "
        "keeps the first {} MiB. Write large output to a file and pass its path instead",
        too_much, kMaxCmdOutput >> 20, kMaxCmdOutput >> 20);
  }
  return r;
}

}  // namespace spiker::grid
