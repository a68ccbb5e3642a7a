// /v1 event routes over real HTTP: the log with every column a client needs (ids, payload,
// metadata, recorded_at, hashes), paged by position without gaps or repeats, and the project and
// task timelines.
#include "api/route_support.hpp"
#include "events/event_reader.hpp"
#include "tests/api/routes_fixture.hpp"
#include "tests/support/explain.hpp"

#include <algorithm>
#include <utility>

namespace tasklog::testing {
namespace {

class EventRoutesTest : public RoutesTest {};

TEST_F(EventRoutesTest, TheLogPagesByPositionWithoutGapsOrRepeats) {
  const auto project = create_project(*alice);
  for (int i = 0; i < 6; ++i) create_task(*alice, project, R"({"title":"t)" + std::to_string(i) + R"("})");
  const auto total = head();
  ASSERT_EQ(total, 7);

  std::vector<std::int64_t> positions;
  std::string cursor = "0";
  for (int pages = 0; pages < 10; ++pages) {
    const auto r = alice->get("/v1/events?limit=3&after=" + cursor);
    ASSERT_EQ(r.status, 200u) << r.body;
    const auto doc = r.json();
    for (const auto& e : doc["data"].GetArray()) positions.push_back(e["position"].GetInt64());
    if (doc["next_cursor"].IsNull()) break;
    cursor = doc["next_cursor"].GetString();
  }
  std::vector<std::int64_t> expected;
  for (std::int64_t p = 1; p <= total; ++p) expected.push_back(p);
  EXPECT_EQ(positions, expected);

  const auto first = alice->get("/v1/events?limit=1");
  EXPECT_EQ(str_at(first, "/data/0/type"), "ProjectCreated");
  EXPECT_EQ(str_at(first, "/data/0/stream_type"), "project");
  EXPECT_EQ(str_at(first, "/data/0/project_id"), project);
  EXPECT_EQ(str_at(first, "/data/0/actor_id"), to_string(alice_user.id));
  EXPECT_EQ(str_at(first, "/data/0/payload/name"), "demo");
  EXPECT_EQ(str_at(first, "/data/0/hash").size(), 64u);
  EXPECT_EQ(str_at(first, "/data/0/hash"),
            query_value(conninfo(), "SELECT encode(hash, 'hex') FROM events WHERE position = 1"));
  EXPECT_EQ(int_at(first, "/data/0/version"), 1);
  EXPECT_FALSE(str_at(first, "/data/0/recorded_at").empty());
  EXPECT_TRUE(has(first, "/data/0/metadata"));

  // The end of the log: an empty page, no cursor.
  const auto end = alice->get("/v1/events?after=" + std::to_string(total));
  EXPECT_EQ(size_at(end, "/data"), 0);
  EXPECT_TRUE(is_null_at(end, "/next_cursor"));
}

TEST_F(EventRoutesTest, ProjectAndTaskTimelines) {
  const auto p1 = create_project(*alice);
  const auto p2 = create_project(*alice);
  const auto t1 = create_task(*alice, p1);
  create_task(*alice, p2);
  claim(*alice, t1);

  const auto project = alice->get("/v1/projects/" + p1 + "/events");
  ASSERT_EQ(project.status, 200u) << project.body;
  EXPECT_EQ(size_at(project, "/data"), 3);  // created, task created, claimed
  const auto task = alice->get("/v1/tasks/" + t1 + "/events");
  ASSERT_EQ(task.status, 200u) << task.body;
  EXPECT_EQ(size_at(task, "/data"), 2);
  EXPECT_EQ(str_at(task, "/data/1/type"), "TaskClaimed");
  const auto after = alice->get("/v1/tasks/" + t1 + "/events?after=" + std::to_string(int_at(task, "/data/0/position")));
  EXPECT_EQ(size_at(after, "/data"), 1);

  EXPECT_EQ(alice->get("/v1/projects/00000000-0000-4000-8000-000000000000/events").status, 404u);
  EXPECT_EQ(alice->get("/v1/tasks/00000000-0000-4000-8000-000000000000/events").status, 404u);
}

// A page of a small project's (or task's) timeline reads that project's own index entries, in any
// plan a pooled connection settles on: not the log from the cursor onwards through a large
// project's events. Forced into the generic plan and read as a member of both projects, as the
// route reads.
TEST_F(EventRoutesTest, ASmallProjectsTimelineIsReadFromItsOwnIndexEntriesWhateverThePlan) {
  const auto first = create_project(*alice);
  const auto second = create_project(*alice);
  // The large project's id sorts below: a forward scan that row-level security's
  // `project_id = ANY(visible)` starts at each visible project would walk its entries first.
  const auto small = std::max(first, second);
  const auto large = std::min(first, second);
  const auto task = create_task(*alice, small);
  const auto small_last = head();
  // Enough of the large project's events to fill dozens of heap pages after the cursor.
  for (int i = 0; i < 600; ++i) create_task(*alice, large);

  const auto page = alice->get("/v1/projects/" + small + "/events");
  ASSERT_EQ(page.status, 200u) << page.body;
  ASSERT_EQ(size_at(page, "/data"), 2);  // its creation and its task's
  EXPECT_EQ(str_at(page, "/data/0/project_id"), small);
  EXPECT_EQ(int_at(page, "/data/1/position"), small_last);
  EXPECT_EQ(size_at(alice->get("/v1/projects/" + small + "/events?after=" + std::to_string(small_last)), "/data"), 0);
  EXPECT_EQ(size_at(alice->get("/v1/tasks/" + task + "/events?after=" + std::to_string(small_last)), "/data"), 0);
  EXPECT_EQ(size_at(alice->get("/v1/events?after=" + std::to_string(head() - 2)), "/data"), 2);

  pqxx::connection c(conninfo());
  pqxx::nontransaction(c).exec0("ANALYZE public.events");
  pqxx::work tx(c);
  tx.exec0("SET LOCAL plan_cache_mode = force_generic_plan");
  api::begin_as_user(tx, alice_user.id);
  const std::string after = std::to_string(small_last);
  for (const auto& [scope, id] : {std::pair{api::EventScope::project, small}, std::pair{api::EventScope::task, task}}) {
    const std::string name = scope == api::EventScope::project ? "project_page" : "task_page";
    tx.exec0("PREPARE " + name + " AS " + api::event_page_sql(scope));
    const std::string execute = "EXECUTE " + name + "('" + id + "', " + after + ", 51)";
    EXPECT_TRUE(tx.exec(execute).empty());  // once first, as a pooled connection has: the catalog reads of
                                            // row-level security's first use are not the page's
    std::string plan;
    const auto read = explain_events_read(tx, execute, plan);
    EXPECT_EQ(read.rows, 0) << plan;
    // The index's root and a leaf or two: the walk from the cursor reads every heap page after it.
    EXPECT_LE(read.blocks, 5) << plan;
  }
  // The same pages as the stream's catch-up reads them (events::EventReader, on pooled connections).
  events::EventReader reader(tx);
  EXPECT_TRUE(reader.project_after(parse_uuid(small).value(), small_last, 51).empty());
  EXPECT_TRUE(reader.task_after(parse_uuid(task).value(), small_last, 51).empty());
  for (const auto& [name, id] : {std::pair{std::string("tasklog_read_project"), small},
                                 std::pair{std::string("tasklog_read_task"), task}}) {
    std::string plan;
    const auto read = explain_events_read(tx, "EXECUTE " + name + "('" + id + "', " + after + ", 51)", plan);
    EXPECT_EQ(read.rows, 0) << plan;
    EXPECT_LE(read.blocks, 5) << plan;
  }
}

}  // namespace
}  // namespace tasklog::testing
