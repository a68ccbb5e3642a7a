// `tasklog verify`: the hash chain, and the read models against the fold of the log
// (projections/verify.hpp). Prints the first finding of each kind; exit status 1 when there is one.
#include "api/cli.hpp"
#include "api/terminal_progress.hpp"

#include "projections/verify.hpp"

#include <fmt/format.h>
#include <pqxx/pqxx>

#include <memory>

namespace tasklog::api {
namespace {

// The exit status for a database that does not verify (errors running the check exit 1 too,
// through main()); kept apart from usage errors, which CLI11 reports with its own codes.
constexpr int kFindings = 1;

int verify(const std::string& conninfo) {
  TerminalProgress terminal;
  projections::VerifyOptions options;
  options.progress = [&terminal](std::string_view stage, const projections::FoldProgress& p) {
    terminal.update(stage == "chain" ? "checking the hash chain" : "folding the log", p.position, p.target);
  };
  pqxx::connection connection(conninfo);
  const auto report = projections::verify_log_and_read_models(connection, options);
  terminal.finish();
  fmt::print("{}", report.describe());
  return report.ok() ? 0 : kFindings;
}

}  // namespace

void add_verify_command(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<DatabaseOptions>();
  auto* command = app.add_subcommand(
      "verify", "Check the event log's hash chain and that the read models equal the fold of the log; prints the "
                "first difference and exits 1 when anything is wrong");
  add_database_options(*command, *options);
  command->callback([options, &exit_code] {
    with_database(*options, [&exit_code](const std::string& conninfo) { exit_code = verify(conninfo); });
  });
}

}  // namespace tasklog::api
