// fork + execve. Between fork and exec the child calls only async-signal-safe functions: the
// parent may have other threads (a test's workers, spdlog's) that held malloc's or a logger's lock
// at the moment of fork, and those locks are never released in the child.
#include "events/child_process.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <map>
#include <system_error>
#include <thread>

extern char** environ;

namespace tasklog::events {
namespace {

// What the child needs, built before fork so the child allocates nothing.
struct ExecImage {
  std::vector<std::string> env_strings;
  std::vector<char*> argv;
  std::vector<char*> envp;
  long max_fd = 0;
};

ExecImage build_image(const SpawnOptions& options) {
  if (options.argv.empty() || !options.argv[0].starts_with('/')) {
    throw std::invalid_argument("spawn: argv[0] must be an absolute path");
  }
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view entry{*e};
    env.insert_or_assign(std::string(entry.substr(0, entry.find('='))), std::string(entry));
  }
  for (const auto& entry : options.env) env.insert_or_assign(entry.substr(0, entry.find('=')), entry);

  ExecImage image;
  for (auto& [key, entry] : env) image.env_strings.push_back(std::move(entry));
  for (const auto& arg : options.argv) image.argv.push_back(const_cast<char*>(arg.c_str()));
  image.argv.push_back(nullptr);
  for (auto& entry : image.env_strings) image.envp.push_back(entry.data());
  image.envp.push_back(nullptr);
  image.max_fd = sysconf(_SC_OPEN_MAX);
  if (image.max_fd <= 0 || image.max_fd > 65536) image.max_fd = 65536;
  return image;
}

bool switch_user(const OsUser& user) {
  return setgroups(user.groups.size(), user.groups.data()) == 0 && setgid(user.gid) == 0 && setuid(user.uid) == 0;
}

[[noreturn]] void fail_child(int error_fd, int error) {
  // The parent reads the errno from the pipe; a short write only loses the detail, not the failure.
  [[maybe_unused]] auto written = write(error_fd, &error, sizeof error);
  _exit(127);
}

void close_descriptors_except(int keep, long max_fd) {
  // close_range exists since Linux 5.9; the loop covers older kernels.
  if (keep > 3 && close_range(3, keep - 1, 0) != 0) {
    for (int fd = 3; fd < keep; ++fd) close(fd);
  }
  if (close_range(keep + 1, ~0U, 0) != 0) {
    for (long fd = keep + 1; fd < max_fd; ++fd) close(static_cast<int>(fd));
  }
}

[[noreturn]] void exec_child(const SpawnOptions& options, const ExecImage& image, int error_fd) {
  // Signal handlers are reset by execve, but ignored signals and the blocked mask are inherited;
  // PostgreSQL must see SIGINT/SIGTERM/SIGPIPE with their default meaning.
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  sigemptyset(&default_action.sa_mask);
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &default_action, nullptr);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);

  const int null_fd = open("/dev/null", O_RDONLY);
  if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0) fail_child(error_fd, errno);
  if (options.output_fd >= 0 &&
      (dup2(options.output_fd, STDOUT_FILENO) < 0 || dup2(options.output_fd, STDERR_FILENO) < 0)) {
    fail_child(error_fd, errno);
  }
  close_descriptors_except(error_fd, image.max_fd);
  if (options.run_as && !switch_user(*options.run_as)) fail_child(error_fd, errno);
  execve(image.argv[0], image.argv.data(), image.envp.data());
  fail_child(error_fd, errno);
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

template <class T>
bool read_exact(int fd, T& value) {
  auto* out = reinterpret_cast<char*>(&value);
  std::size_t got = 0;
  while (got < sizeof value) {
    const ssize_t n = read(fd, out + got, sizeof value - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    got += static_cast<std::size_t>(n);
  }
  return true;
}

struct Pipe {
  int read_end = -1;
  int write_end = -1;
  Pipe() {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
    read_end = fds[0];
    write_end = fds[1];
  }
  ~Pipe() {
    if (read_end >= 0) close(read_end);
    if (write_end >= 0) close(write_end);
  }
  void close_write() {
    close(write_end);
    write_end = -1;
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
};

}  // namespace

std::optional<OsUser> find_os_user(const std::string& name) {
  std::vector<char> buffer(16384);
  passwd entry{};
  passwd* found = nullptr;
  if (getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 || found == nullptr) {
    return std::nullopt;
  }
  OsUser user{name, entry.pw_uid, entry.pw_gid, {}};
  int count = 32;
  user.groups.resize(count);
  while (getgrouplist(name.c_str(), entry.pw_gid, user.groups.data(), &count) < 0) user.groups.resize(count);
  user.groups.resize(count);
  return user;
}

pid_t spawn(const SpawnOptions& options) {
  const ExecImage image = build_image(options);
  Pipe errors;    // the child's errno if execve failed; EOF once it succeeded (O_CLOEXEC)
  Pipe daemon_pid;  // detach only: the intermediate child reports the daemon's pid

  const pid_t child = fork();
  if (child < 0) throw std::system_error(errno, std::generic_category(), "fork");
  if (child == 0) {
    if (!options.detach) exec_child(options, image, errors.write_end);
    // Double fork: the intermediate leads a new session and exits at once, so the daemon is
    // reparented to init, gets no controlling terminal, and a Ctrl-C aimed at us never reaches it.
    if (setsid() < 0) fail_child(errors.write_end, errno);
    const pid_t daemon = fork();
    if (daemon == 0) exec_child(options, image, errors.write_end);
    [[maybe_unused]] auto written = write(daemon_pid.write_end, &daemon, sizeof daemon);
    _exit(daemon < 0 ? 1 : 0);
  }

  errors.close_write();
  daemon_pid.close_write();
  pid_t started = child;
  if (options.detach) {
    pid_t daemon = -1;
    const bool reported = read_exact(daemon_pid.read_end, daemon);
    wait_for_exit(child);
    if (!reported || daemon < 0) throw std::system_error(ECHILD, std::generic_category(), "fork of " + options.argv[0]);
    started = daemon;
  }
  int exec_errno = 0;
  if (read_exact(errors.read_end, exec_errno)) {
    if (!options.detach) wait_for_exit(child);
    throw std::system_error(exec_errno, std::generic_category(), "cannot execute " + options.argv[0]);
  }
  return started;
}

int wait_for_exit(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw std::system_error(errno, std::generic_category(), "waitpid");
  }
  return decode_status(status);
}

std::optional<int> try_wait(pid_t pid) {
  int status = 0;
  const pid_t r = waitpid(pid, &status, WNOHANG);
  if (r < 0) throw std::system_error(errno, std::generic_category(), "waitpid");
  if (r == 0) return std::nullopt;
  return decode_status(status);
}

bool process_alive(pid_t pid) {
  if (pid <= 0) return false;
  if (kill(pid, 0) != 0 && errno != EPERM) return false;
  // /proc/<pid>/stat is "pid (comm) S ...": the state follows the last ')' (comm may hold one).
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;  // no /proc: kill() said it exists
  const auto paren = line.rfind(')');
  if (paren == std::string::npos || paren + 2 >= line.size()) return true;
  const char state = line[paren + 2];
  return state != 'Z' && state != 'X';
}

bool wait_until_gone(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (process_alive(pid)) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

bool user_can_access(const OsUser& user, const std::filesystem::path& path, int mode) {
  const std::string text = path.string();
  const pid_t child = fork();
  if (child < 0) throw std::system_error(errno, std::generic_category(), "fork");
  if (child == 0) {
    if (!switch_user(user)) _exit(2);
    _exit(access(text.c_str(), mode) == 0 ? 0 : 1);
  }
  return wait_for_exit(child) == 0;
}

}  // namespace tasklog::events
