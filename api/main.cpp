// The tasklog executable: logging set-up and the command line. Commands live in api/cli_*.cpp.
#include "api/cli.hpp"

#include <fmt/format.h>
#include <spdlog/cfg/env.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>

int main(int argc, char** argv) {
  // Logs go to stderr so that stdout carries only command results (e.g. `db status`).
  spdlog::set_default_logger(spdlog::stderr_color_mt("tasklog"));
  spdlog::cfg::load_env_levels();  // SPDLOG_LEVEL=debug, for instance

  CLI::App app{"tasklog: an event-sourced task engine for AI coding agents and the people who watch them"};
  app.require_subcommand(1);
  int exit_code = 0;
  tasklog::api::add_serve_command(app, exit_code);
  tasklog::api::add_migrate_command(app, exit_code);
  tasklog::api::add_db_command(app, exit_code);
  tasklog::api::add_rebuild_command(app, exit_code);
  tasklog::api::add_verify_command(app, exit_code);
  tasklog::api::add_digest_command(app, exit_code);
  tasklog::api::add_context_command(app, exit_code);
  tasklog::api::add_replay_command(app, exit_code);
  tasklog::api::add_diff_command(app, exit_code);
  tasklog::api::add_events_command(app, exit_code);
  tasklog::api::add_export_command(app, exit_code);
  tasklog::api::add_import_command(app, exit_code);
  tasklog::api::add_user_command(app, exit_code);
  tasklog::api::add_token_command(app, exit_code);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const tasklog::api::CommandFailed& e) {
    spdlog::error("{}", e.what());
    return e.status();
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
  // A result that did not reach stdout (a full disk, a closed pipe) is a failure: `tasklog digest
  // > file` must not leave an empty file behind a 0, nor `token create` a secret nobody saw.
  errno = 0;
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    // errno names the flush's failure; an earlier write's is gone by now (only the flag stays).
    spdlog::error("could not write the result to standard output{}", errno != 0 ? fmt::format(": {}", std::strerror(errno)) : "");
    return exit_code == 0 ? 1 : exit_code;
  }
  return exit_code;
}
