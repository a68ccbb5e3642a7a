// `tasklog export [--project P] [--from POS] [--to POS] > log.ndjson` and
// `tasklog import [FILE] < log.ndjson`: the log as NDJSON, one event per line with every column
// (events/event_json.hpp) and an end line after them (events/log_digest.hpp), and back into an
// empty database with every position, id and hash (projections/log_import.hpp). Progress goes to
// stderr when it is a terminal.
#include "api/cli.hpp"
#include "events/migrator.hpp"
#include "api/terminal_progress.hpp"

#include "events/event_json.hpp"
#include "events/event_reader.hpp"
#include "events/log_digest.hpp"
#include "projections/log_import.hpp"

#include <fmt/format.h>
#include <pqxx/pqxx>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <stdexcept>

namespace tasklog::api {
namespace {

struct ExportCommandOptions {
  DatabaseOptions database;
  std::string project_id;
  events::Position from = 1;  // inclusive
  events::Position to = 0;    // inclusive; 0: the head
};

void export_log(const ExportCommandOptions& options, const std::string& conninfo) {
  const std::optional<Uuid> project =
      options.project_id.empty() ? std::nullopt : std::optional(project_id_argument(options.project_id));
  pqxx::connection connection(conninfo);
  // One snapshot: a server appending meanwhile cannot make the export skip or tear anything.
  pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(connection, "export");
  events::EventReader reader(tx);
  const events::Position head = reader.head();
  const events::Position to = options.to == 0 ? head : std::min(options.to, head);
  TerminalProgress terminal;
  auto write = [](const std::string& text) {
    if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size()) throw std::runtime_error("writing stdout failed");
  };
  events::LogDigest last;  // of the last event written
  constexpr std::size_t kBatch = 5000;
  for (events::Position cursor = std::max<events::Position>(options.from, 1) - 1; cursor < to;) {
    auto batch = project ? reader.project_after(*project, cursor, kBatch) : reader.range(cursor, to, kBatch);
    if (batch.empty()) break;
    std::string text;
    for (const auto& e : batch) {
      if (e.position > to) break;
      text += events::event_json_line(e);
      text.push_back('\n');
      last = {.position = e.position, .hash = e.hash};
    }
    write(text);
    cursor = batch.back().position;
    terminal.update("exporting", std::min(cursor, to), to);
  }
  // Last, so that import can tell the whole export from a copy cut off at a line boundary.
  write(events::export_end_line(last) + "\n");
  terminal.finish();
  if (std::fflush(stdout) != 0) throw std::runtime_error("writing stdout failed");
}

struct ImportCommandOptions {
  DatabaseOptions database;
  std::string file = "-";
  bool without_end_line = false;
};

// The input's size when it is a regular file (for the progress bar's ETA), else 0.
std::int64_t size_of(int fd) {
  struct stat st {};
  return ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? std::int64_t(st.st_size) : 0;
}

int import_log(const ImportCommandOptions& options, const std::string& conninfo) {
  std::ifstream file;
  std::istream* input = &std::cin;
  std::int64_t total = size_of(0);
  if (options.file != "-") {
    file.open(options.file, std::ios::binary);
    if (!file) throw std::runtime_error("cannot open " + options.file);
    input = &file;
    std::error_code ec;
    total = std::int64_t(std::filesystem::file_size(options.file, ec));
  }
  std::ios::sync_with_stdio(false);  // std::cin at file speed
  TerminalProgress terminal;
  projections::ImportOptions import_options;
  import_options.require_end_line = !options.without_end_line;
  import_options.progress = [&](const projections::ImportProgress& p) {
    terminal.update("importing (bytes)", std::int64_t(p.bytes), std::max<std::int64_t>(total, std::int64_t(p.bytes)));
  };
  // A fresh database (a new embedded cluster, an empty one named by URL) gets the schema first, as
  // serve would give it: import writes into the tables the migrations make. On a migrated database
  // this is a check of the applied versions.
  events::Migrator(conninfo).migrate(events::embedded_migrations());
  pqxx::connection connection(conninfo);
  try {
    const auto report = projections::import_log(connection, *input, import_options);
    terminal.finish();
    fmt::print("imported {} events up to position {} (hash {}); read models of {} projects built; run `tasklog "
               "verify` to check\n",
               report.head, report.head, to_hex(report.head_hash), report.projects);
    return 0;
  } catch (const projections::ImportRefused& e) {
    terminal.finish();
    fmt::print(stderr, "import refused, nothing was written: {}\n", e.what());
    return 1;
  }
}

}  // namespace

void add_export_command(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<ExportCommandOptions>();
  auto* command = app.add_subcommand(
      "export", "Write the event log to stdout as NDJSON, one event per line with its position, ids and hashes, "
                "then an end line naming the last one. Only a whole export (no --project, no --from) can be "
                "imported again");
  command->add_option("--project", options->project_id, "only this project's events");
  command->add_option("--from", options->from, "first position (inclusive)")->check(CLI::PositiveNumber);
  command->add_option("--to", options->to, "last position (inclusive; default: the head)")->check(CLI::PositiveNumber);
  add_database_options(*command, options->database);
  command->callback([options, &exit_code] {
    with_database(options->database, [&](const std::string& conninfo) { export_log(*options, conninfo); });
    exit_code = 0;
  });
}

void add_import_command(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<ImportCommandOptions>();
  auto* command = app.add_subcommand(
      "import", "Read a whole log written by `tasklog export` into an empty database, keeping every position, id and "
                "hash, and build the read models; any broken line refuses the import (nothing is written)");
  command->add_option("file", options->file, "the NDJSON file ('-' or none: stdin)");
  command->add_flag("--without-end-line", options->without_end_line,
                    "take event lines without the end line export writes last (lines assembled by hand, an export "
                    "of an older tasklog); a copy cut off at a line boundary then imports as a shorter log");
  add_database_options(*command, options->database);
  command->callback([options, &exit_code] {
    with_database(options->database, [&](const std::string& conninfo) { exit_code = import_log(*options, conninfo); });
  });
}

}  // namespace tasklog::api
