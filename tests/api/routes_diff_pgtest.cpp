// GET /v1/projects/{id}/diff?from=&to= over real HTTP: the changes between two points of the log
// (positions or RFC 3339 times), under the same tenancy as the context (members read, others get
// 404 as for an unknown project), and 400 validation_failed naming the parameter for a bad point.
// Also the context's ?at= given as a time.
#include "tests/api/routes_fixture.hpp"

#include <gmock/gmock.h>

#include <set>

namespace tasklog::testing {
namespace {

class DiffRoutesTest : public RoutesTest {
 protected:
  void SetUp() override {
    RoutesTest::SetUp();
    project = create_project(*alice);
    first = create_task(*alice, project, R"({"title":"first"})");
    from = head();
    token = claim(*alice, first);
    const auto decision = alice->post("/v1/projects/" + project + "/decisions",
                                      R"({"title":"database","choice":"postgres","rationale":"rls"})");
    EXPECT_EQ(decision.status, 201u) << decision.body;
    decision_id = str_at(decision, "/data/id");
    second = create_task(*alice, project, R"({"title":"second"})");
    to = head();
  }

  std::string diff_path(const std::string& query) { return "/v1/projects/" + project + "/diff?" + query; }

  std::string project, first, second, token, decision_id;
  std::int64_t from = 0, to = 0;
};

TEST_F(DiffRoutesTest, ListsTheChangesBetweenTwoPositions) {
  const auto r = alice->get(diff_path("from=" + std::to_string(from) + "&to=" + std::to_string(to)));
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(str_at(r, "/data/project_id"), project);
  EXPECT_EQ(int_at(r, "/data/from"), from);
  EXPECT_EQ(int_at(r, "/data/to"), to);
  EXPECT_EQ(int_at(r, "/data/events"), 3);
  EXPECT_EQ(str_at(r, "/data/tables/tasks/changed/0/id"), first);
  EXPECT_EQ(str_at(r, "/data/tables/tasks/changed/0/fields/status/from"), "todo");
  EXPECT_EQ(str_at(r, "/data/tables/tasks/changed/0/fields/status/to"), "in_progress");
  ASSERT_EQ(size_at(r, "/data/tables/tasks/added"), 1);
  EXPECT_EQ(str_at(r, "/data/tables/tasks/added/0/id"), second);
  EXPECT_EQ(str_at(r, "/data/tables/tasks/added/0/title"), "second");
  ASSERT_EQ(size_at(r, "/data/tables/decisions/added"), 1);
  EXPECT_EQ(str_at(r, "/data/tables/decisions/added/0/id"), decision_id);
  EXPECT_FALSE(has(r, "/data/tables/artifacts"));
  EXPECT_FALSE(has(r, "/data/tables/checkpoints"));
  // The lease token is the holder's secret: a diff shows who holds the task, never the token.
  EXPECT_THAT(r.body, ::testing::Not(::testing::HasSubstr(token)));

  // Without ?to=, up to the head; from the head on, nothing changed.
  const auto to_head = alice->get(diff_path("from=" + std::to_string(from)));
  ASSERT_EQ(to_head.status, 200u) << to_head.body;
  EXPECT_EQ(int_at(to_head, "/data/to"), head());
  const auto nothing = alice->get(diff_path("from=" + std::to_string(to)));
  ASSERT_EQ(nothing.status, 200u) << nothing.body;
  EXPECT_EQ(int_at(nothing, "/data/events"), 0);
  EXPECT_EQ(nothing.json()["data"]["tables"].MemberCount(), 0u);
}

TEST_F(DiffRoutesTest, PointsMayBeTimes) {
  const std::string time_of_from = query_value(
      conninfo(), "SELECT to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM events "
                  "WHERE position = " + std::to_string(from));
  const auto by_time = alice->get(diff_path("from=" + time_of_from + "&to=" + std::to_string(to)));
  ASSERT_EQ(by_time.status, 200u) << by_time.body;
  // Each request was its own batch, recorded later than the one before.
  EXPECT_EQ(int_at(by_time, "/data/from"), from);

  const auto context = alice->get("/v1/projects/" + project + "/context?at=" + time_of_from);
  ASSERT_EQ(context.status, 200u) << context.body;
  EXPECT_EQ(int_at(context, "/data/position"), from);
  EXPECT_EQ(str_at(context, "/data/tasks/0/status"), "todo");

  // The same time with a '+00:00' offset typed as is: the query string's '+' arrives as a space.
  const std::string with_offset = time_of_from.substr(0, time_of_from.size() - 1) + "+00:00";
  const auto offset = alice->get("/v1/projects/" + project + "/context?at=" + with_offset);
  ASSERT_EQ(offset.status, 200u) << offset.body;
  EXPECT_EQ(int_at(offset, "/data/position"), from);
}

// A point beyond the log's history — a position after its head, a time after now — would name a
// state that changes as the log grows: refused.
TEST_F(DiffRoutesTest, PointsBeyondTheHistoryAreRefused) {
  const auto last = head();
  const auto context = "/v1/projects/" + project + "/context?at=";
  auto r = alice->get(context + std::to_string(last + 5));
  EXPECT_EQ(r.status, 400u) << r.body;
  EXPECT_EQ(str_at(r, "/error/details/parameter"), "at");
  EXPECT_EQ(int_at(r, "/error/details/head"), last);
  r = alice->get(context + "2999-01-01T00:00:00Z");
  EXPECT_EQ(r.status, 400u) << r.body;
  EXPECT_EQ(str_at(r, "/error/details/parameter"), "at");
  r = alice->get(diff_path("from=1&to=" + std::to_string(last + 1)));
  EXPECT_EQ(r.status, 400u) << r.body;
  EXPECT_EQ(str_at(r, "/error/details/parameter"), "to");
  // The head itself is a point of the history; so is it for Bob's project, although the log's
  // last event is not his (the head comes from the whole log, not the caller's view).
  EXPECT_EQ(alice->get(context + std::to_string(last)).status, 200u);
  const auto bobs = create_project(*bob);
  create_task(*alice, project);
  EXPECT_EQ(bob->get("/v1/projects/" + bobs + "/context?at=" + std::to_string(head())).status, 200u);
}

TEST_F(DiffRoutesTest, BadPointsAre400WithTheParameter) {
  const auto before = head();
  for (const std::string query : {"", "from=x", "from=-1", "from=1&to=soon", "from=3&to=2", "to=2"}) {
    const auto r = alice->get(diff_path(query));
    EXPECT_EQ(r.status, 400u) << query << ": " << r.body;
    EXPECT_EQ(r.error_code(), "validation_failed") << query;
    EXPECT_TRUE(has(r, "/error/details/parameter")) << query << ": " << r.body;
  }
  EXPECT_EQ(str_at(alice->get(diff_path("from=1&to=soon")), "/error/details/parameter"), "to");
  EXPECT_EQ(str_at(alice->get(diff_path("from=3&to=2")), "/error/details/parameter"), "from");
  EXPECT_EQ(head(), before);
}

TEST_F(DiffRoutesTest, TenancyIsTheContextsAndUnknownProjectsAre404) {
  // Bob is no member: the project does not exist for him, exactly like one that does not exist.
  const auto foreign = bob->get(diff_path("from=0"));
  EXPECT_EQ(foreign.status, 404u) << foreign.body;
  EXPECT_EQ(foreign.error_code(), "not_found");
  const auto unknown = alice->get("/v1/projects/00000000-0000-4000-8000-000000000000/diff?from=0");
  EXPECT_EQ(unknown.status, 404u) << unknown.body;
  EXPECT_EQ(unknown.error_code(), "not_found");
  EXPECT_EQ(alice->get("/v1/projects/not-a-uuid/diff?from=0").status, 400u);

  // As a viewer he reads it.
  ASSERT_EQ(alice->post("/v1/projects/" + project + "/members",
                        R"({"user_id":")" + to_string(bob_user.id) + R"(","role":"viewer"})")
                .status,
            200u);
  const auto member = bob->get(diff_path("from=" + std::to_string(from) + "&to=" + std::to_string(to)));
  EXPECT_EQ(member.status, 200u) << member.body;
  EXPECT_EQ(str_at(member, "/data/tables/tasks/added/0/title"), "second");

  // Before the project's first event there is no project to compare: 404 as for the context.
  EXPECT_EQ(alice->get(diff_path("from=0&to=0")).status, 404u);
}

}  // namespace
}  // namespace tasklog::testing
