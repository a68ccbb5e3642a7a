// rebuild_bench: events/s of `tasklog rebuild` over a log of N events (1,000,000 by default),
// beside a plain sequential read of the same events in batches of 1,000 by position, measured on
// the same database in the same run (the ratio is what the fold, the decode and the shadow write
// cost on top of reading).
//
// The log is generated through EventStore (so positions, hashes and payloads are the real ones),
// in commands of ~1,000 events each: every command carries the whole lives of 100 tasks —
// created, claimed, heartbeats, messages, an artifact, a criterion met, gates evaluated,
// completed — plus a checkpoint and a decision in the project's stream; 50 projects. The store
// has no inline projector, so generating is quick; the rebuild then builds every read model.
//
//   rebuild_bench [--database-url URL] [--events N]
#include "benchmarks/bench_support.hpp"
#include "core/codec.hpp"
#include "events/event_reader.hpp"
#include "events/event_store.hpp"
#include "projections/rebuild.hpp"

#include <CLI/CLI.hpp>
#include <boost/uuid/random_generator.hpp>
#include <fmt/format.h>
#include <pqxx/pqxx>

#include <chrono>
#include <iostream>

namespace {

using namespace tasklog;
using Clock = std::chrono::steady_clock;

constexpr int kProjects = 50;
constexpr int kTasksPerCommand = 100;

Uuid fresh_id() {
  thread_local boost::uuids::random_generator gen;
  return gen();
}

events::NewEvent new_event(const DomainEvent& event, const Uuid& actor) {
  const EventRoute where = route(event);
  return events::NewEvent{.event_id = fresh_id(),
                          .type = std::string(event_type_name(event)),
                          .schema_version = static_cast<std::int16_t>(event_schema_version(event)),
                          .payload = encode_event(event),
                          .metadata = R"({"source":"rebuild_bench"})",
                          .project_id = where.project_id,
                          .task_id = where.task_id,
                          .actor_id = actor};
}

// One task's whole life: 12 events.
std::vector<DomainEvent> task_life(const Uuid& project, const Uuid& task, int n, Timestamp t) {
  const Uuid lease = fresh_id();  // a lease id (the events never carry a token)
  const Uuid artifact = fresh_id();
  using namespace std::chrono_literals;
  std::vector<DomainEvent> life{
      TaskCreated{.project_id = project,
                  .task_id = task,
                  .title = fmt::format("Implement step {} of the migration plan", n),
                  .description = "Port the handler, keep the old endpoint until clients move; see the design note.",
                  .type = "feature",
                  .priority = Priority(n % 4),
                  .acceptance_criteria = {"handler ported", "old endpoint kept"}},
      TaskClaimed{.project_id = project, .task_id = task, .agent = "agent-7", .lease_id = lease,
                  .expires_at = t + 600s, .attempt = 1},
      TaskMessageAppended{.project_id = project, .task_id = task, .message_id = fresh_id(), .role = MessageRole::assistant,
                          .content = "Starting with the request parser; tests first."},
      TaskLeaseExtended{.project_id = project, .task_id = task, .lease_id = lease, .expires_at = t + 900s},
      TaskLeaseExtended{.project_id = project, .task_id = task, .lease_id = lease, .expires_at = t + 1200s},
      ArtifactAppended{.project_id = project, .task_id = task, .artifact_id = artifact, .type = ArtifactType::diff,
                       .ref = "git:3f2a9c1", .summary = "handler port with tests", .content_bytes = 0},
      TaskCriterionMet{.project_id = project, .task_id = task, .index = 0, .evidence = "tests/handler_test passes"},
      TaskCriterionMet{.project_id = project, .task_id = task, .index = 1, .evidence = "old route still answers"},
      TaskMessageAppended{.project_id = project, .task_id = task, .message_id = fresh_id(), .role = MessageRole::tool,
                          .content = "ctest: 214 tests passed"},
      TaskUsageRecorded{.project_id = project, .task_id = task, .tokens = 18250, .cost_usd = 0.42},
      TaskGatesEvaluated{.project_id = project, .task_id = task,
                         .results = {GateResult{.gate = "has_artifacts", .kind = GateKind::has_artifacts,
                                                .passed = true, .detail = "1 of 1 artifacts"}},
                         .passed = true},
      TaskCompleted{.project_id = project, .task_id = task, .lease_id = lease, .summary = "ported; old route kept",
                    .artifact_ids = {artifact}},
  };
  return life;
}

// Appends about `target` events; returns how many were appended.
std::int64_t generate(const std::string& conninfo, std::int64_t target) {
  events::EventStore store({.conninfo = conninfo});
  const Uuid actor = fresh_id();
  std::vector<Uuid> projects;
  {
    std::vector<events::StreamAppend> creates;
    for (int p = 0; p < kProjects; ++p) {
      projects.push_back(fresh_id());
      ProjectRules rules{.gates = {Gate{.kind = GateKind::has_artifacts, .min_count = 1}}};
      creates.push_back({projects.back(), "project", events::ExpectedVersion::no_stream(),
                         {new_event(ProjectCreated{.project_id = projects.back(),
                                                   .name = fmt::format("service {}", p),
                                                   .description = "the payments service rewrite",
                                                   .rules = rules,
                                                   .owner_id = actor},
                                    actor)}});
    }
    store.append(std::move(creates));
  }
  std::int64_t appended = kProjects;
  const Timestamp t = std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
  int command = 0;
  while (appended < target) {
    const Uuid project = projects[command % kProjects];
    std::vector<events::StreamAppend> streams;
    std::int64_t in_command = 0;
    for (int i = 0; i < kTasksPerCommand && appended + in_command < target; ++i) {
      const Uuid task = fresh_id();
      events::StreamAppend s{task, "task", events::ExpectedVersion::no_stream(), {}};
      for (const DomainEvent& e : task_life(project, task, i, t)) s.events.push_back(new_event(e, actor));
      in_command += std::int64_t(s.events.size());
      streams.push_back(std::move(s));
    }
    events::StreamAppend memory{project, "project", events::ExpectedVersion::any(), {}};
    memory.events.push_back(new_event(DecisionRecorded{.project_id = project, .decision_id = fresh_id(),
                                                       .title = "keep the old endpoint for a release",
                                                       .options = {"keep", "drop"}, .choice = "keep",
                                                       .rationale = "two clients still call it"},
                                      actor));
    memory.events.push_back(new_event(CheckpointCreated{.project_id = project, .checkpoint_id = fresh_id(),
                                                        .label = fmt::format("batch {}", command),
                                                        .summary = "a hundred handlers ported",
                                                        .repo_ref = "refs/heads/main",
                                                        .resume_instructions = "continue with the next batch"},
                                      actor));
    in_command += 2;
    streams.push_back(std::move(memory));
    store.append(std::move(streams));
    appended += in_command;
    ++command;
    if (command % 100 == 0) std::cerr << fmt::format("\rgenerated {} events", appended) << std::flush;
  }
  std::cerr << fmt::format("\rgenerated {} events\n", appended);
  return appended;
}

// The floor: the same events read in order, 1,000 at a time, and nothing done with them.
double plain_read_events_per_second(const std::string& conninfo, std::int64_t expected) {
  pqxx::connection c(conninfo);
  pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(c);
  events::EventReader reader(tx);
  const auto start = Clock::now();
  events::Position cursor = 0;
  std::int64_t read = 0;
  for (;;) {
    const auto batch = reader.after(cursor, 1000);
    if (batch.empty()) break;
    cursor = batch.back().position;
    read += std::int64_t(batch.size());
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (read != expected) throw std::runtime_error(fmt::format("read {} events, expected {}", read, expected));
  return double(read) / seconds;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"rebuild_bench: tasklog rebuild events/s beside a plain sequential read of the same log"};
  std::optional<std::string> url;
  std::int64_t target = 1'000'000;
  app.add_option("--database-url", url, "measure on this PostgreSQL instead of an embedded one");
  app.add_option("--events", target, "events in the log")->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);

  bench::BenchDatabase database(url);
  const std::string conninfo = database.fresh_database("rebuild_bench");
  const auto generate_start = Clock::now();
  const std::int64_t events = generate(conninfo, target);
  const double generate_seconds = std::chrono::duration<double>(Clock::now() - generate_start).count();
  {
    pqxx::connection c(conninfo);
    pqxx::nontransaction(c).exec("VACUUM ANALYZE events");  // as a long-lived log would be
  }

  // Read first and last, rebuild in between: a warm cache for both.
  const double read_before = plain_read_events_per_second(conninfo, events);
  const projections::RebuildReport report = projections::rebuild_read_models(conninfo);
  const double read_after = plain_read_events_per_second(conninfo, events);
  const double read = (read_before + read_after) / 2;
  std::cerr << fmt::format("generated in {:.1f} s; plain read {:.0f} and {:.0f} events/s\n", generate_seconds, read_before,
                           read_after);

  bench::report_figure("rebuild", report.events_per_second(), read);
  std::cout << fmt::format("rebuild_bench ({}; {} events, {} projects)\n\n", bench::today(), events, report.projects);
  std::cout << "| events | plain read events/s (batches of 1,000) | rebuild events/s | ratio | fold s | shadow write s "
               "| swap ms |\n";
  std::cout << "|---:|---:|---:|---:|---:|---:|---:|\n";
  std::cout << fmt::format("| {} | {:.0f} | {:.0f} | {:.2f}x | {:.1f} | {:.1f} | {:.1f} |\n", report.events_folded, read,
                           report.events_per_second(), report.events_per_second() / read, report.fold_seconds,
                           report.write_seconds, report.swap_seconds * 1000);
  return 0;
}
