#include "benchmarks/bench_support.hpp"

#include "events/embedded_postgres.hpp"
#include "events/migrator.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <pqxx/pqxx>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <stdexcept>
#include <thread>
#include <unistd.h>

namespace tasklog::bench {

struct BenchDatabase::Embedded {
  std::filesystem::path home;
  std::unique_ptr<events::EmbeddedPostgres> pg;
};

BenchDatabase::BenchDatabase(std::optional<std::string> url) {
  if (url) {
    admin_ = *url;
    return;
  }
  embedded_ = std::make_unique<Embedded>();
  embedded_->home = std::filesystem::temp_directory_path() / fmt::format("tasklog-bench-{}", ::getpid());
  // The settings the baselines were measured with (shared/baselines/README.md): defaults but
  // shared_buffers=512MB; durable commits.
  embedded_->pg = std::make_unique<events::EmbeddedPostgres>(events::EmbeddedPostgresOptions{
      .home = embedded_->home, .settings = {"shared_buffers=512MB", "max_connections=300"}});
  embedded_->pg->start();
  admin_ = embedded_->pg->conninfo("postgres");
}

BenchDatabase::~BenchDatabase() {
  if (!embedded_) return;
  try {
    embedded_->pg->stop();
    std::error_code ec;
    std::filesystem::remove_all(embedded_->home, ec);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench: could not stop the embedded PostgreSQL: %s\n", e.what());
  }
}

std::string BenchDatabase::fresh_database(const std::string& name) {
  {
    pqxx::connection admin(admin_);
    pqxx::nontransaction tx(admin);
    tx.exec("DROP DATABASE IF EXISTS " + tx.quote_name(name) + " WITH (FORCE)");
    tx.exec("CREATE DATABASE " + tx.quote_name(name));
  }
  // Same server, other database: swap dbname in the conninfo (libpq takes the last one).
  const std::string conninfo = admin_ + " dbname=" + name;
  events::Migrator(conninfo).migrate(events::embedded_migrations());
  return conninfo;
}

std::string baselines_dir() {
  if (const char* env = std::getenv("TASKLOG_BASELINES")) return env;
  return TASKLOG_DEFAULT_BASELINES;
}

namespace {

// The baselines' scripts take arguments we built (a conninfo, numbers, fixed words); quote each
// one for the shell.
std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Runs cmd through the shell; returns what it printed (stdout and, when cmd redirects it, stderr).
// Throws with that output when the command fails.
std::string run_command(const std::string& cmd, const std::string& what) {
  std::string out;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    std::array<char, 4096> buf;
    while (std::fgets(buf.data(), buf.size(), p)) out += buf.data();
    if (::pclose(p) != 0) throw std::runtime_error(what + " failed: " + out);
  }
  return out;
}

}  // namespace

RawAppend raw_append(const std::string& conninfo, int clients, int seconds, const std::string& mode) {
  const std::string cmd = fmt::format("bash {} {} {} {} {} 2>&1", shell_quote(baselines_dir() + "/raw_append.sh"),
                                      shell_quote(conninfo), clients, seconds, shell_quote(mode));
  const std::string out = run_command(cmd, "raw_append.sh");
  std::smatch m;
  if (!std::regex_search(out, m, std::regex(R"(tps=([0-9.]+) rows_per_s=([0-9.]+))")))
    throw std::runtime_error("raw_append.sh printed no figure: " + out);
  return {std::stod(m[1]), std::stod(m[2])};
}

RawRead raw_point_select(const std::string& conninfo, int clients, int seconds, std::int64_t min_rows) {
  const std::string dir = baselines_dir();
  std::int64_t rows = 0;
  {
    pqxx::connection c(conninfo);
    pqxx::nontransaction tx(c);
    if (tx.exec1("SELECT to_regclass('baseline_events') IS NULL")[0].as<bool>())
      run_command(fmt::format("psql -q -v ON_ERROR_STOP=1 {} -f {} 2>&1", shell_quote(conninfo),
                              shell_quote(dir + "/events_table.sql")),
                  "events_table.sql");
    rows = tx.exec1("SELECT coalesce(max(position), 0) FROM baseline_events")[0].as<std::int64_t>();
    if (rows < min_rows) {
      // The row raw_append.sh inserts (its payload and metadata), so reads return the same width.
      tx.exec_params(
          "INSERT INTO baseline_events (event_id, stream_id, version, project_id, type, payload, metadata) "
          "SELECT gen_random_uuid(), gen_random_uuid(), 1, '3f0e9c1e-0000-4000-8000-000000000001', 'TaskCreated', "
          "$2::jsonb, $3::jsonb FROM generate_series(1, $1)",
          min_rows - rows,
          R"({"task_id":"7f3c2a9e-1b4d-4e8a-9c61-2d5f8e0a7b13","title":"Review quarterly infrastructure cost report","description":"Check the cloud bill against forecast; flag any service whose spend grew over 10%.","status":"open","priority":2,"assignee":"user-4821","labels":["finance","ops"],"due":"2025-07-01"})",
          R"({"actor":"user-4821","correlation_id":"5b0e6d1a-8f2c-4a7e-b3d9-0c1e2f3a4b5c","source":"api"})");
      rows = tx.exec1("SELECT max(position) FROM baseline_events")[0].as<std::int64_t>();
    }
    tx.exec("VACUUM ANALYZE baseline_events");
  }
  const std::string cmd =
      fmt::format("pgbench -n -M prepared -c {} -j 2 -T {} -f {} -D rows={} {} 2>&1", clients, seconds,
                  shell_quote(dir + "/point_select.sql"), rows, shell_quote(conninfo));
  const std::string out = run_command(cmd, "pgbench point_select.sql");
  std::smatch m;
  if (!std::regex_search(out, m, std::regex(R"(tps = ([0-9.]+) \(without)")))
    throw std::runtime_error("pgbench point_select.sql printed no figure: " + out);
  return {std::stod(m[1]), rows};
}

Throughput run_for(int workers, std::chrono::seconds duration, const std::function<bool(int)>& op) {
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> done{0}, failed{0};
  std::vector<std::thread> threads;
  const auto start = std::chrono::steady_clock::now();
  for (int w = 0; w < workers; ++w)
    threads.emplace_back([&, w] {
      while (!stop.load(std::memory_order_relaxed)) (op(w) ? done : failed).fetch_add(1, std::memory_order_relaxed);
    });
  std::this_thread::sleep_for(duration);
  stop = true;
  for (auto& t : threads) t.join();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return {double(done.load()) / secs, done.load(), failed.load()};
}

void report_figure(std::string_view name, double value, double raw) {
  const char* path = std::getenv("TASKLOG_BENCH_FIGURES");
  if (!path || !*path) return;
  std::ofstream out(path, std::ios::app);
  out << fmt::format("{}\t{:.3f}\t{:.3f}\n", name, value, raw);
  if (!out) throw std::runtime_error(fmt::format("cannot append to {}", path));
}

std::string today() {
  return fmt::format("{:%Y-%m-%d}", fmt::gmtime(std::time(nullptr)));
}

}  // namespace tasklog::bench
