#include "core/decide.hpp"

#include "domain_world.hpp"

#include <gtest/gtest.h>

using namespace tasklog;
using namespace tasklog::testing;

namespace {

class LeaseCommands : public ::testing::Test {
 protected:
  DomainWorld w;
  Uuid project = w.create_project();
  Uuid task = w.create_task("t");
};

ProjectRules rules_with(std::vector<Gate> gates, std::int64_t max_attempts = 3) {
  ProjectRules r;
  r.gates = std::move(gates);
  r.max_attempts = max_attempts;
  return r;
}

}  // namespace

// ---- claim ----

TEST_F(LeaseCommands, ClaimGivesALease) {
  w.now += 5s;
  const auto events = w.run(ClaimTask{task, "agent-1", 120});
  const auto& e = std::get<TaskClaimed>(events.at(0));
  EXPECT_EQ(e.agent, "agent-1");
  EXPECT_EQ(e.expires_at, kT0 + 125s);
  EXPECT_EQ(e.attempt, 1);
  const TaskState& t = w.task(task);
  EXPECT_EQ(t.status, TaskStatus::in_progress);
  ASSERT_TRUE(t.lease);
  EXPECT_EQ(t.lease->id, e.lease_id);
  // The event and the state name the lease by the token's fingerprint, never the token itself.
  EXPECT_EQ(e.lease_id, lease_id_of(w.tokens.at(task)));
  EXPECT_NE(e.lease_id, w.tokens.at(task));
  EXPECT_EQ(t.lease->acquired_at, kT0 + 5s);
  EXPECT_EQ(t.started_at, kT0 + 5s);
}

TEST_F(LeaseCommands, ClaimUsesTheProjectDefaultLease) {
  const auto events = w.run(ClaimTask{task, "a", std::nullopt});
  EXPECT_EQ(std::get<TaskClaimed>(events.at(0)).expires_at, kT0 + std::chrono::seconds{kDefaultLeaseSeconds});
}

TEST_F(LeaseCommands, ClaimRefusesOutOfRangeLease) {
  const DomainError e = w.refused(ClaimTask{task, "a", 1});
  EXPECT_EQ(e.code(), ErrorCode::validation_failed);
  EXPECT_EQ(str(details(e)["path"]), "/lease_seconds");
  EXPECT_EQ(w.refused(ClaimTask{task, "a", kMaxLeaseSeconds + 1}).code(), ErrorCode::validation_failed);
}

TEST_F(LeaseCommands, ASecondClaimIsNotReady) {
  w.claim(task, "agent-1");
  const DomainError e = w.refused(ClaimTask{task, "agent-2", 60});
  EXPECT_EQ(e.code(), ErrorCode::task_not_ready);
  EXPECT_EQ(str(details(e)["reason"]), "leased");
  EXPECT_NE(std::string(e.what()).find("held by agent-1"), std::string::npos);
}

TEST_F(LeaseCommands, ClaimWaitsForTheReaperAfterExpiry) {
  w.claim(task, "agent-1", 60);
  w.now += 61s;
  const DomainError e = w.refused(ClaimTask{task, "agent-2", 60});
  EXPECT_EQ(e.code(), ErrorCode::task_not_ready);
  EXPECT_EQ(str(details(e)["reason"]), "lease_expiring");
}

TEST_F(LeaseCommands, ClaimNeedsDoneDependencies) {
  const Uuid child = w.create_task("child", {task});
  const DomainError e = w.refused(ClaimTask{child, "a", 60});
  EXPECT_EQ(e.code(), ErrorCode::task_not_ready);
  EXPECT_EQ(str(details(e)["reason"]), "dependencies");
  ASSERT_EQ(details(e)["open_dependencies"].Size(), 1u);
  EXPECT_EQ(str(details(e)["open_dependencies"][0]), to_string(task));

  const Uuid token = w.claim(task);
  w.run(CompleteTask{task, token, "done", {}});
  w.claim(child);
  EXPECT_EQ(w.task(child).status, TaskStatus::in_progress);
}

// A dependency reopened while its dependent is in progress: the dependent was claimed against a
// done dependency, and completing it now would finish it ahead of what it waits on.
TEST_F(LeaseCommands, ADependencyReopenedUnderARunningDependentHoldsItsCompletion) {
  const Uuid child = w.create_task("child", {task});
  w.run(CompleteTask{task, w.claim(task), "done", {}});
  const Uuid token = w.claim(child);
  w.run(ReopenTask{task, "regression"});
  const DomainError e = w.refused(CompleteTask{child, token, "done", {}});
  EXPECT_EQ(e.code(), ErrorCode::task_not_ready);
  EXPECT_EQ(str(details(e)["reason"]), "dependencies");
  ASSERT_EQ(details(e)["open_dependencies"].Size(), 1u);
  EXPECT_EQ(str(details(e)["open_dependencies"][0]), to_string(task));
  // Once the dependency is done again, the holder completes with the same lease.
  w.run(CompleteTask{task, w.claim(task), "fixed", {}});
  w.run(CompleteTask{child, token, "done", {}});
  EXPECT_EQ(w.task(child).status, TaskStatus::done);
}

TEST_F(LeaseCommands, ClaimOfFinishedOrBlockedTasksIsIllegal) {
  w.run(BlockTask{task, "r", false, std::nullopt});
  DomainError e = w.refused(ClaimTask{task, "a", 60});
  EXPECT_EQ(e.code(), ErrorCode::illegal_transition);
  EXPECT_EQ(str(details(e)["status"]), "blocked");
  w.run(CancelTask{task, ""});
  EXPECT_EQ(w.refused(ClaimTask{task, "a", 60}).code(), ErrorCode::illegal_transition);
}

// ---- heartbeat, release ----

TEST_F(LeaseCommands, HeartbeatExtendsFromNow) {
  const Uuid token = w.claim(task, "a", 60);
  w.now += 50s;
  w.run(Heartbeat{task, token, 300});
  EXPECT_EQ(w.task(task).lease->expires_at, kT0 + 350s);
  EXPECT_EQ(w.task(task).lease->acquired_at, kT0);
}

TEST_F(LeaseCommands, ReleaseReturnsTheTaskWithoutCountingAnAttempt) {
  const Uuid token = w.claim(task);
  w.run(ReleaseTask{task, token, "switching"});
  EXPECT_EQ(w.task(task).status, TaskStatus::todo);
  EXPECT_EQ(w.task(task).lease, std::nullopt);
  EXPECT_EQ(w.task(task).attempts, 0);
  const auto events = w.run(ClaimTask{task, "b", 60});
  EXPECT_EQ(std::get<TaskClaimed>(events.at(0)).attempt, 1);
}

// ---- fencing ----

TEST_F(LeaseCommands, StaleTokenAfterExpiryIsLeaseLost) {
  const Uuid token = w.claim(task, "a", 60);
  w.now += 60s;  // expires_at is exclusive
  DomainError e = w.refused(Heartbeat{task, token, 60});
  EXPECT_EQ(e.code(), ErrorCode::lease_lost);
  EXPECT_EQ(str(details(e)["reason"]), "expired");
  e = w.refused(CompleteTask{task, token, "late", {}});
  EXPECT_EQ(e.code(), ErrorCode::lease_lost);

  w.run(ExpireLease{task, lease_id_of(token)});
  e = w.refused(Heartbeat{task, token, 60});
  EXPECT_EQ(str(details(e)["reason"]), "no_lease");
}

TEST_F(LeaseCommands, StaleTokenAfterReleaseIsLeaseLost) {
  const Uuid token = w.claim(task);
  w.run(ReleaseTask{task, token, ""});
  for (const Command& c : std::vector<Command>{Heartbeat{task, token, 60}, ReleaseTask{task, token, ""},
                                               CompleteTask{task, token, "s", {}}, FailTask{task, token, "e"}}) {
    SCOPED_TRACE(std::string(command_name(c)));
    const DomainError e = w.refused(c);
    EXPECT_EQ(e.code(), ErrorCode::lease_lost);
    EXPECT_EQ(str(details(e)["reason"]), "no_lease");
  }
}

TEST_F(LeaseCommands, StaleTokenAfterANewerClaimIsLeaseLost) {
  const Uuid old_token = w.claim(task, "a", 60);
  w.now += 61s;
  w.run(ExpireLease{task, lease_id_of(old_token)});
  const Uuid new_token = w.claim(task, "b", 60);
  for (const Command& c : std::vector<Command>{
           Heartbeat{task, old_token, 60}, CompleteTask{task, old_token, "s", {}}, FailTask{task, old_token, "e"},
           ReleaseTask{task, old_token, ""}, AppendArtifact{.task_id = task, .summary = "s", .lease_token = old_token},
           MarkCriterionMet{task, 0, "e", old_token}, AppendMessage{task, MessageRole::assistant, "hi", old_token}}) {
    SCOPED_TRACE(std::string(command_name(c)));
    const DomainError e = w.refused(c);
    EXPECT_EQ(e.code(), ErrorCode::lease_lost);
    EXPECT_EQ(str(details(e)["reason"]), "superseded");
    EXPECT_EQ(details(e)["attempt"].GetInt64(), 2);
  }
  // The newer holder completes the task.
  w.run(CompleteTask{task, new_token, "done by b", {}});
  EXPECT_EQ(w.task(task).status, TaskStatus::done);
}

// ---- complete ----

TEST_F(LeaseCommands, CompleteRecordsSummaryAndArtifacts) {
  const Uuid token = w.claim(task);
  const auto added = w.run(AppendArtifact{.task_id = task, .type = ArtifactType::diff, .ref = "r", .summary = "patch",
                                          .lease_token = token});
  const Uuid artifact = std::get<ArtifactAppended>(added.at(0)).artifact_id;
  w.now += 30s;
  w.run(CompleteTask{task, token, "shipped", {artifact}});
  const TaskState& t = w.task(task);
  EXPECT_EQ(t.status, TaskStatus::done);
  EXPECT_EQ(t.completion_summary, "shipped");
  EXPECT_EQ(t.result_artifact_ids, std::vector<Uuid>{artifact});
  EXPECT_EQ(t.completed_at, kT0 + 30s);
  EXPECT_EQ(t.lease, std::nullopt);
}

TEST_F(LeaseCommands, CompleteRefusesArtifactsOfOtherTasks) {
  const Uuid token = w.claim(task);
  const DomainError e = w.refused(CompleteTask{task, token, "s", {named_id("foreign")}});
  EXPECT_EQ(e.code(), ErrorCode::not_found);
  EXPECT_EQ(str(details(e)["artifact_ids"][0]), to_string(named_id("foreign")));
}

TEST(CompleteGates, RefusedWhileAGateFailsThenAllowed) {
  DomainWorld w;
  w.create_project(rules_with({{GateKind::has_artifacts, 2, ""},
                               {GateKind::has_tests, 1, ""},
                               {GateKind::acceptance_met, 1, ""},
                               {GateKind::custom, 1, "lint"}}));
  const Uuid task = w.create_task("t", {}, Priority::medium, {"works"});
  const Uuid token = w.claim(task, "a", 600);
  w.now += 1s;  // the holder's checks are recorded after its claim (core/gates.cpp in_current_attempt)

  DomainError e = w.refused(CompleteTask{task, token, "s", {}});
  EXPECT_EQ(e.code(), ErrorCode::gate_failed);
  auto d = details(e);
  ASSERT_EQ(d["failing"].Size(), 4u);
  EXPECT_EQ(str(d["failing"][0]["gate"]), "has_artifacts");
  EXPECT_EQ(str(d["failing"][0]["detail"]), "0 of 2 required artifacts");
  EXPECT_EQ(str(d["failing"][3]["gate"]), "lint");

  w.run(AppendArtifact{.task_id = task, .type = ArtifactType::diff, .summary = "d", .lease_token = token});
  w.run(AppendArtifact{.task_id = task, .type = ArtifactType::test_report, .summary = "t", .lease_token = token});
  w.run(MarkCriterionMet{task, 0, "demo video", token});
  e = w.refused(CompleteTask{task, token, "s", {}});
  d = details(e);
  ASSERT_EQ(d["failing"].Size(), 1u);
  EXPECT_EQ(str(d["failing"][0]["gate"]), "lint");
  EXPECT_EQ(std::string(e.what()), "task 't' cannot complete: 1 gate(s) failing: lint (not reported passed)");

  w.run(EvaluateGates{task, {"lint"}, token});
  w.run(CompleteTask{task, token, "s", {}});
  EXPECT_EQ(w.task(task).status, TaskStatus::done);
}

TEST(CompleteGates, InScopeGateNeedsACleanScopeCheck) {
  DomainWorld w;
  ProjectRules rules = rules_with({{GateKind::in_scope, 1, ""}});
  rules.scope.forbidden = {"secrets/**"};
  w.create_project(rules);
  const Uuid task = w.create_task("t");
  const Uuid token = w.claim(task, "a", 600);
  w.now += 1s;
  EXPECT_EQ(w.refused(CompleteTask{task, token, "s", {}}).code(), ErrorCode::gate_failed);
  w.run(AssertScope{task, {"secrets/key"}, {}, {}, token});
  EXPECT_EQ(w.refused(CompleteTask{task, token, "s", {}}).code(), ErrorCode::gate_failed);
  w.run(AssertScope{task, {"src/a.cpp"}, {}, {}, token});
  w.run(CompleteTask{task, token, "s", {}});
  EXPECT_EQ(w.task(task).status, TaskStatus::done);
}

// A failed attempt's scope check and custom-gate report do not pass the next attempt's
// completion: that attempt may have changed other files or broken what was reviewed.
TEST(CompleteGates, AFailedAttemptsChecksDoNotPassTheNextAttempt) {
  DomainWorld w;
  ProjectRules rules = rules_with({{GateKind::in_scope, 1, ""}, {GateKind::custom, 1, "review"}});
  rules.scope.forbidden = {"secrets/**"};
  w.create_project(rules);
  const Uuid task = w.create_task("t");
  const Uuid first = w.claim(task, "agent-1", 600);
  w.run(AssertScope{task, {"src/a.cpp"}, {}, {}, first});
  w.run(EvaluateGates{task, {"review"}, first});
  w.run(FailTask{task, first, "tests red"});
  w.now = *w.task(task).next_retry_at + 1s;

  const Uuid second = w.claim(task, "agent-2", 600);
  const DomainError e = w.refused(CompleteTask{task, second, "s", {}});
  ASSERT_EQ(e.code(), ErrorCode::gate_failed);
  const auto d = details(e);
  ASSERT_EQ(d["failing"].Size(), 2u);
  EXPECT_EQ(str(d["failing"][0]["detail"]), "no scope check recorded in this attempt (attempt 2)");
  EXPECT_EQ(str(d["failing"][1]["detail"]), "not reported passed");

  w.now += 1s;
  w.run(AssertScope{task, {"src/b.cpp"}, {}, {}, second});
  w.run(EvaluateGates{task, {"review"}, second});
  w.run(CompleteTask{task, second, "s", {}});
  EXPECT_EQ(w.task(task).status, TaskStatus::done);
}

// The same after a reopen: the checks made before the task was done do not pass its next completion.
TEST(CompleteGates, AReopenedTaskIsCheckedAgain) {
  DomainWorld w;
  w.create_project(rules_with({{GateKind::in_scope, 1, ""}}));
  const Uuid task = w.create_task("t");
  const Uuid first = w.claim(task, "agent-1", 600);
  w.now += 1s;
  w.run(AssertScope{task, {"src/a.cpp"}, {}, {}, first});
  w.run(CompleteTask{task, first, "s", {}});
  w.now += 1s;
  w.run(ReopenTask{task, "missed a case"});
  w.now += 1s;
  const Uuid second = w.claim(task, "agent-2", 600);
  EXPECT_EQ(w.refused(CompleteTask{task, second, "s", {}}).code(), ErrorCode::gate_failed);
  w.now += 1s;
  w.run(AssertScope{task, {"src/a.cpp"}, {}, {}, second});
  w.run(CompleteTask{task, second, "s", {}});
}

// ---- fail and backoff ----

TEST(FailTask, RetriesWithBackoffUntilMaxAttemptsThenFails) {
  DomainWorld w;
  w.create_project(rules_with({}, 4));
  const Uuid task = w.create_task("flaky");
  const std::vector<std::chrono::seconds> expected_delays{30s, 60s, 120s};
  for (std::size_t i = 0; i < expected_delays.size(); ++i) {
    SCOPED_TRACE(i);
    const Uuid token = w.claim(task);
    EXPECT_EQ(w.task(task).lease->attempt, static_cast<std::int64_t>(i + 1));
    const auto events = w.run(FailTask{task, token, "tests red"});
    const auto& e = std::get<TaskAttemptFailed>(events.at(0));
    EXPECT_FALSE(e.gave_up);
    EXPECT_EQ(e.retry_at, w.now + expected_delays[i]);
    const TaskState& t = w.task(task);
    EXPECT_EQ(t.status, TaskStatus::todo);
    EXPECT_EQ(t.attempts, static_cast<std::int64_t>(i + 1));
    EXPECT_EQ(t.next_retry_at, w.now + expected_delays[i]);
    EXPECT_EQ(t.failure_reason, "tests red");

    // Not claimable until the retry is due.
    w.now += expected_delays[i] - 1s;
    const DomainError early = w.refused(ClaimTask{task, "a", 60});
    EXPECT_EQ(early.code(), ErrorCode::task_not_ready);
    EXPECT_EQ(str(details(early)["reason"]), "retry_pending");
    w.now += 1s;
  }
  const Uuid token = w.claim(task);
  const auto events = w.run(FailTask{task, token, "still red"});
  const auto& last = std::get<TaskAttemptFailed>(events.at(0));
  EXPECT_TRUE(last.gave_up);
  EXPECT_EQ(last.retry_at, std::nullopt);
  EXPECT_EQ(w.task(task).status, TaskStatus::failed);
  EXPECT_EQ(w.task(task).attempts, 4);
  EXPECT_EQ(w.task(task).next_retry_at, std::nullopt);
  EXPECT_EQ(w.refused(ClaimTask{task, "a", 60}).code(), ErrorCode::illegal_transition);
}

// ---- lease expiry (the reaper) ----

TEST_F(LeaseCommands, ExpireOnlyAfterTheLeaseRanOut) {
  const Uuid token = w.claim(task, "a", 60);
  w.now += 59s;
  DomainError e = w.refused(ExpireLease{task, lease_id_of(token)});
  EXPECT_EQ(e.code(), ErrorCode::illegal_transition);
  EXPECT_EQ(str(details(e)["expires_at"]), "2024-05-01T09:01:00.000000Z");
  w.now += 1s;
  const auto events = w.run(ExpireLease{task, lease_id_of(token)});
  const auto& x = std::get<TaskLeaseExpired>(events.at(0));
  EXPECT_EQ(x.agent, "a");
  EXPECT_EQ(x.expired_at, kT0 + 60s);
  EXPECT_EQ(x.attempt, 1);
  EXPECT_FALSE(x.gave_up);
  const TaskState& t = w.task(task);
  EXPECT_EQ(t.status, TaskStatus::todo);
  EXPECT_EQ(t.attempts, 1);
  EXPECT_EQ(t.failure_reason, "lease expired");
  EXPECT_EQ(t.lease, std::nullopt);
  // Ready again at once.
  EXPECT_EQ(std::get<TaskClaimed>(w.run(ClaimTask{task, "b", 60}).at(0)).attempt, 2);
}

TEST_F(LeaseCommands, ExpireRefusesAnotherLeasesToken) {
  const Uuid old_token = w.claim(task, "a", 60);
  w.now += 61s;
  w.run(ExpireLease{task, lease_id_of(old_token)});
  EXPECT_EQ(w.refused(ExpireLease{task, lease_id_of(old_token)}).code(), ErrorCode::lease_lost);
  w.claim(task, "b", 60);
  w.now += 61s;
  EXPECT_EQ(w.refused(ExpireLease{task, lease_id_of(old_token)}).code(), ErrorCode::lease_lost);
}

TEST_F(LeaseCommands, ExpiryAfterMaxAttemptsFailsTheTask) {
  for (int attempt = 1; attempt <= 3; ++attempt) {
    const Uuid token = w.claim(task, "a", 60);
    w.now += 60s;
    const auto events = w.run(ExpireLease{task, lease_id_of(token)});
    EXPECT_EQ(std::get<TaskLeaseExpired>(events.at(0)).gave_up, attempt == 3);
  }
  EXPECT_EQ(w.task(task).status, TaskStatus::failed);
  EXPECT_EQ(w.task(task).attempts, 3);
}

TEST_F(LeaseCommands, ExpiryRunsInArchivedProjects) {
  const Uuid token = w.claim(task, "a", 60);
  w.run(ArchiveProject{project, ""});
  w.now += 60s;
  w.run(ExpireLease{task, lease_id_of(token)});
  EXPECT_EQ(w.task(task).status, TaskStatus::todo);
}

// ---- pick_next_task ----

TEST(PickNextTask, ClaimsTheChosenTask) {
  DomainWorld w;
  const Uuid project = w.create_project();
  const Uuid low = w.create_task("low", {}, Priority::low);
  const Uuid high = w.create_task("high", {}, Priority::high);
  const Uuid blocked_by_high = w.create_task("after-high", {high}, Priority::critical);
  (void)blocked_by_high;
  const auto first = w.run(PickNextTask{project, "a1", PickStrategy::priority, 60});
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(std::get<TaskClaimed>(first[0]).task_id, high);
  EXPECT_EQ(std::get<TaskClaimed>(first[0]).agent, "a1");
  const auto second = w.run(PickNextTask{project, "a2", PickStrategy::priority, 60});
  EXPECT_EQ(std::get<TaskClaimed>(second.at(0)).task_id, low);
  EXPECT_TRUE(w.run(PickNextTask{project, "a3", PickStrategy::priority, 60}).empty());
}

TEST(PickNextTask, DependenciesStrategyPrefersTheTaskOthersWaitOn) {
  DomainWorld w;
  const Uuid project = w.create_project();
  const Uuid lonely = w.create_task("lonely", {}, Priority::critical);
  const Uuid base = w.create_task("base", {}, Priority::low);
  w.create_task("needs-base-1", {base});
  w.create_task("needs-base-2", {base});
  (void)lonely;
  const auto events = w.run(PickNextTask{project, "a", PickStrategy::dependencies, 60});
  EXPECT_EQ(std::get<TaskClaimed>(events.at(0)).task_id, base);
}

TEST(PickNextTask, TwoAgentsNeverGetTheSameTask) {
  DomainWorld w;
  const Uuid project = w.create_project();
  std::set<Uuid> created;
  for (int i = 0; i < 20; ++i) created.insert(w.create_task("t" + std::to_string(i)));
  std::set<Uuid> claimed;
  for (int i = 0; i < 25; ++i) {
    const auto events = w.run(PickNextTask{project, "agent-" + std::to_string(i % 3), PickStrategy::oldest, 60});
    if (events.empty()) continue;
    EXPECT_TRUE(claimed.insert(std::get<TaskClaimed>(events[0]).task_id).second);
  }
  EXPECT_EQ(claimed, created);
}
