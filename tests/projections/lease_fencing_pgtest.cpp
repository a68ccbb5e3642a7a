// Fencing over time: a lease that runs out is expired by the reaper, the old holder's token is
// refused from then on, and the next holder finishes the task.
#include "tests/projections/engine_fixture.hpp"

#include "core/decide.hpp"
#include "projections/lease_reaper.hpp"
#include "tests/support/eventually.hpp"


namespace tasklog::projections::testing {
namespace {

class LeaseFencingTest : public EngineTest {
 protected:
  LeaseReaperOptions reaper_options() {
    LeaseReaperOptions options;
    options.conninfo = db.conninfo();
    options.actor = derived_uuid("test:reaper");
    options.clock = [this] { return clock(); };
    return options;
  }
  TaskState task_row(const Uuid& id) {
    pqxx::connection c(db.conninfo());
    pqxx::read_transaction tx(c);
    return load_task(tx, id).value();
  }
};

TEST_F(LeaseFencingTest, ExpiredLeaseIsReapedAndTheOldTokenIsFenced) {
  const Uuid project = create_project();
  const Uuid task = create_task(project, "slow");
  const Uuid stale = claim(task, "agent-1", kMinLeaseSeconds);
  LeaseReaper reaper(*engine, reaper_options());
  EXPECT_EQ(reaper.reap_once(), 0u);  // not due yet

  clock.advance(std::chrono::seconds(kMinLeaseSeconds) + 1s);
  EXPECT_EQ(reaper.reap_once(), 1u);
  EXPECT_EQ(reaper.stats().expired, 1u);
  EXPECT_EQ(query("SELECT type FROM events ORDER BY position DESC LIMIT 1")[0][0].as<std::string>(), "TaskLeaseExpired");
  const TaskState expired = task_row(task);
  EXPECT_EQ(expired.status, TaskStatus::todo);
  EXPECT_EQ(expired.attempts, 1);
  EXPECT_FALSE(expired.lease);
  expect_consistent("after the expiry");

  EXPECT_EQ(refused(Heartbeat{.task_id = task, .lease_token = stale}), ErrorCode::lease_lost);
  EXPECT_EQ(refused(CompleteTask{.task_id = task, .lease_token = stale, .summary = "late"}), ErrorCode::lease_lost);

  const auto picked = step(PickNextTask{.project_id = project, .agent = "agent-2"});
  const auto next = std::get<TaskClaimed>(picked.events.at(0));
  EXPECT_EQ(next.task_id, task);
  EXPECT_EQ(next.attempt, 2);
  EXPECT_EQ(refused(Heartbeat{.task_id = task, .lease_token = stale}), ErrorCode::lease_lost);
  step(CompleteTask{.task_id = task, .lease_token = *picked.lease_token, .summary = "done by the next holder"});
  EXPECT_EQ(task_row(task).status, TaskStatus::done);
  EXPECT_EQ(reaper.reap_once(), 0u);
}

// The reaper's scan is only a hint: the decision happens under the append lock. Here the reaper
// thinks the lease ran out (its clock is ahead) but the holder's lease is live when decided.
TEST_F(LeaseFencingTest, ReaperIsRefusedWhenTheLeaseIsStillLive) {
  const Uuid project = create_project();
  const Uuid task = create_task(project, "busy");
  const Uuid token = claim(task, "agent-1", kMinLeaseSeconds);
  auto options = reaper_options();
  options.clock = [this] { return clock() + 1h; };
  LeaseReaper reaper(*engine, options);
  const events::Position before = head();
  EXPECT_EQ(reaper.reap_once(), 0u);
  EXPECT_EQ(reaper.stats().refused, 1u);
  EXPECT_EQ(reaper.stats().errors, 0u);
  EXPECT_EQ(head(), before);
  step(Heartbeat{.task_id = task, .lease_token = token});
}

// Real time end to end: the store's clock, the database's now() and the reaper's own thread.
TEST_F(LeaseFencingTest, ReaperThreadExpiresARealLease) {
  engine.reset();
  store.reset();
  store = std::make_unique<events::EventStore>(engine_store_options(db.conninfo()));
  engine = std::make_unique<TaskEngine>(*store);
  const Uuid project = create_project();
  const Uuid task = create_task(project, "real");
  const Uuid stale = claim(task, "agent-1", kMinLeaseSeconds);
  auto options = reaper_options();
  options.clock = {};  // the database's now()
  options.interval = 100ms;
  LeaseReaper reaper(*engine, options);
  reaper.start();
  EXPECT_TRUE(tasklog::testing::eventually([&] { return task_row(task).status == TaskStatus::todo; }, 30s, 50ms));
  reaper.stop();
  EXPECT_EQ(reaper.stats().expired, 1u);
  EXPECT_GE(reaper.stats().passes, 2u);
  EXPECT_EQ(refused(CompleteTask{.task_id = task, .lease_token = stale, .summary = "late"}), ErrorCode::lease_lost);
  const Uuid next = claim(task, "agent-2");
  step(CompleteTask{.task_id = task, .lease_token = next, .summary = "ok"});
}

// A lease taken by an earlier release: its TaskClaimed (schema version 1) carries the token
// itself, and the log keeps it so, readable by every member. Read as a version-2 event that token
// is the lease's id — it acts no more, for its holder or anyone who read it — and the reaper
// expires the lease as any other, after which the task is claimed again.
TEST_F(LeaseFencingTest, ALeaseFromAVersionOneEventAnswersToNoToken) {
  const Uuid project = create_project();
  const Uuid task = create_task(project, "long");
  const Uuid token = derived_uuid("a token an earlier release handed out");
  const Timestamp expires = clock() + std::chrono::seconds(kMinLeaseSeconds);
  store->append({events::StreamAppend{
      .stream_id = task,
      .stream_type = "task",
      .expected = events::ExpectedVersion::exact(1),
      .events = {events::NewEvent{
          .event_id = derived_uuid("the version-1 claim"),
          .type = "TaskClaimed",
          .schema_version = 1,
          .payload = R"({"agent":"agent-1","attempt":1,"expires_at":")" + format_timestamp(expires) +
                     R"(","lease_token":")" + to_string(token) + R"(","project_id":")" + to_string(project) +
                     R"(","task_id":")" + to_string(task) + R"("})",
          .project_id = project,
          .task_id = task,
          .actor_id = actor}}}});
  expect_consistent("after a version-1 claim");
  ASSERT_TRUE(task_row(task).lease);
  EXPECT_EQ(task_row(task).lease->id, token);
  EXPECT_EQ(task_row(task).status, TaskStatus::in_progress);
  // The token, readable in the log, proves nothing any more.
  EXPECT_EQ(refused(Heartbeat{.task_id = task, .lease_token = token}), ErrorCode::lease_lost);
  EXPECT_EQ(refused(CompleteTask{.task_id = task, .lease_token = token, .summary = "taken over"}), ErrorCode::lease_lost);

  LeaseReaper reaper(*engine, reaper_options());
  clock.advance(std::chrono::seconds(kMinLeaseSeconds) + 1s);
  EXPECT_EQ(reaper.reap_once(), 1u);
  expect_consistent("after the expiry");
  const Uuid next = claim(task, "agent-2");
  step(CompleteTask{.task_id = task, .lease_token = next, .summary = "done by the next holder"});
  EXPECT_EQ(task_row(task).status, TaskStatus::done);
}

}  // namespace
}  // namespace tasklog::projections::testing
