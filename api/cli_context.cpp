// `tasklog context PROJECT_ID [--at POSITION]`: a project's context as JSON on stdout — from the
// read models (what agents get), or with --at as of that log position, folded from the log.
#include "api/cli.hpp"

#include "projections/project_context.hpp"
#include "projections/time_travel.hpp"

#include <fmt/format.h>
#include <pqxx/pqxx>

#include <memory>
#include <stdexcept>

namespace tasklog::api {
namespace {

struct ContextCommandOptions {
  DatabaseOptions database;
  std::string project_id;
  std::optional<events::Position> at;
};

// Exit status when the project does not exist (at that position).
constexpr int kNotFound = 2;

int print_context(const ContextCommandOptions& options, const std::string& conninfo) {
  const auto project = parse_uuid(options.project_id);
  if (!project) throw std::invalid_argument("not a project id: " + options.project_id);
  pqxx::connection connection(conninfo);
  pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(connection, "context");
  const auto context = options.at ? projections::project_context_at(tx, *project, *options.at)
                                  : projections::load_project_context(tx, *project);
  if (!context) {
    fmt::print(stderr, "no project {}{}\n", options.project_id,
               options.at ? fmt::format(" at position {}", *options.at) : std::string());
    return kNotFound;
  }
  fmt::print("{}\n", context->json);
  return 0;
}

}  // namespace

void add_context_command(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<ContextCommandOptions>();
  auto* command = app.add_subcommand(
      "context", "Print a project's context (project, tasks, active tasks, latest checkpoint, recent decisions) "
                 "as JSON; with --at, as it was at that log position");
  command->add_option("project_id", options->project_id, "the project's id")->required();
  command->add_option("--at", options->at, "log position to travel back to")->check(CLI::NonNegativeNumber);
  add_database_options(*command, options->database);
  command->callback([options, &exit_code] {
    with_database(options->database,
                  [&](const std::string& conninfo) { exit_code = print_context(*options, conninfo); });
  });
}

}  // namespace tasklog::api
