// The inline projector takes the row the engine's decider handed over instead of reading it, but
// only when it is the stream's row just before the event; otherwise it reads the row itself.
#include "core/codec.hpp"
#include "projections/event_fold.hpp"
#include "projections/inline_projector.hpp"
#include "projections/read_model_store.hpp"
#include "projections/row_handoff.hpp"
#include "tests/core/domain_world.hpp"
#include "tests/support/test_cluster.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

namespace tasklog::projections {
namespace {

using tasklog::testing::DomainWorld;

class RowHandoffTest : public ::testing::Test {
 protected:
  void SetUp() override {
    world.create_project();
    task_id = world.create_task("t");
    pqxx::work tx(connection);
    write_all(tx, kReadSchema, {{world.project().id, world.model}});
    tx.commit();
  }

  // Projects one event as the store does: the projector's statements, then run.
  static void project(pqxx::transaction_base& tx, const events::RecordedEvent& event) {
    std::string sql;
    project_inline(tx, kReadSchema, {event}, sql);
    tx.exec(sql);
  }

  // The next event of the task's stream, as the log would hand it to the projector.
  events::RecordedEvent next_event() {
    const TaskState& task = world.task(task_id);
    const DomainEvent event = TaskUpdated{.project_id = task.project_id, .task_id = task.id, .title = "renamed"};
    events::RecordedEvent r;
    r.position = world.position + 1;
    r.event_id = tasklog::testing::named_id("event");
    r.stream_id = task.id;
    r.stream_type = "task";
    r.version = task.version + 1;
    r.project_id = task.project_id;
    r.task_id = task.id;
    r.actor_id = world.actor;
    r.type = std::string(event_type_name(event));
    r.payload = encode_event(event);
    r.recorded_at = world.now;
    return r;
  }

  TaskState stored_task() {
    pqxx::read_transaction tx(connection);
    return load_task(tx, task_id).value();
  }

  DomainWorld world;
  Uuid task_id;
  tasklog::testing::TestDatabase db;
  pqxx::connection connection{db.conninfo()};
};

TEST_F(RowHandoffTest, HandedRowAtTheVersionBeforeTheEventIsUsedInsteadOfARead) {
  const auto event = next_event();
  TaskState handed = world.task(task_id);
  handed.description = "only in the handed row";
  RowHandoff::instance().put(event.event_id, handed);
  pqxx::work tx(connection);
  project(tx, event);
  tx.commit();
  EXPECT_EQ(stored_task().description, "only in the handed row");
  EXPECT_EQ(stored_task().title, "renamed");
  EXPECT_EQ(RowHandoff::instance().size(), 0u);
}

TEST_F(RowHandoffTest, HandedRowAtAnotherVersionIsIgnored) {
  const auto event = next_event();
  TaskState stale = world.task(task_id);
  stale.description = "stale";
  stale.version -= 1;
  RowHandoff::instance().put(event.event_id, stale);
  pqxx::work tx(connection);
  project(tx, event);
  tx.commit();
  EXPECT_EQ(stored_task().description, world.task(task_id).description);
  EXPECT_EQ(stored_task().title, "renamed");
  EXPECT_EQ(stored_task().version, event.version);
  EXPECT_EQ(RowHandoff::instance().size(), 0u);
}

}  // namespace
}  // namespace tasklog::projections
