// Command-line options shared by the subcommands that manage the embedded PostgreSQL.
#include "api/cli.hpp"

namespace tasklog::api {

void add_embedded_cluster_options(CLI::App& command, EmbeddedClusterOptions& options, bool with_settings) {
  command.add_option("--home", options.home, "home of the embedded PostgreSQL cluster")
      ->envname("TASKLOG_HOME")
      ->capture_default_str();
  if (with_settings) {
    command.add_option("-c,--set", options.settings,
                       "extra PostgreSQL setting key=value for the embedded cluster (repeatable), e.g. "
                       "-c shared_buffers=512MB");
  }
}

}  // namespace tasklog::api
