// `tasklog verify [--digest FILE]`: the hash chain, the read models against the fold of the log
// (projections/verify.hpp), and optionally that the log still ends, at a digest's position, in
// the digest's hash. Prints the first finding of each kind; exit status 1 when there is one, 4
// when it could not check.
// `tasklog digest` prints that digest of the head ({position, hash}) for an auditor to keep.
#include "api/cli.hpp"
#include "api/terminal_progress.hpp"

#include "projections/verify.hpp"

#include <fmt/format.h>
#include <pqxx/pqxx>

#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

namespace tasklog::api {
namespace {

// The exit statuses besides 0: the database does not verify, or verify could not tell (the
// database unreachable, the digest file unreadable or malformed, an SQL error). A script that
// alarms on a finding must be able to tell one from an outage, and must not pass either. 4: the
// other commands' statuses mean something else (2: replay, context, diff and user found no such
// thing; 3: `db status` found the cluster stopped, as pg_ctl says it); usage errors keep CLI11's
// own codes (100 and up).
constexpr int kFindings = 1;
constexpr int kCouldNotCheck = 4;

struct VerifyCommandOptions {
  DatabaseOptions database;
  std::string digest_file;
};

events::LogDigest read_digest(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open the digest file " + path);
  std::stringstream text;
  text << in.rdbuf();
  try {
    return events::parse_digest_json(text.str());
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(fmt::format("{}: {}", path, e.what()));
  }
}

int verify(const VerifyCommandOptions& command, const std::string& conninfo) {
  TerminalProgress terminal;
  projections::VerifyOptions options;
  if (!command.digest_file.empty()) options.digest = read_digest(command.digest_file);
  options.progress = [&terminal](std::string_view stage, const projections::FoldProgress& p) {
    terminal.update(stage == "chain" ? "checking the hash chain" : "folding the log", p.position, p.target);
  };
  pqxx::connection connection(conninfo);
  const auto report = projections::verify_log_and_read_models(connection, options);
  terminal.finish();
  fmt::print("{}", report.describe());
  return report.ok() ? 0 : kFindings;
}

void print_digest(const std::string& conninfo) {
  pqxx::connection connection(conninfo);
  pqxx::read_transaction tx(connection, "digest");
  fmt::print("{}\n", events::digest_json(events::head_digest(tx)));
}

}  // namespace

void add_verify_command(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<VerifyCommandOptions>();
  auto* command = app.add_subcommand(
      "verify", "Check the event log's hash chain and that the read models equal the fold of the log; prints the "
                "first difference and exits 1 when anything is wrong, 4 when it could not check (database "
                "unreachable, digest file unreadable, SQL error)");
  command->add_option("--digest", options->digest_file,
                      "a file holding the output of `tasklog digest`: also prove the log up to its position was not "
                      "rewritten since");
  add_database_options(*command, options->database);
  command->callback([options, &exit_code] {
    try {
      with_database(options->database,
                    [&](const std::string& conninfo) { exit_code = verify(*options, conninfo); });
    } catch (const std::exception& e) {
      throw CommandFailed(kCouldNotCheck, fmt::format("could not verify: {}", e.what()));
    }
  });
}

void add_digest_command(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<DatabaseOptions>();
  auto* command = app.add_subcommand(
      "digest", "Print {\"position\", \"hash\"} of the log's head; keep it, and `tasklog verify --digest FILE` "
                "later proves the log up to that position was not rewritten since");
  add_database_options(*command, *options);
  command->callback([options, &exit_code] {
    with_database(*options, [](const std::string& conninfo) { print_digest(conninfo); });
    exit_code = 0;
  });
}

}  // namespace tasklog::api
