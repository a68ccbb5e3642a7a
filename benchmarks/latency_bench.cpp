// latency_bench: does the append path slow down as the log grows? One producer appends one event
// per command (synchronous commit) to an empty log and measures each append's latency; then the
// log is filled to --events rows and the same is measured again. The figure is p50 (full) / p50
// (empty); every index the append touches is a B-tree, so it should stay near 1.
//
// The fill writes rows straight into `events` with INSERT … SELECT generate_series (the table
// owner may INSERT; nothing else is allowed on it), a few hundred thousand rows per statement —
// the engine would take an hour for 5,000,000. Their hashes are made up (SHA-256 of the position), so this database's
// chain does not verify: it is a throwaway measurement database, never a log.
//
//   latency_bench [--database-url URL] [--events 5000000] [--appends 2000]
#include "benchmarks/bench_support.hpp"
#include "events/event_store.hpp"

#include <CLI/CLI.hpp>
#include <boost/uuid/random_generator.hpp>
#include <fmt/format.h>
#include <pqxx/pqxx>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <vector>

namespace {

using namespace tasklog;
using Clock = std::chrono::steady_clock;

struct Latency {
  double p50_ms = 0;
  double p99_ms = 0;
};

// `count` single-event appends, one after the other, each to one of 64 streams (a log's streams
// are many and short; one hot stream would measure its version look-up, not the log).
Latency measure(const std::string& conninfo, int count) {
  events::EventStore store({.conninfo = conninfo});
  boost::uuids::random_generator gen;
  const Uuid project = gen();
  std::vector<Uuid> streams(64);
  for (auto& s : streams) s = gen();
  const std::string payload =
      R"({"title":"Review quarterly infrastructure cost report","description":"Check the cloud bill against forecast.","priority":"high"})";
  std::vector<double> ms;
  ms.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count + 50; ++i) {
    events::NewEvent e{.event_id = gen(), .type = "TaskUpdated", .payload = payload, .metadata = R"({"source":"latency_bench"})",
                       .project_id = project, .actor_id = project};
    const auto start = Clock::now();
    store.append({events::StreamAppend{streams[static_cast<std::size_t>(i) % streams.size()], "task",
                                       events::ExpectedVersion::any(), {e}}});
    if (i >= 50) ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());  // 50 warm-up
  }
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms[std::min(ms.size() - 1, ms.size() * 99 / 100)]};
}

void fill(const std::string& conninfo, std::int64_t target) {
  pqxx::connection c(conninfo);
  constexpr std::int64_t kChunk = 250'000;
  const auto start = Clock::now();
  for (;;) {
    pqxx::work tx(c);
    const auto head = tx.exec1("SELECT coalesce(max(position), 0) FROM events")[0].as<std::int64_t>();
    if (head >= target) break;
    const std::int64_t n = std::min(kChunk, target - head);
    // 1,000 projects and streams of 10 events, like a log of many short task streams.
    tx.exec(fmt::format(
        "INSERT INTO events (position, event_id, stream_id, stream_type, version, project_id, task_id, actor_id, type, "
        "schema_version, payload, metadata, recorded_at, prev_hash, hash) "
        "SELECT {0} + g, gen_random_uuid(), "
        "md5('stream' || (({0} + g) / 10))::uuid, 'task', (({0} + g) % 10) + 1, "
        "md5('project' || (({0} + g) % 1000))::uuid, NULL, md5('actor')::uuid, 'TaskUpdated', 1, "
        "jsonb_build_object('title', 'task ' || ({0} + g), 'priority', 'high'), '{{}}'::jsonb, now(), "
        "sha256(({0} + g - 1)::text::bytea), sha256(({0} + g)::text::bytea) FROM generate_series(1, {1}) g",
        head, n));
    tx.commit();
    std::cerr << fmt::format("\rfilled {} of {} events ({:.0f} s)", head + n, target,
                             std::chrono::duration<double>(Clock::now() - start).count())
              << std::flush;
  }
  std::cerr << "\n";
  pqxx::nontransaction(c).exec("VACUUM ANALYZE events");  // as a long-lived log would be
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"latency_bench: append latency on an empty log and on a full one"};
  std::optional<std::string> url;
  std::int64_t events = 5'000'000;
  int appends = 2000;
  app.add_option("--database-url", url, "measure on this PostgreSQL instead of an embedded one");
  app.add_option("--events", events, "events in the full log")->check(CLI::PositiveNumber);
  app.add_option("--appends", appends, "appends measured on each log")->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);

  bench::BenchDatabase database(url);
  const std::string conninfo = database.fresh_database("latency_bench");
  const Latency empty = measure(conninfo, appends);
  fill(conninfo, events);
  const Latency full = measure(conninfo, appends);

  bench::report_figure("append_p50_full_vs_empty", full.p50_ms / empty.p50_ms);
  std::cout << fmt::format("latency_bench ({}; {} single-event appends per log, one producer)\n\n", bench::today(), appends);
  std::cout << "| log | p50 ms | p99 ms |\n|---|---:|---:|\n";
  std::cout << fmt::format("| empty | {:.3f} | {:.3f} |\n", empty.p50_ms, empty.p99_ms);
  std::cout << fmt::format("| {} events | {:.3f} | {:.3f} |\n", events, full.p50_ms, full.p99_ms);
  std::cout << fmt::format("\np50 full / empty: {:.2f}x\n", full.p50_ms / empty.p50_ms);
  return 0;
}
