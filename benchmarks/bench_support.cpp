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

RawAppend raw_append(const std::string& conninfo, int clients, int seconds, const std::string& mode) {
  // The script's arguments are ours (a conninfo we built, numbers, a fixed word); quote each one.
  auto quote = [](const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
  };
  const std::string cmd = fmt::format("bash {} {} {} {} {} 2>&1", quote(baselines_dir() + "/raw_append.sh"),
                                      quote(conninfo), clients, seconds, quote(mode));
  std::string out;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    std::array<char, 4096> buf;
    while (std::fgets(buf.data(), buf.size(), p)) out += buf.data();
    if (::pclose(p) != 0) throw std::runtime_error("raw_append.sh failed: " + out);
  }
  std::smatch m;
  if (!std::regex_search(out, m, std::regex(R"(tps=([0-9.]+) rows_per_s=([0-9.]+))")))
    throw std::runtime_error("raw_append.sh printed no figure: " + out);
  return {std::stod(m[1]), std::stod(m[2])};
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

std::string today() {
  return fmt::format("{:%Y-%m-%d}", fmt::gmtime(std::time(nullptr)));
}

}  // namespace tasklog::bench
