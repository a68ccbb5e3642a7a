// `tasklog migrate`: apply the embedded migrations to the given database, or to the embedded
// cluster (started for the occasion and stopped again if it was not already running).
#include "api/cli.hpp"

#include "events/migrator.hpp"

#include <memory>

namespace tasklog::api {

void add_migrate_command(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<DatabaseOptions>();
  auto* command = app.add_subcommand(
      "migrate", "Apply pending migrations (to --database-url, or to the embedded cluster under --home)");
  add_database_options(*command, *options);
  command->callback([options, &exit_code] {
    with_database(*options, [](const std::string& conninfo) {
      events::Migrator(conninfo).migrate(events::embedded_migrations());
    });
    exit_code = 0;
  });
}

}  // namespace tasklog::api
