// Runs the real tasklog binary ($TASKLOG_BINARY, set by ctest) as a child process, the way a
// person's shell would: optionally with stdin read from a file and stdout written to one
// (through /bin/sh's own redirections, so `tasklog import < f` and `tasklog export > f` are
// exercised as such). Everything not redirected lands in CommandRun::output.
#pragma once

#include "events/child_process.hpp"
#include "tests/support/temp_dir.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace tasklog::testing {

struct CommandRun {
  int status = -1;
  std::string output;  // stderr, and stdout unless it went to a file
};

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

inline void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

class TasklogCli {
 public:
  // Appends --database-url=conninfo to every command (unless conninfo is empty).
  explicit TasklogCli(std::string conninfo) : conninfo_(std::move(conninfo)) {
    const char* binary = std::getenv("TASKLOG_BINARY");
    if (binary == nullptr) ADD_FAILURE() << "TASKLOG_BINARY must name the tasklog executable (ctest sets it)";
    binary_ = binary ? binary : "/nonexistent/tasklog";
  }

  CommandRun run(std::vector<std::string> args, const std::optional<std::filesystem::path>& stdin_file = std::nullopt,
                 const std::optional<std::filesystem::path>& stdout_file = std::nullopt) {
    const auto output = dir_.path() / ("output-" + std::to_string(counter_++));
    const pid_t pid = start(std::move(args), output, stdin_file, stdout_file);
    CommandRun run{.status = events::wait_for_exit(pid), .output = read_file(output)};
    return run;
  }

  // Starts the command without waiting (for --follow); its output goes to `output`.
  pid_t start(std::vector<std::string> args, const std::filesystem::path& output,
              const std::optional<std::filesystem::path>& stdin_file = std::nullopt,
              const std::optional<std::filesystem::path>& stdout_file = std::nullopt) {
    std::string script = R"(exec "$0" "$@")";
    std::vector<std::string> env;
    if (stdin_file) {
      script += R"( < "$TASKLOG_TEST_STDIN")";
      env.push_back("TASKLOG_TEST_STDIN=" + stdin_file->string());
    }
    if (stdout_file) {
      script += R"( > "$TASKLOG_TEST_STDOUT")";
      env.push_back("TASKLOG_TEST_STDOUT=" + stdout_file->string());
    }
    std::vector<std::string> argv = {"/bin/sh", "-c", script, binary_};
    argv.insert(argv.end(), args.begin(), args.end());
    if (!conninfo_.empty()) argv.push_back("--database-url=" + conninfo_);
    const int fd = ::open(output.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const pid_t pid = events::spawn({.argv = argv, .env = env, .run_as = std::nullopt, .output_fd = fd, .detach = false});
    ::close(fd);
    return pid;
  }

  const std::filesystem::path& dir() const { return dir_.path(); }

 private:
  std::string conninfo_;
  std::string binary_;
  TempDir dir_;
  int counter_ = 0;
};

}  // namespace tasklog::testing
