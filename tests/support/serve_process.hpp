// `tasklog serve` ($TASKLOG_BINARY) as a child process, for tests at the process level: started on
// 127.0.0.1:0 and ready once it prints "tasklog listening on http://HOST:PORT", stopped with any
// signal (SIGKILL for a crash) and started again on the same database, its RSS read from /proc.
// Also run_tasklog() for one-shot subcommands (verify, user create, ...).
//
// Not thread-safe: one thread drives a ServeProcess (others may read endpoint() and pid()).
#pragma once

#include <sys/types.h>

#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace tasklog::testing {

// $TASKLOG_BINARY (ctest sets it); throws when it is not set.
std::string tasklog_binary();

struct ServeProcessOptions {
  std::string database_url{};          // empty: the embedded cluster under `home`
  std::filesystem::path home{};        // TASKLOG_HOME: admin.token, the embedded cluster
  std::filesystem::path output_file{}; // stdout and stderr, appended across restarts
  std::vector<std::string> env{};      // extra "KEY=VALUE" for the child
  std::string listen = "127.0.0.1:0";  // --listen
};

class ServeProcess {
 public:
  explicit ServeProcess(ServeProcessOptions options);
  ~ServeProcess();  // SIGKILL and reap when still running
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  // Spawns serve and waits until it prints its listening line (a new port every start). Throws,
  // with what it printed, when it exits first or says nothing within `timeout`.
  void start(std::chrono::seconds timeout = std::chrono::seconds(120));
  // Sends `signal`, waits for the exit and returns its status (128 + signal when killed by it).
  int stop(int signal);
  // True while the child has not exited (reaps it when it has; exit_status() then tells how).
  bool running();
  std::optional<int> exit_status() const { return exit_status_; }

  pid_t pid() const { return pid_; }
  boost::asio::ip::tcp::endpoint endpoint() const { return endpoint_; }
  // VmRSS of the child from /proc/<pid>/status, in bytes; nullopt when it cannot be read.
  std::optional<std::size_t> rss_bytes() const;
  // Everything the child printed so far, over all its starts.
  std::string output() const;

 private:
  ServeProcessOptions options_;
  pid_t pid_ = 0;
  std::optional<int> exit_status_{};
  boost::asio::ip::tcp::endpoint endpoint_{};
};

struct TasklogRun {
  int status = -1;     // exit status (128 + signal when killed)
  std::string output;  // stdout and stderr together
};

// Runs `tasklog <args>` to completion.
TasklogRun run_tasklog(std::vector<std::string> args, std::vector<std::string> env = {});

}  // namespace tasklog::testing
