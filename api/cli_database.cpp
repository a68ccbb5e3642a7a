// The database of a one-off command: the one --database-url names, or the embedded cluster,
// started for the command only when it was not already running (a running server keeps it).
#include "api/cli.hpp"
#include "events/database.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <pthread.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <thread>

namespace tasklog::api {

void add_database_options(CLI::App& command, DatabaseOptions& options) {
  command.add_option("--database-url", options.database_url, "PostgreSQL 15+ connection URL or conninfo")
      ->envname("TASKLOG_DATABASE_URL");
  add_embedded_cluster_options(command, options.cluster, false);
}

std::unique_ptr<events::FileLock> lock_home(const std::filesystem::path& home, std::string_view holder) {
  auto lock = events::FileLock::try_exclusive(home / "serve.lock");
  if (lock) lock->write(fmt::format("{}{}pid {}\n", holder, holder.empty() ? "" : ", ", getpid()));
  return lock;
}

std::string home_lock_holder(const std::filesystem::path& home) {
  std::ifstream note(home / "serve.lock");
  std::string holder;
  std::getline(note, holder);
  return holder;
}

namespace {

// Stops the cluster this command started — unless a `tasklog serve` began on the same home
// meanwhile and adopted it (it holds serve.lock, cli_serve.cpp): stopping it then would leave that
// server answering 503 until someone ran `tasklog db start`. Held while stopping, so that no serve
// adopts a cluster on its way down (one starting in that moment is refused, naming this process).
void stop_unless_served(events::EmbeddedPostgres& embedded) {
  const auto lock = lock_home(embedded.home(), "a one-off tasklog command stopping PostgreSQL");
  if (!lock) {
    spdlog::info("PostgreSQL stays up: a tasklog serve on {} is using it", embedded.home().string());
    return;
  }
  embedded.stop();
}

// While a one-off command runs on a cluster it started: SIGINT, SIGTERM, SIGHUP or SIGPIPE (Ctrl-C,
// `tasklog export | head`, `events tail --follow` ended the only way it ends) stop that cluster
// before the process ends as the signal would have ended it — they killed the process and left
// PostgreSQL running. Asio's signal_set, on a thread of its own, so that the command's own work
// needs no checks. SIGINT, SIGTERM and SIGHUP are blocked in the command's thread (delivered to the
// guard's): interrupted there, a wait on the database failed, and the command's own clean-up raced
// the guard's. SIGPIPE is the writing thread's own; its handler only wakes the guard. Either way
// the cluster is stopped once (stop()), by whichever gets there first.
class SignalGuard {
 public:
  explicit SignalGuard(events::EmbeddedPostgres& embedded)
      : embedded_(embedded), signals_(io_, SIGINT, SIGTERM, SIGHUP), broken_pipe_(io_, SIGPIPE) {
    sigset_t blocked;
    sigemptyset(&blocked);
    for (const int signal : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&blocked, signal);
    pthread_sigmask(SIG_BLOCK, &blocked, &previous_);
    const auto stop_and_exit = [this](const boost::system::error_code& ec, int signal) {
      if (ec) return;  // cancelled: the command finished
      stop();
      std::_Exit(128 + signal);
    };
    signals_.async_wait(stop_and_exit);
    broken_pipe_.async_wait(stop_and_exit);
    thread_ = std::thread([this, blocked] {
      pthread_sigmask(SIG_UNBLOCK, &blocked, nullptr);
      io_.run();
    });
  }
  ~SignalGuard() {
    boost::system::error_code ignored;
    signals_.cancel(ignored);
    broken_pipe_.cancel(ignored);
    thread_.join();
    pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  }
  SignalGuard(const SignalGuard&) = delete;
  SignalGuard& operator=(const SignalGuard&) = delete;

  // Stops the cluster unless a serve adopted it; once, whoever calls (the other waits for it).
  void stop() {
    std::lock_guard lock(stopping_);
    if (stopped_) return;
    stopped_ = true;
    try {
      stop_unless_served(embedded_);
    } catch (const std::exception& e) {
      spdlog::error("could not stop PostgreSQL: {}", e.what());
    }
  }

 private:
  events::EmbeddedPostgres& embedded_;
  std::mutex stopping_;
  bool stopped_ = false;
  sigset_t previous_{};
  boost::asio::io_context io_;
  boost::asio::signal_set signals_;
  boost::asio::signal_set broken_pipe_;
  std::thread thread_;
};

}  // namespace

void with_database(const DatabaseOptions& options, const std::function<void(const std::string& conninfo)>& work) {
  if (!options.database_url.empty()) {
    work(events::utf8_conninfo(options.database_url));
    return;
  }
  events::EmbeddedPostgres embedded(options.cluster.launcher_options());
  const bool started_here = embedded.start() == events::EmbeddedPostgres::StartOutcome::started;
  if (!started_here) {
    work(events::utf8_conninfo(embedded.conninfo()));
    return;
  }
  SignalGuard guard(embedded);
  try {
    work(events::utf8_conninfo(embedded.conninfo()));
  } catch (...) {
    guard.stop();
    throw;
  }
  guard.stop();
}

}  // namespace tasklog::api
