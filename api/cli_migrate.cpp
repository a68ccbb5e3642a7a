// `tasklog migrate`: apply the embedded migrations to the given database, or to the embedded
// cluster (started for the occasion and stopped again if it was not already running).
#include "api/cli.hpp"

#include "events/migrator.hpp"

#include <spdlog/spdlog.h>

#include <memory>

namespace tasklog::api {
namespace {

struct MigrateOptions {
  std::string database_url;
  EmbeddedClusterOptions cluster;
};

void migrate(const MigrateOptions& options) {
  const auto migrations = events::embedded_migrations();
  if (!options.database_url.empty()) {
    events::Migrator(options.database_url).migrate(migrations);
    return;
  }
  events::EmbeddedPostgres embedded(options.cluster.launcher_options());
  const auto outcome = embedded.start();
  const bool started_here = outcome == events::EmbeddedPostgres::StartOutcome::started;
  try {
    events::Migrator(embedded.conninfo()).migrate(migrations);
  } catch (...) {
    if (started_here) embedded.stop();
    throw;
  }
  if (started_here) embedded.stop();
}

}  // namespace

void add_migrate_command(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<MigrateOptions>();
  auto* command = app.add_subcommand(
      "migrate", "Apply pending migrations (to --database-url, or to the embedded cluster under --home)");
  command->add_option("--database-url", options->database_url, "PostgreSQL 15+ connection URL or conninfo")
      ->envname("TASKLOG_DATABASE_URL");
  add_embedded_cluster_options(*command, options->cluster, false);
  command->callback([options, &exit_code] {
    migrate(*options);
    exit_code = 0;
  });
}

}  // namespace tasklog::api
