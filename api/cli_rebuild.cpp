// `tasklog rebuild`: every read model rebuilt from the log and swapped in while servers keep
// appending (projections/rebuild.hpp). The figures go to stdout, progress to a terminal's stderr.
#include "api/cli.hpp"
#include "api/terminal_progress.hpp"

#include "projections/rebuild.hpp"

#include <fmt/format.h>

#include <memory>

namespace tasklog::api {
namespace {

std::string stage_name(projections::RebuildProgress::Stage stage) {
  using Stage = projections::RebuildProgress::Stage;
  switch (stage) {
    case Stage::fold: return "folding the log";
    case Stage::write: return "writing the shadow schema";
    case Stage::catch_up: return "catching up";
    case Stage::swap: return "swapping";
  }
  return "rebuilding";
}

void rebuild(const std::string& conninfo) {
  TerminalProgress terminal;
  projections::RebuildOptions options;
  options.progress = [&terminal](const projections::RebuildProgress& p) {
    terminal.update(stage_name(p.stage), p.fold.position, p.fold.target);
  };
  const auto report = projections::rebuild_read_models(conninfo, options);
  terminal.finish();
  fmt::print("rebuilt the read models of {} projects from {} events in {:.2f} s: {:.0f} events/s\n", report.projects,
             report.events_folded, report.total_seconds, report.events_per_second());
  fmt::print("  fold to position {}: {:.2f} s; shadow write: {:.2f} s; catch-up passes: {}\n", report.head_at_start,
             report.fold_seconds, report.write_seconds, report.catch_up_passes);
  fmt::print("  swap at position {}: appends blocked {:.1f} ms ({} events folded under the lock)\n", report.swapped_at,
             report.swap_seconds * 1000, report.events_in_lock);
}

}  // namespace

void add_rebuild_command(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<DatabaseOptions>();
  auto* command = app.add_subcommand(
      "rebuild", "Rebuild every read model from the event log into a shadow schema and swap it in; running servers "
                 "keep serving (appends pause only for the swap)");
  add_database_options(*command, *options);
  command->callback([options, &exit_code] {
    with_database(*options, rebuild);
    exit_code = 0;
  });
}

}  // namespace tasklog::api
