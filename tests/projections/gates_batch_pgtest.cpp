// A completion counts gate checks recorded under the holder's own lease only (core/gates.cpp
// in_current_attempt) — also when the checks and the claim share one batch of the writer, where
// they share its recorded_at. A review made them race over HTTP: checks sent to an idle task (or
// by a holder about to release it), then a claim, landed in one batch, and the new holder
// completed past its project's gates without checking anything.
#include "tests/projections/engine_fixture.hpp"

#include <gmock/gmock.h>

namespace tasklog::projections::testing {
namespace {

class GatesBatchTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    ProjectRules rules;
    rules.gates = {Gate{.kind = GateKind::custom, .min_count = 1, .name = "review"}};
    project = create_project(rules);
    task = create_task(project, "t");
  }

  // The refusal's code, or "completed".
  std::string complete(const Uuid& token) {
    try {
      step(CompleteTask{.task_id = task, .lease_token = token, .summary = "done"});
      return "completed";
    } catch (const DomainError& e) {
      return std::string(code_name(e.code()));
    }
  }

  Uuid project{};
  Uuid task{};
};

TEST_F(GatesBatchTest, ChecksOnAnIdleTaskInTheClaimsBatchDoNotCount) {
  std::future<CommandOutcome> checked, claimed;
  const auto batches_before = store->stats().batches;
  hold_writer_while([&] {
    checked = submit(*engine, EvaluateGates{.task_id = task, .custom_passed = {"review"}});
    claimed = submit(*engine, ClaimTask{.task_id = task, .agent = "second", .lease_seconds = 60});
  });
  ASSERT_NO_THROW(checked.get());
  const CommandOutcome claim = claimed.get();
  ASSERT_TRUE(claim.lease_token);
  EXPECT_EQ(store->stats().batches, batches_before + 2) << "the check and the claim did not share one batch";
  EXPECT_EQ(complete(*claim.lease_token), "gate_failed");

  // The holder's own check, after its claim, counts.
  step(EvaluateGates{.task_id = task, .custom_passed = {"review"}, .lease_token = *claim.lease_token});
  EXPECT_EQ(complete(*claim.lease_token), "completed");
  expect_consistent();
}

TEST_F(GatesBatchTest, TheLastHoldersChecksInTheNextClaimsBatchDoNotCount) {
  const Uuid first = claim(task, "first");
  std::future<CommandOutcome> checked, released, claimed;
  const auto batches_before = store->stats().batches;
  hold_writer_while([&] {
    checked = submit(*engine, EvaluateGates{.task_id = task, .custom_passed = {"review"}, .lease_token = first});
    released = submit(*engine, ReleaseTask{.task_id = task, .lease_token = first});
    claimed = submit(*engine, ClaimTask{.task_id = task, .agent = "second", .lease_seconds = 60});
  });
  ASSERT_NO_THROW(checked.get());
  ASSERT_NO_THROW(released.get());
  const CommandOutcome claim = claimed.get();
  ASSERT_TRUE(claim.lease_token);
  EXPECT_EQ(store->stats().batches, batches_before + 2) << "the three commands did not share one batch";
  EXPECT_EQ(complete(*claim.lease_token), "gate_failed");
  expect_consistent();
}

// Batches are stamped strictly one after another, whatever the clock says (here it stands still):
// a check in a later batch than the claim is recorded after it, and counts.
TEST_F(GatesBatchTest, EveryBatchIsStampedAfterTheOneBefore) {
  const Uuid token = claim(task, "first");
  step(EvaluateGates{.task_id = task, .custom_passed = {"review"}, .lease_token = token});
  const auto stamps = query("SELECT (extract(epoch FROM recorded_at) * 1000000)::bigint FROM events ORDER BY position");
  ASSERT_GE(stamps.size(), 4u);
  for (pqxx::result::size_type i = 1; i < stamps.size(); ++i)
    EXPECT_LT(stamps[i - 1][0].as<std::int64_t>(), stamps[i][0].as<std::int64_t>()) << "position " << i + 1;
  EXPECT_EQ(complete(token), "completed");
}

}  // namespace
}  // namespace tasklog::projections::testing
