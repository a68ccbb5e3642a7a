// Command-line options shared by the subcommands: the embedded PostgreSQL's, and the arguments of
// the audit commands.
#include "api/cli.hpp"

#include <fmt/format.h>

#include <stdexcept>

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

Uuid project_id_argument(const std::string& text) {
  const auto id = parse_uuid(text);
  if (!id) throw std::invalid_argument("not a project id: " + text);
  return *id;
}

projections::LogPoint log_point_argument(std::string_view option, const std::string& text) {
  const auto point = projections::parse_log_point(text);
  if (!point)
    throw std::invalid_argument(fmt::format("{} takes a log position or an RFC 3339 time, not: {}", option, text));
  return *point;
}

}  // namespace tasklog::api
