// claim_bench: claim + complete cycles/s through TaskEngine (pick_next_task, then complete_task
// with the lease token; each cycle is two commands, each decided under the append lock with its
// read models projected inline) at several worker counts, each printed beside raw one-row INSERT
// transactions/s measured by pgbench on the same cluster in the same run.
//
//   claim_bench [--database-url URL] [--seconds N] [--workers 1,8,32] [--tasks N]
#include "benchmarks/bench_support.hpp"
#include "projections/task_engine.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <atomic>
#include <future>
#include <iostream>

namespace {

using namespace tasklog;

// Creates `count` tasks with every command in flight at once, so they share group commits.
void create_tasks(projections::TaskEngine& engine, const Uuid& project, const Uuid& actor, int count) {
  std::atomic<int> failures{0};
  std::vector<std::future<void>> done;
  for (int i = 0; i < count; ++i) {
    auto promise = std::make_shared<std::promise<void>>();
    done.push_back(promise->get_future());
    engine.async_execute(CreateTask{.project_id = project,
                                    .title = fmt::format("task {}", i),
                                    .description = "Check the cloud bill against forecast.",
                                    .priority = static_cast<Priority>(i % 4),
                                    .acceptance_criteria = {"report attached"}},
                         actor, std::nullopt, [promise, &failures](std::optional<projections::CommandOutcome>, std::exception_ptr e) {
                           if (e) ++failures;
                           promise->set_value();
                         });
  }
  for (auto& f : done) f.get();
  if (failures) throw std::runtime_error(fmt::format("{} task creations failed", failures.load()));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"claim_bench: claim + complete cycles/s through TaskEngine beside the raw PostgreSQL INSERT limit"};
  std::optional<std::string> url;
  int seconds = 10;
  int tasks = 0;
  std::vector<int> workers{1, 8, 32};
  app.add_option("--database-url", url, "measure on this PostgreSQL instead of an embedded one");
  app.add_option("--seconds", seconds, "seconds per measurement")->check(CLI::PositiveNumber);
  app.add_option("--workers", workers, "concurrent agents")->delimiter(',');
  app.add_option("--tasks", tasks, "ready tasks per measurement (default: 3,000 per second measured)");
  CLI11_PARSE(app, argc, argv);
  if (tasks <= 0) tasks = 3000 * seconds;

  bench::BenchDatabase database(url);
  struct Row {
    int workers;
    double cycles, raw, batch;
  };
  std::vector<Row> rows;
  for (int n : workers) {
    const std::string conninfo = database.fresh_database(fmt::format("claim_bench_{}", n));
    // Raw first, then ours, on the same database, so both see the same cluster state.
    const auto raw = bench::raw_append(conninfo, n, seconds, "one");

    events::EventStore store(projections::engine_store_options(conninfo));
    projections::TaskEngine engine(store);
    const Uuid actor = derived_uuid("claim_bench");
    const auto created = engine.execute(CreateProject{.project_name = "claim_bench", .description = "", .rules = {}}, actor);
    const Uuid project = std::get<ProjectCreated>(created.events.at(0)).project_id;
    create_tasks(engine, project, actor, tasks);
    const auto before = store.stats();

    std::atomic<bool> ran_out{false};
    const auto result = bench::run_for(n, std::chrono::seconds(seconds), [&](int worker) {
      const auto picked = engine.execute(PickNextTask{.project_id = project, .agent = fmt::format("agent-{}", worker)}, actor);
      if (picked.events.empty()) {
        ran_out = true;
        return false;
      }
      const auto& claimed = std::get<TaskClaimed>(picked.events[0]);
      engine.execute(CompleteTask{.task_id = claimed.task_id, .lease_token = *picked.lease_token, .summary = "ok"}, actor);
      return true;
    });
    if (ran_out) std::cerr << fmt::format("workers={}: all {} tasks were used up; rerun with more --tasks\n", n, tasks);
    const auto after = store.stats();
    const double batch = after.batches > before.batches
                             ? double(after.commands - before.commands) / double(after.batches - before.batches)
                             : 0;
    rows.push_back({n, result.per_second, raw.tps, batch});
    std::cerr << fmt::format("workers={} cycles={:.0f}/s raw={:.0f}/s ratio={:.3f} mean_batch={:.1f}\n", n,
                             result.per_second, raw.tps, result.per_second / raw.tps, batch);
  }

  std::cout << fmt::format("claim_bench ({}; {} s per point; a cycle = pick_next_task + complete_task)\n\n",
                           bench::today(), seconds);
  std::cout << "| workers | cycles/s | commands/s | raw INSERT tps | cycles / raw | mean batch |\n";
  std::cout << "|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& r : rows)
    std::cout << fmt::format("| {} | {:.0f} | {:.0f} | {:.0f} | {:.3f}x | {:.1f} |\n", r.workers, r.cycles,
                             2 * r.cycles, r.raw, r.cycles / r.raw, r.batch);
  return 0;
}
