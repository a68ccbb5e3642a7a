// /v1/projects over real HTTP: create, list (paged), read, update with If-Match, members (owner
// only, existing users only, viewers read-only), context now and as of a position, active tasks
// and progress.
#include "tests/api/routes_fixture.hpp"

#include <gmock/gmock.h>

#include <set>

namespace tasklog::testing {
namespace {

using ::testing::HasSubstr;

class ProjectRoutesTest : public RoutesTest {
 protected:
  // POST /v1/projects/{id}/members as `by`: gives `user` the role.
  HttpResult add_member(HttpClient& by, const std::string& project, const Uuid& user, std::string_view role) {
    return by.post("/v1/projects/" + project + "/members",
                   R"({"user_id":")" + to_string(user) + R"(","role":")" + std::string(role) + R"("})");
  }
};

TEST_F(ProjectRoutesTest, CreateAnswers201WithTheProjectPositionAndVersion) {
  const auto before = head();
  const auto r = alice->post("/v1/projects", R"({"name":"apollo","description":"to the moon"})");
  ASSERT_EQ(r.status, 201u) << r.body;
  EXPECT_EQ(str_at(r, "/data/name"), "apollo");
  EXPECT_EQ(str_at(r, "/data/description"), "to the moon");
  EXPECT_EQ(str_at(r, "/data/role"), "owner");
  EXPECT_EQ(str_at(r, "/data/members/0/user_id"), to_string(alice_user.id));
  EXPECT_EQ(int_at(r, "/version"), 1);
  EXPECT_EQ(int_at(r, "/data/version"), 1);
  EXPECT_GT(int_at(r, "/position"), before);
  EXPECT_EQ(int_at(r, "/position"), head());
  EXPECT_THAT(str_at(r, "/data/created_at"), ::testing::MatchesRegex(R"(^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$)"));
}

TEST_F(ProjectRoutesTest, GetReadsAProjectAndAnswers404ForUnknownIds) {
  const auto id = create_project(*alice);
  const auto r = alice->get("/v1/projects/" + id);
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(str_at(r, "/data/id"), id);
  const auto unknown = alice->get("/v1/projects/00000000-0000-4000-8000-000000000000");
  EXPECT_EQ(unknown.status, 404u);
  EXPECT_EQ(unknown.error_code(), "not_found");
  const auto bad = alice->get("/v1/projects/not-a-uuid");
  EXPECT_EQ(bad.status, 400u);
  EXPECT_EQ(bad.error_code(), "validation_failed");
}

TEST_F(ProjectRoutesTest, ListPagesByCursorWithoutRepeatsOrGaps) {
  std::set<std::string> created;
  for (int i = 0; i < 5; ++i) created.insert(create_project(*alice, R"({"name":"p)" + std::to_string(i) + R"("})"));
  std::set<std::string> seen;
  std::string cursor;
  int pages = 0;
  for (;;) {
    const auto r = alice->get("/v1/projects?limit=2" + (cursor.empty() ? "" : "&cursor=" + cursor));
    ASSERT_EQ(r.status, 200u) << r.body;
    ++pages;
    const auto doc = r.json();
    for (const auto& p : doc["data"].GetArray()) EXPECT_TRUE(seen.insert(p["id"].GetString()).second);
    if (doc["next_cursor"].IsNull()) break;
    cursor = doc["next_cursor"].GetString();
  }
  EXPECT_EQ(seen, created);
  EXPECT_EQ(pages, 3);
}

TEST_F(ProjectRoutesTest, PatchUpdatesAndHonoursIfMatch) {
  const auto id = create_project(*alice);
  const auto ok = alice->patch("/v1/projects/" + id, R"({"description":"new"})", {{"If-Match", "1"}});
  ASSERT_EQ(ok.status, 200u) << ok.body;
  EXPECT_EQ(str_at(ok, "/data/description"), "new");
  EXPECT_EQ(int_at(ok, "/version"), 2);

  const auto before = head();
  const auto stale = alice->patch("/v1/projects/" + id, R"({"description":"stale"})", {{"If-Match", "\"1\""}});
  EXPECT_EQ(stale.status, 409u) << stale.body;
  EXPECT_EQ(stale.error_code(), "version_conflict");
  EXPECT_EQ(head(), before);

  const auto bad = alice->patch("/v1/projects/" + id, R"({"description":"x"})", {{"If-Match", "abc"}});
  EXPECT_EQ(bad.status, 400u) << bad.body;
  // If-Match compares strongly: a weak tag could never match, so it is refused, not taken as "2".
  const auto weak = alice->patch("/v1/projects/" + id, R"({"description":"x"})", {{"If-Match", "W/\"2\""}});
  EXPECT_EQ(weak.status, 400u) << weak.body;
  EXPECT_EQ(head(), before);
  // `*` matches any version of a resource that exists (RFC 9110 13.1.1).
  const auto any = alice->patch("/v1/projects/" + id, R"({"description":"any"})", {{"If-Match", "*"}});
  EXPECT_EQ(any.status, 200u) << any.body;
  EXPECT_EQ(int_at(any, "/version"), 3);
  // An idempotent retry may write its If-Match either way: 3 and "3" ask for the same.
  const auto first = alice->patch("/v1/projects/" + id, R"({"description":"keyed"})",
                                  {{"If-Match", "3"}, {"Idempotency-Key", "patch-if-match"}});
  ASSERT_EQ(first.status, 200u) << first.body;
  const auto retry = alice->patch("/v1/projects/" + id, R"({"description":"keyed"})",
                                  {{"If-Match", "\"3\""}, {"Idempotency-Key", "patch-if-match"}});
  EXPECT_EQ(retry.status, 200u) << retry.body;
  EXPECT_EQ(retry.header("idempotent-replayed"), "true") << retry.body;
}

TEST_F(ProjectRoutesTest, MembersAreAddedByTheOwnerOnlyAndMustExist) {
  const auto id = create_project(*alice);
  const auto carol_user = create_user("carol");
  auto carol = carol_user.client();

  // Before being added, bob does not see the project at all.
  EXPECT_EQ(bob->get("/v1/projects/" + id).status, 404u);

  const auto add = alice->post("/v1/projects/" + id + "/members",
                               R"({"user_id":")" + to_string(bob_user.id) + R"(","role":"viewer"})");
  ASSERT_EQ(add.status, 200u) << add.body;
  EXPECT_EQ(size_at(add, "/data/members"), 2);
  EXPECT_EQ(bob->get("/v1/projects/" + id).status, 200u);
  EXPECT_EQ(str_at(bob->get("/v1/projects/" + id), "/data/role"), "viewer");

  // A viewer reads but does not write, nor manage.
  const auto before = head();
  const auto write = bob->post("/v1/projects/" + id + "/tasks", R"({"title":"nope"})");
  EXPECT_EQ(write.status, 403u) << write.body;
  EXPECT_EQ(write.error_code(), "forbidden");
  EXPECT_EQ(add_member(*bob, id, carol_user.id, "member").status, 403u);
  EXPECT_EQ(bob->patch("/v1/projects/" + id, R"({"description":"x"})").status, 403u);
  EXPECT_EQ(head(), before);

  // A member writes but does not manage members.
  ASSERT_EQ(add_member(*alice, id, bob_user.id, "member").status, 200u);
  EXPECT_EQ(bob->post("/v1/projects/" + id + "/tasks", R"({"title":"yes"})").status, 201u);
  EXPECT_EQ(add_member(*bob, id, carol_user.id, "member").status, 403u);

  // Unknown users are 404, with nothing appended.
  const auto before_unknown = head();
  const auto unknown = alice->post("/v1/projects/" + id + "/members",
                                   R"({"user_id":"00000000-0000-4000-8000-000000000001","role":"member"})");
  EXPECT_EQ(unknown.status, 404u) << unknown.body;
  EXPECT_EQ(unknown.error_code(), "not_found");
  EXPECT_EQ(head(), before_unknown);

  // Removal by query parameter, and by body.
  const auto removed = alice->del("/v1/projects/" + id + "/members?user_id=" + to_string(bob_user.id));
  ASSERT_EQ(removed.status, 200u) << removed.body;
  EXPECT_EQ(size_at(removed, "/data/members"), 1);
  EXPECT_EQ(bob->get("/v1/projects/" + id).status, 404u);
  ASSERT_EQ(add_member(*alice, id, carol_user.id, "member").status, 200u);
  EXPECT_EQ(alice->del("/v1/projects/" + id + "/members", R"({"user_id":")" + to_string(carol_user.id) + R"("})").status,
            200u);
  EXPECT_EQ(carol->get("/v1/projects/" + id).status, 404u);

  // An owner who leaves gets the project their command left, though they no longer see it.
  ASSERT_EQ(add_member(*alice, id, bob_user.id, "owner").status, 200u);
  const auto left = alice->del("/v1/projects/" + id + "/members?user_id=" + to_string(alice_user.id));
  ASSERT_EQ(left.status, 200u) << left.body;
  ASSERT_FALSE(is_null_at(left, "/data")) << left.body;
  EXPECT_EQ(str_at(left, "/data/id"), id);
  EXPECT_EQ(size_at(left, "/data/members"), 1);
  EXPECT_EQ(str_at(left, "/data/members/0/user_id"), to_string(bob_user.id));
  EXPECT_EQ(alice->get("/v1/projects/" + id).status, 404u);
}

// The rules hold the gates a member's work is judged by: a member who could loosen them would pass
// the gates meant to bind it. A member still renames and describes the project.
TEST_F(ProjectRoutesTest, OnlyAnOwnerChangesTheRules) {
  const auto id = create_project(*alice);
  ASSERT_EQ(alice->patch("/v1/projects/" + id, R"({"rules":{"gates":[{"kind":"acceptance_met"}]}})").status, 200u);
  ASSERT_EQ(add_member(*alice, id, bob_user.id, "member").status, 200u);
  const auto task = bob->post("/v1/projects/" + id + "/tasks", R"({"title":"t","acceptance_criteria":["c"]})");
  ASSERT_EQ(task.status, 201u) << task.body;
  const auto claim = bob->post("/v1/tasks/" + str_at(task, "/data/id") + "/claim", R"({"agent":"bob"})");
  ASSERT_EQ(claim.status, 200u) << claim.body;
  const std::string complete_body = R"({"lease_token":")" + str_at(claim, "/lease/token") + R"(","summary":"s"})";
  EXPECT_EQ(bob->post("/v1/tasks/" + str_at(task, "/data/id") + "/complete", complete_body).error_code(), "gate_failed");

  const auto before = head();
  const auto loosen = bob->patch("/v1/projects/" + id, R"({"rules":{"gates":[]}})");
  EXPECT_EQ(loosen.status, 403u) << loosen.body;
  EXPECT_EQ(loosen.error_code(), "forbidden");
  EXPECT_EQ(head(), before);
  EXPECT_EQ(bob->post("/v1/tasks/" + str_at(task, "/data/id") + "/complete", complete_body).error_code(), "gate_failed");

  const auto renamed = bob->patch("/v1/projects/" + id, R"({"name":"renamed by a member"})");
  EXPECT_EQ(renamed.status, 200u) << renamed.body;
  EXPECT_EQ(str_at(renamed, "/data/name"), "renamed by a member");
}

// PATCH rules is a merge patch: the owner raising max_attempts alone keeps the gates and the scope
// (it reset every rule it did not send — the gates and scope enforcement switched off).
TEST_F(ProjectRoutesTest, PatchingOneRuleKeepsTheOthers) {
  const auto created = alice->post(
      "/v1/projects", R"({"name":"rules","rules":{"gates":[{"kind":"acceptance_met"}],)"
                      R"("scope":{"allowed":["src/**"],"forbidden":["secrets/**"]},"max_attempts":5,"default_lease_seconds":60}})");
  ASSERT_EQ(created.status, 201u) << created.body;
  const auto id = str_at(created, "/data/id");
  const auto patched = alice->patch("/v1/projects/" + id, R"({"rules":{"max_attempts":6}})");
  ASSERT_EQ(patched.status, 200u) << patched.body;
  EXPECT_EQ(str_at(patched, "/data/rules/gates/0/kind"), "acceptance_met") << patched.body;
  EXPECT_EQ(str_at(patched, "/data/rules/scope/allowed/0"), "src/**");
  EXPECT_EQ(int_at(patched, "/data/rules/max_attempts"), 6);
  EXPECT_EQ(int_at(patched, "/data/rules/default_lease_seconds"), 60);
  const auto scoped = alice->patch("/v1/projects/" + id, R"({"rules":{"scope":{"forbidden":[]}}})");
  ASSERT_EQ(scoped.status, 200u) << scoped.body;
  EXPECT_EQ(str_at(scoped, "/data/rules/scope/allowed/0"), "src/**");
  EXPECT_EQ(size_at(scoped, "/data/rules/scope/forbidden"), 0);
  EXPECT_EQ(size_at(scoped, "/data/rules/gates"), 1);
}

// An owner archives a project (for good: it takes no more changes); a member may not.
TEST_F(ProjectRoutesTest, AnOwnerArchivesAProject) {
  const auto id = create_project(*alice);
  ASSERT_EQ(add_member(*alice, id, bob_user.id, "member").status, 200u);
  const auto before = head();
  const auto refused = bob->post("/v1/projects/" + id + "/archive", R"({"reason":"done"})");
  EXPECT_EQ(refused.status, 403u) << refused.body;
  EXPECT_EQ(head(), before);
  const auto archived = alice->post("/v1/projects/" + id + "/archive", R"({"reason":"shipped"})");
  ASSERT_EQ(archived.status, 200u) << archived.body;
  EXPECT_TRUE(archived.json()["data"]["archived"].GetBool()) << archived.body;
  const auto task = alice->post("/v1/projects/" + id + "/tasks", R"({"title":"late"})");
  EXPECT_EQ(task.status, 409u) << task.body;
  EXPECT_EQ(task.error_code(), "illegal_transition");
  EXPECT_EQ(alice->post("/v1/projects/" + id + "/archive", "{}").error_code(), "illegal_transition");
}

// Anyone added to a project may leave it — a viewer too, who manages nothing else; the last owner
// may not (the project keeps one).
TEST_F(ProjectRoutesTest, AMemberMayLeave) {
  const auto id = create_project(*alice);
  ASSERT_EQ(add_member(*alice, id, bob_user.id, "viewer").status, 200u);
  const auto left = bob->del("/v1/projects/" + id + "/members?user_id=" + to_string(bob_user.id));
  ASSERT_EQ(left.status, 200u) << left.body;
  EXPECT_EQ(size_at(left, "/data/members"), 1);
  EXPECT_EQ(bob->get("/v1/projects/" + id).status, 404u);

  const auto before = head();
  const auto last_owner = alice->del("/v1/projects/" + id + "/members?user_id=" + to_string(alice_user.id));
  EXPECT_EQ(last_owner.status, 422u) << last_owner.body;
  EXPECT_EQ(head(), before);
}

TEST_F(ProjectRoutesTest, ContextNowAndAsOfAPosition) {
  const auto id = create_project(*alice);
  create_task(*alice, id, R"({"title":"first"})");
  const auto at = head();
  create_task(*alice, id, R"({"title":"second"})");

  const auto now = alice->get("/v1/projects/" + id + "/context");
  ASSERT_EQ(now.status, 200u) << now.body;
  EXPECT_EQ(size_at(now, "/data/tasks"), 2);
  EXPECT_EQ(int_at(now, "/data/position"), head());

  const auto then = alice->get("/v1/projects/" + id + "/context?at=" + std::to_string(at));
  ASSERT_EQ(then.status, 200u) << then.body;
  EXPECT_EQ(size_at(then, "/data/tasks"), 1);
  EXPECT_EQ(str_at(then, "/data/tasks/0/title"), "first");
  EXPECT_EQ(int_at(then, "/data/position"), at);

  EXPECT_EQ(alice->get("/v1/projects/" + id + "/context?at=0").status, 404u);
  EXPECT_EQ(alice->get("/v1/projects/" + id + "/context?at=-1").status, 400u);
  EXPECT_EQ(alice->get("/v1/projects/" + id + "/context?at=x").status, 400u);
}

TEST_F(ProjectRoutesTest, ActiveTasksAndProgress) {
  const auto id = create_project(*alice);
  const auto a = create_task(*alice, id, R"({"title":"a"})");
  const auto b = create_task(*alice, id, R"({"title":"b"})");
  const auto c = create_task(*alice, id, R"({"title":"c"})");
  const auto token = claim(*alice, a);
  ASSERT_EQ(alice->post("/v1/tasks/" + a + "/complete", R"({"lease_token":")" + token + R"(","summary":"ok"})").status,
            200u);
  claim(*alice, b, "agent-b");
  ASSERT_EQ(alice->post("/v1/tasks/" + c + "/cancel", R"({"reason":"no"})").status, 200u);

  const auto active = alice->get("/v1/projects/" + id + "/active-tasks");
  ASSERT_EQ(active.status, 200u) << active.body;
  ASSERT_EQ(size_at(active, "/data"), 1);
  EXPECT_EQ(str_at(active, "/data/0/id"), b);
  EXPECT_EQ(str_at(active, "/data/0/agent"), "agent-b");
  EXPECT_TRUE(active.json()["data"][0]["lease_live"].GetBool());
  EXPECT_THAT(active.body, ::testing::Not(HasSubstr("token")));

  const auto progress = alice->get("/v1/projects/" + id + "/progress");
  ASSERT_EQ(progress.status, 200u) << progress.body;
  EXPECT_EQ(int_at(progress, "/data/total"), 3);
  EXPECT_EQ(int_at(progress, "/data/by_status/done"), 1);
  EXPECT_EQ(int_at(progress, "/data/by_status/in_progress"), 1);
  EXPECT_EQ(int_at(progress, "/data/by_status/cancelled"), 1);
  EXPECT_EQ(int_at(progress, "/data/ready"), 0);
  EXPECT_EQ(int_at(progress, "/data/position"), head());
}

}  // namespace
}  // namespace tasklog::testing
