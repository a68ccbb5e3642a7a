// The database of a one-off command: the one --database-url names, or the embedded cluster,
// started for the command only when it was not already running (a running server keeps it).
#include "api/cli.hpp"
#include "events/database.hpp"

namespace tasklog::api {

void add_database_options(CLI::App& command, DatabaseOptions& options) {
  command.add_option("--database-url", options.database_url, "PostgreSQL 15+ connection URL or conninfo")
      ->envname("TASKLOG_DATABASE_URL");
  add_embedded_cluster_options(command, options.cluster, false);
}

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
    if (started_here) embedded.stop();
    throw;
  }
  if (started_here) embedded.stop();
}

}  // namespace tasklog::api
