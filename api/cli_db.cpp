// `tasklog db start|stop|status`: manage the embedded cluster by hand (scripts, tests, a psql
// session next to a running tasklog). Results go to stdout, logs to stderr.
#include "api/cli.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <memory>
#include <stdexcept>

namespace tasklog::api {
namespace {

// The exit status of `db status` for a stopped cluster, as pg_ctl status uses it.
constexpr int kNotRunning = 3;

void print_conninfo(const events::EmbeddedPostgres& pg) { fmt::print("conninfo: {}\n", pg.conninfo()); }

int status(const events::EmbeddedPostgres& pg) {
  const auto live = pg.running();
  if (live) {
    fmt::print("running: pid {}\n", live->pid);
  } else {
    fmt::print("stopped\n");
  }
  fmt::print("data: {}\nlog: {}\n", pg.data_dir().string(), pg.log_file().string());
  if (live) print_conninfo(pg);
  return live ? 0 : kNotRunning;
}

}  // namespace

void add_db_command(CLI::App& app, int& exit_code) {
  auto* db = app.add_subcommand("db", "Manage the embedded PostgreSQL cluster");
  db->require_subcommand(1);

  auto start_options = std::make_shared<EmbeddedClusterOptions>();
  auto* start = db->add_subcommand("start", "Start the embedded cluster (initdb on first use) and print its conninfo");
  add_embedded_cluster_options(*start, *start_options, true);
  start->callback([start_options, &exit_code] {
    events::EmbeddedPostgres pg(start_options->launcher_options());
    pg.start();
    print_conninfo(pg);
    exit_code = 0;
  });

  auto stop_options = std::make_shared<EmbeddedClusterOptions>();
  auto* stop = db->add_subcommand("stop", "Stop the embedded cluster (fast shutdown)");
  add_embedded_cluster_options(*stop, *stop_options, false);
  stop->callback([stop_options, &exit_code] {
    events::EmbeddedPostgres pg(stop_options->launcher_options());
    // Not from under a serve: it would answer 503 until someone started the cluster again. It
    // holds serve.lock (cli_serve.cpp) while it runs; held here while stopping, so that no serve
    // adopts the cluster on its way down.
    std::unique_ptr<events::FileLock> lock;
    if (std::filesystem::is_directory(pg.home())) {
      lock = lock_home(pg.home(), "tasklog db stop");
      if (!lock)
        throw std::runtime_error(fmt::format(
            "a tasklog serve is running on {} and uses this cluster: stop the serve (SIGTERM), which stops "
            "PostgreSQL too",
            std::filesystem::absolute(pg.home()).string()));
    }
    pg.stop();
    exit_code = 0;
  });

  auto status_options = std::make_shared<EmbeddedClusterOptions>();
  auto* status_command =
      db->add_subcommand("status", "Print whether the embedded cluster runs (exit 0) or not (exit 3)");
  add_embedded_cluster_options(*status_command, *status_options, false);
  status_command->callback([status_options, &exit_code] {
    exit_code = status(events::EmbeddedPostgres(status_options->launcher_options()));
  });
}

}  // namespace tasklog::api
