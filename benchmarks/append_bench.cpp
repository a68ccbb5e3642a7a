// append_bench: durable events/s through EventStore (one event per command, synchronous commit)
// at several producer counts, each printed beside raw one-row INSERT transactions/s measured by
// pgbench on the same cluster in the same run.
//
//   append_bench [--database-url URL] [--seconds N] [--producers 1,8,32,64]
#include "benchmarks/bench_support.hpp"
#include "events/event_store.hpp"

#include <CLI/CLI.hpp>
#include <boost/uuid/random_generator.hpp>
#include <fmt/format.h>

#include <iostream>

int main(int argc, char** argv) {
  using namespace tasklog;
  CLI::App app{"append_bench: EventStore appends/s beside the raw PostgreSQL INSERT limit"};
  std::optional<std::string> url;
  int seconds = 10;
  std::vector<int> producers{1, 8, 32, 64};
  app.add_option("--database-url", url, "measure on this PostgreSQL instead of an embedded one");
  app.add_option("--seconds", seconds, "seconds per measurement")->check(CLI::PositiveNumber);
  app.add_option("--producers", producers, "concurrent producers")->delimiter(',');
  std::size_t depth = events::EventStoreOptions{}.pipeline_depth;
  app.add_option("--pipeline-depth", depth, "flights in the air at once (0: one batch at a time)");
  CLI11_PARSE(app, argc, argv);

  bench::BenchDatabase database(url);
  struct Row {
    int producers;
    double ours, raw, batch;
  };
  std::vector<Row> rows;
  for (int n : producers) {
    const std::string conninfo = database.fresh_database(fmt::format("append_bench_{}", n));
    // Raw first, then ours, on the same database, so both see the same cluster state.
    const auto raw = bench::raw_append(conninfo, n, seconds, "one");
    events::EventStore store({.conninfo = conninfo, .pipeline_depth = depth});
    const Uuid project = boost::uuids::random_generator{}();
    std::vector<Uuid> streams(n);
    for (auto& s : streams) s = boost::uuids::random_generator{}();
    const std::string payload =
        R"({"title":"Review quarterly infrastructure cost report","description":"Check the cloud bill against forecast; flag any service whose spend grew over 10%.","priority":"high","labels":["finance","ops"]})";
    auto result = bench::run_for(n, std::chrono::seconds(seconds), [&](int worker) {
      thread_local boost::uuids::random_generator gen;
      events::NewEvent e{.event_id = gen(), .type = "TaskUpdated", .payload = payload,
                         .metadata = R"({"source":"append_bench"})", .project_id = project, .actor_id = project};
      store.append({events::StreamAppend{streams[worker], "task", events::ExpectedVersion::any(), {e}}});
      return true;
    });
    const auto stats = store.stats();
    rows.push_back({n, result.per_second, raw.tps, stats.batches ? double(stats.commands) / double(stats.batches) : 0});
    bench::report_figure(fmt::format("appends@{}", n), result.per_second, raw.tps);
    std::cerr << fmt::format("producers={} tasklog={:.0f}/s raw={:.0f}/s ratio={:.2f} mean_batch={:.1f}\n", n,
                             result.per_second, raw.tps, result.per_second / raw.tps, rows.back().batch);
  }

  std::cout << fmt::format("append_bench ({}; {} s per point)\n\n", bench::today(), seconds);
  std::cout << "| producers | tasklog appends/s | raw INSERT tps | ratio | mean batch |\n";
  std::cout << "|---:|---:|---:|---:|---:|\n";
  for (const auto& r : rows)
    std::cout << fmt::format("| {} | {:.0f} | {:.0f} | {:.2f}x | {:.1f} |\n", r.producers, r.ours, r.raw, r.ours / r.raw, r.batch);
  return 0;
}
