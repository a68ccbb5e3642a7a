// `tasklog diff --project P --from POINT [--to POINT] [--json]`: what changed in a project between
// two points of the log (projections/project_diff.hpp) — tasks created or changed field by field,
// new artifacts, decisions, checkpoints, messages, members.
#include "api/cli.hpp"

#include "events/event_reader.hpp"
#include "projections/project_diff.hpp"
#include "projections/time_travel.hpp"

#include <fmt/format.h>
#include <pqxx/pqxx>

#include <memory>
#include <stdexcept>

namespace tasklog::api {
namespace {

struct DiffCommandOptions {
  DatabaseOptions database;
  std::string project_id;
  std::string from;
  std::string to;  // empty: the head
  bool json = false;
};

constexpr int kNotFound = 2;

int print_diff(const DiffCommandOptions& options, const std::string& conninfo) {
  const Uuid project = project_id_argument(options.project_id);
  const auto from = log_point_argument("--from", options.from);
  const auto to = options.to.empty() ? std::nullopt : std::optional(log_point_argument("--to", options.to));
  pqxx::connection connection(conninfo);
  pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(connection, "diff");
  const auto log = projections::log_now(tx);
  projections::require_in_history(from, log, "--from");
  if (to) projections::require_in_history(*to, log, "--to");
  const auto diff = projections::diff_project(tx, project, projections::resolve_log_point(tx, from),
                                              to ? projections::resolve_log_point(tx, *to) : events::EventReader(tx).head());
  if (!diff) {
    fmt::print(stderr, "no project {} at {}\n", options.project_id, options.to.empty() ? "the head" : options.to);
    return kNotFound;
  }
  fmt::print("{}", options.json ? diff->json() + "\n" : diff->describe());
  return 0;
}

}  // namespace

void add_diff_command(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<DiffCommandOptions>();
  auto* command = app.add_subcommand(
      "diff", "Show what changed in a project between two points of the log: the state after --from against the "
              "state after --to (tasks created or changed, new artifacts, decisions, checkpoints)");
  command->add_option("--project", options->project_id, "the project's id")->required();
  command->add_option("--from", options->from, "log position or RFC 3339 time of the earlier state")->required();
  command->add_option("--to", options->to, "log position or RFC 3339 time of the later state (default: the head)");
  command->add_flag("--json", options->json, "print JSON instead of one line per changed row");
  add_database_options(*command, options->database);
  command->callback([options, &exit_code] {
    with_database(options->database, [&](const std::string& conninfo) { exit_code = print_diff(*options, conninfo); });
  });
}

}  // namespace tasklog::api
