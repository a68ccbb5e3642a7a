// The embedded PostgreSQL: a private cluster made and run with the machine's PostgreSQL binaries,
// so `tasklog serve` and the tests need no database set up by hand. Unix socket only, trust
// authentication for the superuser `tasklog`; the socket directory is private (mode 0700), so only
// PostgreSQL's OS user and root can connect.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/child_process.hpp"

namespace tasklog::events {

struct EmbeddedPostgresOptions {
  // The cluster's home, e.g. ${TASKLOG_HOME:-./.tasklog} (the caller decides). It holds the data
  // directory `data` (or a symlink to it, see start()), the server log and the launcher's lock.
  std::filesystem::path home{};
  // Extra server settings as "key=value", applied on every start after tasklog's own (so they win),
  // e.g. "fsync=off", "max_connections=300". A running cluster that is adopted keeps its settings.
  std::vector<std::string> settings{};
  // The server log (initdb's output too); empty: <home>/postgres.log.
  std::filesystem::path log_file{};
  // How long start() waits for the server to accept connections; crash recovery counts here.
  std::chrono::seconds start_timeout{120};
  // When tasklog runs as root, PostgreSQL runs as this unprivileged OS user (initdb and postgres
  // refuse root). Ignored otherwise: PostgreSQL then runs as the current user.
  std::string os_user = "postgres";
};

// A live postmaster serving this cluster, as its postmaster.pid describes it.
struct PostmasterInfo {
  pid_t pid;
  std::filesystem::path socket_dir;
  int port;
};

// Not thread-safe: one object per thread. Across processes, start() and stop() of the same home
// are serialized by a lock file, so concurrent starters never launch two servers: the later one
// adopts the server the first one started. The destructor does not stop the server; the cluster
// is meant to outlive the process that started it (tests, `tasklog db start`) unless stop() is
// called (`tasklog serve` does on SIGINT/SIGTERM).
class EmbeddedPostgres {
 public:
  static constexpr std::string_view superuser = "tasklog";
  static constexpr std::string_view database = "tasklog";

  enum class StartOutcome { started, adopted };

  // Validates the settings (throws std::invalid_argument) and works out the paths; touches nothing.
  explicit EmbeddedPostgres(EmbeddedPostgresOptions options);

  // Makes the cluster ready to accept connections, with the database `tasklog` present:
  //  - first start: initdb (UTF8, C.UTF-8, superuser tasklog, trust auth) into <home>/data. If
  //    PostgreSQL's OS user cannot reach <home> (e.g. it lies under /root), the data directory goes
  //    to /var/lib/tasklog/<hash of home>/data and <home>/data becomes a symlink to it (logged).
  //  - a live postmaster already serving this data directory (tasklog was killed, PostgreSQL was
  //    not): adopted as it is, returns StartOutcome::adopted.
  //  - after kill -9 of everything: leftover backends of the killed server are waited for, then a
  //    postmaster.pid or socket lock file left behind is removed (PostgreSQL itself would refuse
  //    one whose pid was recycled by another process, or whose killed postmaster is still a zombie).
  // Throws std::runtime_error with the tail of the server log when PostgreSQL does not come up.
  StartOutcome start();

  // Fast shutdown (SIGINT: active sessions are rolled back, then a clean checkpoint), waiting until
  // the postmaster is gone; escalates to an immediate shutdown after a minute. No-op when stopped.
  void stop();

  // The live postmaster of this cluster, or nullopt when none runs.
  std::optional<PostmasterInfo> running() const;

  // A libpq connection string for `dbname` as the superuser, over the unix socket.
  std::string conninfo(std::string_view dbname = database) const;

  const std::filesystem::path& home() const { return home_; }
  const std::filesystem::path& data_dir() const { return data_dir_; }
  const std::filesystem::path& socket_dir() const { return socket_dir_; }
  const std::filesystem::path& log_file() const { return log_file_; }

 private:
  void place_data_dir();
  void init_cluster(const std::filesystem::path& bindir);
  void write_settings() const;
  void prepare_socket_dir() const;
  void clear_stale_state() const;
  bool wait_until_ready(pid_t pid, const std::filesystem::path& socket_dir, int port) const;
  void ensure_database() const;
  void give_to_server_user(const std::filesystem::path& path) const;
  std::string log_tail() const;

  EmbeddedPostgresOptions options_;
  std::optional<OsUser> server_user_;  // set when we run as root
  std::filesystem::path home_;
  std::filesystem::path data_dir_;
  std::filesystem::path socket_dir_;
  std::filesystem::path log_file_;
  int port_;
};

}  // namespace tasklog::events
