// `tasklog replay --project P --at POINT [--json]` and `tasklog context PROJECT_ID [--at POINT]`:
// a project's state — from the read models (what agents get), or as of a point of the log
// (a position, or an RFC 3339 time: the last event recorded at or before it), folded from the log.
// One implementation: `context` is the JSON form of `replay`, kept under its older name.
#include "api/cli.hpp"

#include "core/enum_names.hpp"
#include "core/terminal_text.hpp"
#include "projections/project_context.hpp"
#include "projections/time_travel.hpp"

#include <fmt/format.h>
#include <pqxx/pqxx>

#include <map>
#include <memory>
#include <stdexcept>

namespace tasklog::api {
namespace {

struct StateCommandOptions {
  DatabaseOptions database;
  std::string project_id;
  std::string at;  // empty: now, from the read models
  bool json = true;
};

// Exit status when the project does not exist (at that point).
constexpr int kNotFound = 2;

std::string readable(const projections::ProjectContextView& view, const std::string& at) {
  std::string out = fmt::format("project \"{}\" ({}){}{}\n", for_terminal(view.project.name), to_string(view.project.id),
                                view.project.archived ? ", archived" : "",
                                at.empty() ? fmt::format(" now, its last event at position {}", view.position)
                                           : fmt::format(" at {}: its last event then is at position {}", at,
                                                         view.position));
  std::map<std::string_view, int> by_status;
  for (const auto& t : view.tasks) ++by_status[enum_name(t.status)];
  out += fmt::format("tasks: {}", view.tasks.size());
  std::string counts;
  for (const auto& [status, n] : by_status) counts += fmt::format("{}{} {}", counts.empty() ? "" : ", ", status, n);
  out += counts.empty() ? "\n" : fmt::format(" ({})\n", counts);
  for (const auto& t : view.tasks)
    out += fmt::format("  {:<12} {:<8} {}  {}{}\n", enum_name(t.status), enum_name(t.priority), to_string(t.id), for_terminal(t.title),
                       t.block_reason ? " — blocked: " + for_terminal(*t.block_reason) : std::string());
  for (const auto& a : view.active_tasks)
    out += fmt::format("active: {} held by {} (attempt {}) until {}\n", for_terminal(a.title), for_terminal(a.agent), a.attempt,
                       format_timestamp(a.expires_at));
  if (view.latest_checkpoint)
    out += fmt::format("latest checkpoint: {} — {} (position {})\n", for_terminal(view.latest_checkpoint->label),
                       for_terminal(view.latest_checkpoint->summary), view.latest_checkpoint->position);
  if (!view.recent_decisions.empty()) out += "recent decisions:\n";
  for (const auto& d : view.recent_decisions) out += fmt::format("  {}: {}\n", for_terminal(d.title), for_terminal(d.choice));
  return out;
}

int print_state(const StateCommandOptions& options, const std::string& conninfo) {
  const Uuid project = project_id_argument(options.project_id);
  std::optional<projections::LogPoint> point;
  if (!options.at.empty()) point = log_point_argument("--at", options.at);
  pqxx::connection connection(conninfo);
  pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(connection, "replay");
  if (point) projections::require_in_history(*point, projections::log_now(tx), "--at");
  const auto context =
      point ? projections::project_context_at(tx, project, projections::resolve_log_point(tx, *point))
            : projections::load_project_context(tx, project);
  if (!context) {
    fmt::print(stderr, "no project {}{}\n", options.project_id, point ? " at " + options.at : std::string());
    return kNotFound;
  }
  if (options.json)
    fmt::print("{}\n", context->json);
  else
    fmt::print("{}", readable(projections::parse_context(context->json), options.at));
  return 0;
}

void run_on_database(CLI::App& command, const std::shared_ptr<StateCommandOptions>& options, int& exit_code) {
  add_database_options(command, options->database);
  command.callback([options, &exit_code] {
    with_database(options->database, [&](const std::string& conninfo) { exit_code = print_state(*options, conninfo); });
  });
}

}  // namespace

void add_context_command(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<StateCommandOptions>();
  auto* command = app.add_subcommand(
      "context", "Print a project's context (project, tasks, active tasks, latest checkpoint, recent decisions) "
                 "as JSON; with --at, as it was at that point of the log (the JSON form of `replay`)");
  command->add_option("project_id", options->project_id, "the project's id")->required();
  command->add_option("--at", options->at, "log position, or RFC 3339 time (the last event at or before it)");
  run_on_database(*command, options, exit_code);
}

void add_replay_command(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<StateCommandOptions>();
  options->json = false;
  auto* command = app.add_subcommand(
      "replay", "Print a project's state as it was at a point of the log, folded from the log: a readable summary, "
                "or with --json the context JSON (exit 2 when the project did not exist then)");
  command->add_option("--project", options->project_id, "the project's id")->required();
  command->add_option("--at", options->at, "log position, or RFC 3339 time (the last event at or before it)")
      ->required();
  command->add_flag("--json", options->json, "print the project context JSON instead of a summary");
  run_on_database(*command, options, exit_code);
}

}  // namespace tasklog::api
