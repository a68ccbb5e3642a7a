// tasklog rebuild: after a seeded random workload of 5,000+ commands the rebuilt read models equal
// the inline ones row for row; a rebuild under a writer that keeps appending swaps in read models
// that verify finds equal to the log, and the writer's inline projector carries on in them.
#include "projections/rebuild.hpp"
#include "projections/verify.hpp"
#include "tests/projections/replay_fixture.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/sql.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace tasklog::projections::testing {
namespace {

using ::testing::HasSubstr;
using tasklog::testing::eventually;
using tasklog::testing::query_value;

TEST_F(ReplayTest, RebuildAfterRandomWorkloadEqualsInlineStateRowForRow) {
  // Eight writers over two projects each: their commands share the store's group commits.
  const auto stats = run_workloads(8, 625, 20240501);
  WorkloadStats total;
  for (const auto& s : stats) {
    total.commands += s.commands;
    total.accepted += s.accepted;
    total.refused += s.refused;
    for (const auto& [name, n] : s.accepted_by_command) total.accepted_by_command[name] += n;
  }
  ASSERT_GE(total.commands, 5000u);
  // The mix reached every kind of change, refusals included.
  for (const char* name : {"create_task", "claim_task", "pick_next_task", "heartbeat", "complete_task", "fail_task",
                           "expire_lease", "block_task", "cancel_task", "reopen_task", "append_artifact",
                           "append_message", "create_checkpoint", "record_decision", "add_dependency"})
    EXPECT_GT(total.accepted_by_command[name], 0u) << name;
  EXPECT_GT(total.refused, 0u);

  const ProjectModels inline_models = load_inline();
  ASSERT_EQ(inline_models.size(), 16u);
  const events::Position log_head = head();

  pqxx::connection c(db.conninfo());
  const RebuildReport report = rebuild_read_models(db.conninfo());
  EXPECT_EQ(report.head_at_start, log_head);
  EXPECT_EQ(report.swapped_at, log_head);
  EXPECT_EQ(report.events_folded, std::uint64_t(log_head));
  EXPECT_EQ(report.projects, 16u);

  const ProjectModels rebuilt = load_inline();
  const auto difference = first_difference(inline_models, rebuilt);
  EXPECT_FALSE(difference.has_value()) << describe(difference);
  EXPECT_TRUE(rebuilt == inline_models);

  // The engine writes into the swapped-in schema as before.
  Workload more(*engine, 7);
  more.run(200);
  EXPECT_GT(more.stats().accepted, 0u);
  const VerifyReport verified = verify_log_and_read_models(c);
  EXPECT_TRUE(verified.ok()) << verified.describe();
}

TEST_F(ReplayTest, RebuildWhileAWriterKeepsAppendingThenVerifyPasses) {
  run_workloads(2, 400, 77);

  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> commands{0};
  std::atomic<std::uint64_t> faults{0};
  std::thread writer([&] {
    Workload workload(*engine, 4242);
    while (!stop) {
      try {
        workload.run(1);
      } catch (const std::exception& e) {
        ++faults;  // anything but a refusal: the inline projector lost its tables
        ADD_FAILURE() << e.what();
      }
      ++commands;
    }
  });

  // Hold the rebuild after its first fold until the writer has moved well past H0, so the tail is
  // caught up in passes and the rest under the lock.
  RebuildOptions options;
  options.batch = 500;
  options.max_tail_in_lock = 20;
  bool waited = false;
  options.progress = [&](const RebuildProgress& p) {
    if (p.stage != RebuildProgress::Stage::write || waited) return;
    waited = true;
    const auto seen = commands.load();
    EXPECT_TRUE(eventually([&] { return commands.load() >= seen + 300; }));
  };
  pqxx::connection c(db.conninfo());
  const RebuildReport report = rebuild_read_models(db.conninfo(), options);
  EXPECT_GT(report.swapped_at, report.head_at_start);
  EXPECT_GE(report.catch_up_passes, 1);
  EXPECT_EQ(report.events_folded, std::uint64_t(report.swapped_at));

  // The writer runs on in the new schema.
  const auto after_swap = commands.load();
  EXPECT_TRUE(eventually([&] { return commands.load() >= after_swap + 100; }));
  stop = true;
  writer.join();
  EXPECT_EQ(faults.load(), 0u);

  const VerifyReport verified = verify_log_and_read_models(c);
  EXPECT_TRUE(verified.ok()) << verified.describe();
  EXPECT_EQ(verified.position, head());
}

TEST_F(ReplayTest, ASecondRebuildAtTheSameTimeIsRefused) {
  run_workloads(1, 50, 5);
  pqxx::connection holder(db.conninfo());
  pqxx::nontransaction(holder).exec_params("SELECT pg_advisory_lock($1)", kRebuildLockKey);
  pqxx::connection c(db.conninfo());
  EXPECT_THROW(rebuild_read_models(db.conninfo()), std::runtime_error);
  // The live read models are untouched and a rebuild runs once the first one is done.
  pqxx::nontransaction(holder).exec_params("SELECT pg_advisory_unlock($1)", kRebuildLockKey);
  EXPECT_NO_THROW(rebuild_read_models(db.conninfo()));
  EXPECT_TRUE(verify_log_and_read_models(c).ok());
}

TEST_F(ReplayTest, ASwapThatWouldDropAnObjectOutsideTheReadModelsIsRefused) {
  run_workloads(1, 60, 11);
  query_value(db.conninfo(), "CREATE VIEW public.task_titles AS SELECT id, title FROM readmodel.tasks");
  pqxx::connection c(db.conninfo());
  try {
    rebuild_read_models(db.conninfo());
    ADD_FAILURE() << "the swap would have dropped public.task_titles";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("public.task_titles"));
  }
  // Nothing changed: the view and the live read models are as they were, the shadow is gone.
  EXPECT_EQ(query_value(db.conninfo(), "SELECT count(*) FROM public.task_titles"),
            query_value(db.conninfo(), "SELECT count(*) FROM readmodel.tasks"));
  EXPECT_EQ(query_value(db.conninfo(), "SELECT to_regnamespace('readmodel_shadow') IS NULL"), "t");
  EXPECT_TRUE(verify_log_and_read_models(c).ok());
}

}  // namespace
}  // namespace tasklog::projections::testing
