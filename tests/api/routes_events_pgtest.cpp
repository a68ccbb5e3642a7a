// /v1 event routes over real HTTP: the log with every column a client needs (ids, payload,
// metadata, recorded_at, hashes), paged by position without gaps or repeats, and the project and
// task timelines.
#include "tests/api/routes_fixture.hpp"

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

}  // namespace
}  // namespace tasklog::testing
