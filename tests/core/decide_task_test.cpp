#include "core/decide.hpp"

#include "domain_world.hpp"

#include <gtest/gtest.h>

using namespace tasklog;
using namespace tasklog::testing;

namespace {

class TaskCommands : public ::testing::Test {
 protected:
  DomainWorld w;
  Uuid project = w.create_project();

  // Drives a fresh task into `status` through the real commands.
  Uuid task_in(TaskStatus status) {
    const Uuid t = w.create_task("task in " + std::string(enum_name(status)));
    switch (status) {
      case TaskStatus::todo: break;
      case TaskStatus::in_progress: w.claim(t); break;
      case TaskStatus::blocked: w.run(BlockTask{t, "waiting", true, std::nullopt}); break;
      case TaskStatus::done: {
        const Uuid token = w.claim(t);
        w.run(CompleteTask{t, token, "done", {}});
        break;
      }
      case TaskStatus::failed: {
        for (int i = 0; i < 3; ++i) {
          w.now += 2h;
          w.run(FailTask{t, w.claim(t), "boom"});
        }
        break;
      }
      case TaskStatus::cancelled: w.run(CancelTask{t, "nope"}); break;
    }
    EXPECT_EQ(w.task(t).status, status);
    return t;
  }
};

const std::vector<TaskStatus> kAllStatuses{TaskStatus::todo, TaskStatus::in_progress, TaskStatus::blocked,
                                           TaskStatus::done, TaskStatus::failed, TaskStatus::cancelled};

}  // namespace

TEST_F(TaskCommands, CreateBuildsTheRow) {
  const Uuid dep = w.create_task("dep");
  w.now += 10s;
  CreateTask c{.project_id = project, .title = "Add login", .description = "OAuth", .type = "feature",
               .priority = Priority::high, .acceptance_criteria = {"logs in", "logs out"}, .constraints = {"no new deps"},
               .dependencies = {dep}, .parent_task_id = dep, .timebox_seconds = 3600};
  const auto events = w.run(c);
  ASSERT_EQ(events.size(), 1u);
  const TaskState& t = w.task(std::get<TaskCreated>(events[0]).task_id);
  EXPECT_EQ(t.project_id, project);
  EXPECT_EQ(t.title, "Add login");
  EXPECT_EQ(t.type, "feature");
  EXPECT_EQ(t.priority, Priority::high);
  EXPECT_EQ(t.status, TaskStatus::todo);
  ASSERT_EQ(t.acceptance_criteria.size(), 2u);
  EXPECT_EQ(t.acceptance_criteria[1].text, "logs out");
  EXPECT_FALSE(t.acceptance_criteria[1].met);
  EXPECT_EQ(t.dependencies, std::vector<Uuid>{dep});
  EXPECT_EQ(t.parent_task_id, dep);
  EXPECT_EQ(t.timebox_seconds, 3600);
  EXPECT_EQ(t.version, 1);
  EXPECT_EQ(t.created_at, kT0 + 10s);
  EXPECT_EQ(t.created_by, named_id("alice"));
  EXPECT_EQ(route(events[0]), (EventRoute{t.id, StreamType::task, project, t.id}));
}

TEST_F(TaskCommands, CreateRefusesUnknownDependencyOrParent) {
  DomainError e = w.refused(CreateTask{.project_id = project, .title = "t", .dependencies = {named_id("ghost")}});
  EXPECT_EQ(e.code(), ErrorCode::not_found);
  EXPECT_EQ(str(details(e)["task_id"]), to_string(named_id("ghost")));
  e = w.refused(CreateTask{.project_id = project, .title = "t", .parent_task_id = named_id("ghost")});
  EXPECT_EQ(e.code(), ErrorCode::not_found);
  EXPECT_EQ(str(details(e)["role"]), "parent task");
}

TEST_F(TaskCommands, CreateRefusesRepeatedDependencyAndBadTimebox) {
  const Uuid dep = w.create_task("dep");
  EXPECT_EQ(w.refused(CreateTask{.project_id = project, .title = "t", .dependencies = {dep, dep}}).code(),
            ErrorCode::validation_failed);
  EXPECT_EQ(w.refused(CreateTask{.project_id = project, .title = "t", .timebox_seconds = 0}).code(),
            ErrorCode::validation_failed);
}

TEST_F(TaskCommands, CreateInAnUnknownProjectIsNotFound) {
  EXPECT_EQ(w.refused(CreateTask{.project_id = named_id("elsewhere"), .title = "t"}).code(), ErrorCode::not_found);
}

TEST_F(TaskCommands, UpdateReplacesCriteriaUnmet) {
  const Uuid t = w.create_task("t", {}, Priority::low, {"old"});
  w.run(MarkCriterionMet{t, 0, "proof", std::nullopt});
  w.run(UpdateTask{.task_id = t, .priority = Priority::critical, .acceptance_criteria = std::vector<std::string>{"new1", "new2"}});
  const TaskState& s = w.task(t);
  EXPECT_EQ(s.title, "t");
  EXPECT_EQ(s.priority, Priority::critical);
  ASSERT_EQ(s.acceptance_criteria.size(), 2u);
  EXPECT_FALSE(s.acceptance_criteria[0].met);
  EXPECT_EQ(s.version, 3);
}

// Replacing the criteria resets those the holder marked met: nobody but the holder (a stale agent
// whose lease the reaper ended, say) may change a held task.
TEST_F(TaskCommands, UpdateOfAHeldTaskNeedsTheHoldersToken) {
  const Uuid t = w.create_task("t", {}, Priority::low, {"c"});
  const Uuid token = w.claim(t, "agent-2");
  w.run(MarkCriterionMet{t, 0, "proof", token});
  const DomainError e = w.refused(UpdateTask{.task_id = t, .acceptance_criteria = std::vector<std::string>{"c"}});
  EXPECT_EQ(e.code(), ErrorCode::lease_lost);
  EXPECT_EQ(str(details(e)["reason"]), "held_by_other");
  EXPECT_EQ(w.refused(UpdateTask{.task_id = t, .title = "x", .lease_token = named_id("stale")}).code(),
            ErrorCode::lease_lost);
  EXPECT_TRUE(w.task(t).acceptance_criteria[0].met);
  w.run(UpdateTask{.task_id = t, .title = "renamed", .lease_token = token});
  EXPECT_EQ(w.task(t).title, "renamed");
}

// A done task was completed against its criteria: they are not replaced under it (reopen first).
// Its other fields may still be corrected.
TEST_F(TaskCommands, ADoneTasksCriteriaAreNotReplaced) {
  const Uuid t = w.create_task("t", {}, Priority::low, {"c"});
  const Uuid token = w.claim(t);
  w.run(MarkCriterionMet{t, 0, "proof", token});
  w.run(CompleteTask{t, token, "done", {}});
  const DomainError e = w.refused(UpdateTask{.task_id = t, .acceptance_criteria = std::vector<std::string>{"other"}});
  EXPECT_EQ(e.code(), ErrorCode::illegal_transition);
  EXPECT_EQ(str(details(e)["path"]), "/acceptance_criteria");
  EXPECT_TRUE(w.task(t).acceptance_criteria[0].met);
  w.run(UpdateTask{.task_id = t, .title = "typo fixed"});
  EXPECT_EQ(w.task(t).title, "typo fixed");
}

TEST_F(TaskCommands, UpdateNeedsAChangeAndAKnownTask) {
  const Uuid t = w.create_task("t");
  EXPECT_EQ(w.refused(UpdateTask{.task_id = t}).code(), ErrorCode::validation_failed);
  EXPECT_EQ(w.refused(UpdateTask{.task_id = named_id("ghost"), .title = "x"}).code(), ErrorCode::not_found);
}

TEST_F(TaskCommands, UpdateChecksExpectedVersion) {
  const Uuid t = w.create_task("t");
  w.expected_version = 2;
  const DomainError e = w.refused(UpdateTask{.task_id = t, .title = "x"});
  EXPECT_EQ(e.code(), ErrorCode::version_conflict);
  EXPECT_EQ(details(e)["current_version"].GetInt64(), 1);
  w.expected_version = 1;
  w.run(UpdateTask{.task_id = t, .title = "x"});
  EXPECT_EQ(w.task(t).title, "x");
}

TEST_F(TaskCommands, AddAndRemoveDependency) {
  const Uuid a = w.create_task("a");
  const Uuid b = w.create_task("b");
  w.run(AddDependency{b, a});
  EXPECT_EQ(w.task(b).dependencies, std::vector<Uuid>{a});
  EXPECT_EQ(w.refused(AddDependency{b, a}).code(), ErrorCode::validation_failed);
  w.run(RemoveDependency{b, a});
  EXPECT_TRUE(w.task(b).dependencies.empty());
  EXPECT_EQ(w.refused(RemoveDependency{b, a}).code(), ErrorCode::not_found);
  EXPECT_EQ(w.refused(AddDependency{b, named_id("ghost")}).code(), ErrorCode::not_found);
}

// A dependency is added before work starts (todo or blocked): a claim requires every dependency
// done and a completion does not look again, so one added to a task in progress would let it finish
// ahead of what it waits on; a finished task has nothing left to wait for.
TEST_F(TaskCommands, ADependencyIsAddedOnlyBeforeWorkStarts) {
  const Uuid other = w.create_task("other");
  for (TaskStatus s : kAllStatuses) {
    SCOPED_TRACE(std::string(enum_name(s)));
    const Uuid t = task_in(s);
    if (s == TaskStatus::todo || s == TaskStatus::blocked) {
      w.run(AddDependency{t, other});
      EXPECT_EQ(w.task(t).dependencies, std::vector<Uuid>{other});
    } else {
      const DomainError e = w.refused(AddDependency{t, other});
      EXPECT_EQ(e.code(), ErrorCode::illegal_transition) << e.what();
      EXPECT_TRUE(w.task(t).dependencies.empty());
    }
  }
}

TEST_F(TaskCommands, SelfDependencyIsACycle) {
  const Uuid a = w.create_task("a");
  const DomainError e = w.refused(AddDependency{a, a});
  EXPECT_EQ(e.code(), ErrorCode::dependency_cycle);
  const auto d = details(e);
  ASSERT_EQ(d["cycle"].Size(), 2u);
  EXPECT_EQ(str(d["cycle"][0]), to_string(a));
  EXPECT_EQ(str(d["cycle"][1]), to_string(a));
}

TEST_F(TaskCommands, DirectCycleIsRefusedAndNamed) {
  const Uuid a = w.create_task("a");
  const Uuid b = w.create_task("b", {a});
  const DomainError e = w.refused(AddDependency{a, b});
  EXPECT_EQ(e.code(), ErrorCode::dependency_cycle);
  EXPECT_EQ(std::string(e.what()),
            "this dependency would close a cycle: " + to_string(a) + " -> " + to_string(b) + " -> " + to_string(a));
}

TEST_F(TaskCommands, IndirectCycleIsRefusedAndNamed) {
  const Uuid a = w.create_task("a");
  const Uuid b = w.create_task("b", {a});
  const Uuid c = w.create_task("c", {b});
  const DomainError e = w.refused(AddDependency{a, c});
  EXPECT_EQ(e.code(), ErrorCode::dependency_cycle);
  const auto d = details(e);
  ASSERT_EQ(d["cycle"].Size(), 4u);
  EXPECT_EQ(str(d["cycle"][0]), to_string(a));
  EXPECT_EQ(str(d["cycle"][1]), to_string(c));
  EXPECT_EQ(str(d["cycle"][2]), to_string(b));
  EXPECT_EQ(str(d["cycle"][3]), to_string(a));
  EXPECT_TRUE(w.task(a).dependencies.empty());
}

TEST_F(TaskCommands, BlockFromTodoOrInProgressOnly) {
  for (TaskStatus s : kAllStatuses) {
    SCOPED_TRACE(std::string(enum_name(s)));
    const Uuid t = task_in(s);
    std::optional<Uuid> token;
    if (w.task(t).lease) token = w.tokens.at(t);
    const BlockTask cmd{t, "need API key", true, token};
    if (s == TaskStatus::todo || s == TaskStatus::in_progress) {
      w.run(cmd);
      EXPECT_EQ(w.task(t).status, TaskStatus::blocked);
      EXPECT_EQ(w.task(t).block_reason, "need API key");
      EXPECT_TRUE(w.task(t).needs_human);
      EXPECT_EQ(w.task(t).lease, std::nullopt);
    } else {
      const DomainError e = w.refused(cmd);
      EXPECT_EQ(e.code(), ErrorCode::illegal_transition);
      EXPECT_EQ(str(details(e)["status"]), enum_name(s));
    }
  }
}

TEST_F(TaskCommands, BlockingAHeldTaskNeedsTheHoldersToken) {
  const Uuid t = w.create_task("t");
  w.claim(t);
  const DomainError e = w.refused(BlockTask{t, "r", false, std::nullopt});
  EXPECT_EQ(e.code(), ErrorCode::lease_lost);
  EXPECT_EQ(str(details(e)["reason"]), "held_by_other");
  EXPECT_EQ(w.refused(BlockTask{t, "r", false, named_id("wrong")}).code(), ErrorCode::lease_lost);
}

// Blocking ends a lease; one past its time is an attempt the reaper has yet to count, so blocking
// it first would let the task escape max_attempts. Refused as a claim is, until the reaper ran.
TEST_F(TaskCommands, AnExpiredLeaseIsNotBlockedAwayBeforeTheReaperCountsIt) {
  const Uuid t = w.create_task("t");
  w.claim(t, "a", 60);
  w.now += 61s;
  const DomainError e = w.refused(BlockTask{t, "stuck", false, std::nullopt});
  EXPECT_EQ(e.code(), ErrorCode::task_not_ready);
  EXPECT_EQ(str(details(e)["reason"]), "lease_expiring");
  w.run(ExpireLease{t, w.task(t).lease->id});
  EXPECT_EQ(w.task(t).attempts, 1);
  w.run(BlockTask{t, "stuck", false, std::nullopt});
  EXPECT_EQ(w.task(t).status, TaskStatus::blocked);
}

TEST_F(TaskCommands, UnblockOnlyFromBlocked) {
  for (TaskStatus s : kAllStatuses) {
    SCOPED_TRACE(std::string(enum_name(s)));
    const Uuid t = task_in(s);
    if (s == TaskStatus::blocked) {
      w.run(UnblockTask{t, "key added"});
      EXPECT_EQ(w.task(t).status, TaskStatus::todo);
      EXPECT_EQ(w.task(t).block_reason, std::nullopt);
      EXPECT_FALSE(w.task(t).needs_human);
    } else {
      EXPECT_EQ(w.refused(UnblockTask{t, ""}).code(), ErrorCode::illegal_transition);
    }
  }
}

TEST_F(TaskCommands, CancelUnlessFinished) {
  for (TaskStatus s : kAllStatuses) {
    SCOPED_TRACE(std::string(enum_name(s)));
    const Uuid t = task_in(s);
    if (!is_terminal(s)) {
      w.run(CancelTask{t, "scope cut"});
      EXPECT_EQ(w.task(t).status, TaskStatus::cancelled);
      EXPECT_EQ(w.task(t).cancel_reason, "scope cut");
      EXPECT_EQ(w.task(t).lease, std::nullopt);
    } else {
      const DomainError e = w.refused(CancelTask{t, ""});
      EXPECT_EQ(e.code(), ErrorCode::illegal_transition);
      EXPECT_EQ(details(e)["allowed_from"].Size(), 3u);
    }
  }
}

TEST_F(TaskCommands, ReopenOnlyFinishedTasksAndResetAttempts) {
  for (TaskStatus s : kAllStatuses) {
    SCOPED_TRACE(std::string(enum_name(s)));
    const Uuid t = task_in(s);
    if (is_terminal(s)) {
      w.run(ReopenTask{t, "regression"});
      const TaskState& r = w.task(t);
      EXPECT_EQ(r.status, TaskStatus::todo);
      EXPECT_EQ(r.attempts, 0);
      EXPECT_EQ(r.next_retry_at, std::nullopt);
      EXPECT_EQ(r.completed_at, std::nullopt);
      EXPECT_EQ(r.failure_reason, std::nullopt);
      EXPECT_EQ(r.cancel_reason, std::nullopt);
      EXPECT_TRUE(r.gate_results.empty());
    } else {
      EXPECT_EQ(w.refused(ReopenTask{t, ""}).code(), ErrorCode::illegal_transition);
    }
  }
}

TEST_F(TaskCommands, ArchivedProjectRefusesTaskCommands) {
  const Uuid t = w.create_task("t");
  w.run(ArchiveProject{project, ""});
  const DomainError e = w.refused(UpdateTask{.task_id = t, .title = "x"});
  EXPECT_EQ(e.code(), ErrorCode::illegal_transition);
  EXPECT_TRUE(details(e)["archived"].GetBool());
  EXPECT_EQ(w.refused(ClaimTask{t, "a", std::nullopt}).code(), ErrorCode::illegal_transition);
}
