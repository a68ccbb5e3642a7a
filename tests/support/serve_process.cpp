// ServeProcess over events/child_process (fork + execve, no shell): the child's output goes to a
// file that start() polls for the listening line written after this start's offset.
#include "tests/support/serve_process.hpp"

#include "events/child_process.hpp"
#include "tests/support/eventually.hpp"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

namespace tasklog::testing {
namespace {

std::string read_from(const std::filesystem::path& path, std::size_t offset = 0) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  in.seekg(static_cast<std::streamoff>(offset));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::size_t size_of(const std::filesystem::path& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  return ec ? 0 : static_cast<std::size_t>(size);
}

pid_t spawn_tasklog(std::vector<std::string> args, std::vector<std::string> env, const std::filesystem::path& output) {
  const int fd = ::open(output.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "open " + output.string());
  args.insert(args.begin(), tasklog_binary());
  try {
    const pid_t pid = events::spawn(
        {.argv = std::move(args), .env = std::move(env), .run_as = std::nullopt, .output_fd = fd, .detach = false});
    ::close(fd);
    return pid;
  } catch (...) {
    ::close(fd);
    throw;
  }
}

}  // namespace

std::string tasklog_binary() {
  const char* binary = std::getenv("TASKLOG_BINARY");
  if (binary == nullptr || *binary == '\0') {
    throw std::runtime_error("TASKLOG_BINARY must name the tasklog executable (ctest sets it)");
  }
  return binary;
}

ServeProcess::ServeProcess(ServeProcessOptions options) : options_(std::move(options)) {}

ServeProcess::~ServeProcess() {
  if (pid_ > 0 && !exit_status_) {
    ::kill(pid_, SIGKILL);
    events::wait_for_exit(pid_);
  }
}

void ServeProcess::start(std::chrono::seconds timeout) {
  if (pid_ > 0 && !exit_status_) throw std::logic_error("tasklog serve is already running");
  const std::size_t offset = size_of(options_.output_file);
  std::vector<std::string> args{"serve", "--listen", options_.listen};
  if (!options_.database_url.empty()) {
    args.push_back("--database-url");
    args.push_back(options_.database_url);
  }
  auto env = options_.env;
  env.push_back("TASKLOG_HOME=" + options_.home.string());
  pid_ = spawn_tasklog(std::move(args), std::move(env), options_.output_file);
  exit_status_.reset();

  const std::string prefix = "tasklog listening on http://";
  std::optional<int> port;
  std::string host;
  const bool ready = eventually(
      [&] {
        if (!running()) return true;
        const auto text = read_from(options_.output_file, offset);
        const auto at = text.find(prefix);
        if (at == std::string::npos) return false;
        const auto end = text.find('\n', at);
        if (end == std::string::npos) return false;  // the line is not complete yet
        const auto address = text.substr(at + prefix.size(), end - at - prefix.size());
        const auto colon = address.rfind(':');
        host = address.substr(0, colon);
        port = std::stoi(address.substr(colon + 1));
        return true;
      },
      timeout, std::chrono::milliseconds(20));
  if (!ready || !port) {
    const auto said = read_from(options_.output_file, offset);
    if (ready) throw std::runtime_error("tasklog serve exited with status " + std::to_string(*exit_status_) + ":\n" + said);
    throw std::runtime_error("tasklog serve did not say where it listens:\n" + said);
  }
  endpoint_ = {boost::asio::ip::make_address(host), static_cast<unsigned short>(*port)};
}

int ServeProcess::stop(int signal) {
  if (pid_ <= 0) throw std::logic_error("tasklog serve was never started");
  if (!exit_status_) {
    ::kill(pid_, signal);
    exit_status_ = events::wait_for_exit(pid_);
  }
  return *exit_status_;
}

bool ServeProcess::running() {
  if (pid_ <= 0 || exit_status_) return false;
  exit_status_ = events::try_wait(pid_);
  return !exit_status_;
}

std::optional<std::size_t> ServeProcess::rss_bytes() const {
  std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;  // "VmRSS:   1234 kB"
  }
  return std::nullopt;
}

std::string ServeProcess::output() const { return read_from(options_.output_file); }

TasklogRun run_tasklog(std::vector<std::string> args, std::vector<std::string> env) {
  std::string name = "/tmp/tasklog-run-XXXXXX";
  const int fd = ::mkstemp(name.data());
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "mkstemp");
  ::close(fd);
  TasklogRun run;
  try {
    run.status = events::wait_for_exit(spawn_tasklog(std::move(args), std::move(env), name));
    run.output = read_from(name);
  } catch (...) {
    std::filesystem::remove(name);
    throw;
  }
  std::filesystem::remove(name);
  return run;
}

}  // namespace tasklog::testing
