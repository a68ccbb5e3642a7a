// The database of a one-off command: the one --database-url names, or the embedded cluster,
// started for the command only when it was not already running (a running server keeps it).
#include "api/cli.hpp"
#include "events/database.hpp"
#include "events/file_lock.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

namespace tasklog::api {

void add_database_options(CLI::App& command, DatabaseOptions& options) {
  command.add_option("--database-url", options.database_url, "PostgreSQL 15+ connection URL or conninfo")
      ->envname("TASKLOG_DATABASE_URL");
  add_embedded_cluster_options(command, options.cluster, false);
}

namespace {

// Stops the cluster this command started — unless a `tasklog serve` began on the same home
// meanwhile and adopted it (it holds serve.lock, cli_serve.cpp): stopping it then would leave that
// server answering 503 until someone ran `tasklog db start`. Held while stopping, so that no serve
// adopts a cluster on its way down (one starting in that moment is refused, naming this process).
void stop_unless_served(events::EmbeddedPostgres& embedded) {
  const auto lock = events::FileLock::try_exclusive(embedded.home() / "serve.lock");
  if (!lock) {
    spdlog::info("PostgreSQL stays up: a tasklog serve on {} is using it", embedded.home().string());
    return;
  }
  lock->write(fmt::format("a one-off tasklog command stopping PostgreSQL, pid {}\n", getpid()));
  embedded.stop();
}

}  // namespace

void with_database(const DatabaseOptions& options, const std::function<void(const std::string& conninfo)>& work) {
  if (!options.database_url.empty()) {
    work(events::utf8_conninfo(options.database_url));
    return;
  }
  events::EmbeddedPostgres embedded(options.cluster.launcher_options());
  const bool started_here = embedded.start() == events::EmbeddedPostgres::StartOutcome::started;
  try {
    work(events::utf8_conninfo(embedded.conninfo()));
  } catch (...) {
    if (started_here) stop_unless_served(embedded);
    throw;
  }
  if (started_here) stop_unless_served(embedded);
}

}  // namespace tasklog::api
