// The tasklog command line: each function adds one subcommand (with its --help) to the app.
// A subcommand runs during CLI::App::parse and stores its process exit status in `exit_code`;
// errors escape as exceptions, which main() reports.
#pragma once

#include "core/ids.hpp"
#include "events/embedded_postgres.hpp"
#include "events/file_lock.hpp"
#include "projections/time_travel.hpp"

#include <CLI/CLI.hpp>

#include <filesystem>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace tasklog::api {

// tasklog serve [--database-url URL] [--listen HOST:PORT] [--home DIR] [-c key=value ...]
void add_serve_command(CLI::App& app, int& exit_code);
// tasklog migrate [--database-url URL] [--home DIR]
void add_migrate_command(CLI::App& app, int& exit_code);
// tasklog db start|stop|status [--home DIR]
void add_db_command(CLI::App& app, int& exit_code);
// tasklog rebuild [--database-url URL] [--home DIR]
void add_rebuild_command(CLI::App& app, int& exit_code);
// tasklog verify [--digest FILE] [--database-url URL] [--home DIR]   (exit 1 on any finding, 4 when it could not check)
void add_verify_command(CLI::App& app, int& exit_code);
// tasklog digest   ({"position","hash"} of the head)
void add_digest_command(CLI::App& app, int& exit_code);
// tasklog context PROJECT_ID [--at POINT] [--database-url URL] [--home DIR]
void add_context_command(CLI::App& app, int& exit_code);
// tasklog replay --project P --at POSITION|TIME [--json]   (exit 2 when the project did not exist)
void add_replay_command(CLI::App& app, int& exit_code);
// tasklog diff --project P --from POINT [--to POINT] [--json]
void add_diff_command(CLI::App& app, int& exit_code);
// tasklog events tail [--project P] [-n N] [--follow] [--json]
void add_events_command(CLI::App& app, int& exit_code);
// tasklog export [--project P] [--from POS] [--to POS]   (NDJSON on stdout)
void add_export_command(CLI::App& app, int& exit_code);
// tasklog import [FILE]   (exit 1 when refused, naming the line)
void add_import_command(CLI::App& app, int& exit_code);
// tasklog user create --email E --name N [--admin]   (prints the first token once)
void add_user_command(CLI::App& app, int& exit_code);
// tasklog token create --email E [--name N] [--expires-in-days D] | list --email E | revoke TOKEN_ID
void add_token_command(CLI::App& app, int& exit_code);

// An error that ends a command with an exit status of its own rather than main()'s 1; main()
// reports it like any other error.
class CommandFailed : public std::runtime_error {
 public:
  CommandFailed(int status, const std::string& what) : std::runtime_error(what), status_(status) {}
  int status() const noexcept { return status_; }

 private:
  int status_;
};

// Where and how the embedded PostgreSQL runs, as given on the command line.
struct EmbeddedClusterOptions {
  std::string home = "./.tasklog";
  std::vector<std::string> settings;

  events::EmbeddedPostgresOptions launcher_options() const {
    events::EmbeddedPostgresOptions options;
    options.home = home;
    options.settings = settings;
    return options;
  }
};

// --home (env TASKLOG_HOME), and with `with_settings` also -c/--set key=value.
void add_embedded_cluster_options(CLI::App& command, EmbeddedClusterOptions& options, bool with_settings);

// The database of a one-off command (rebuild, verify, context): --database-url, else the
// embedded cluster under --home.
struct DatabaseOptions {
  std::string database_url;
  EmbeddedClusterOptions cluster;
};

void add_database_options(CLI::App& command, DatabaseOptions& options);

// Runs work(conninfo) on that database. An embedded cluster that was not running is started for
// the command and stopped again afterwards, also when work throws.
void with_database(const DatabaseOptions& options, const std::function<void(const std::string& conninfo)>& work);

// A home's serve.lock: held by the serve running on it for as long as it runs (cli_serve.cpp), and
// by a command while it stops the home's cluster, so that neither takes the cluster from under the
// other. The lock with "<holder>, pid N" written into it for those it keeps out (a serve: "pid N");
// nullptr when another holds it (home_lock_holder(): its note, "" when it wrote none). The home must
// exist.
std::unique_ptr<events::FileLock> lock_home(const std::filesystem::path& home, std::string_view holder);
std::string home_lock_holder(const std::filesystem::path& home);

// Arguments of the audit commands; both throw std::invalid_argument naming what was expected.
Uuid project_id_argument(const std::string& text);
// A log position or an RFC 3339 time (projections/time_travel.hpp); `option` names it in the error.
projections::LogPoint log_point_argument(std::string_view option, const std::string& text);

}  // namespace tasklog::api
