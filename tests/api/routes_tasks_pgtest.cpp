// /v1 tasks over real HTTP: create and list (filters, cursor pages), pick the next ready task,
// read and update with If-Match, the lease commands with fencing, the status commands, and
// dependencies, criteria, gates and scope — each with its refusals and "nothing appended".
#include "core/task.hpp"
#include "tests/api/routes_fixture.hpp"

#include <gmock/gmock.h>

namespace tasklog::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class TaskRoutesTest : public RoutesTest {
 protected:
  void SetUp() override {
    RoutesTest::SetUp();
    project = create_project(*alice);
  }

  // A refusal: the status and code, and the log unchanged.
  void expect_refused(const HttpResult& r, unsigned status, const std::string& code, std::int64_t before) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(r.error_code(), code) << r.body;
    EXPECT_EQ(head(), before) << r.body;
  }

  std::string project;
};

TEST_F(TaskRoutesTest, CreateAnswers201AndGetReadsItWithoutTheLeaseToken) {
  const auto r = alice->post("/v1/projects/" + project + "/tasks",
                             R"({"title":"write docs","priority":"high","acceptance_criteria":["a","b"]})");
  ASSERT_EQ(r.status, 201u) << r.body;
  const auto id = str_at(r, "/data/id");
  EXPECT_EQ(str_at(r, "/data/status"), "todo");
  EXPECT_EQ(str_at(r, "/data/priority"), "high");
  EXPECT_EQ(str_at(r, "/data/project_id"), project);
  EXPECT_EQ(size_at(r, "/data/acceptance_criteria"), 2);
  EXPECT_EQ(int_at(r, "/version"), 1);
  EXPECT_EQ(int_at(r, "/position"), head());

  const auto token = claim(*alice, id);
  const auto got = alice->get("/v1/tasks/" + id);
  ASSERT_EQ(got.status, 200u) << got.body;
  EXPECT_EQ(str_at(got, "/data/status"), "in_progress");
  EXPECT_EQ(str_at(got, "/data/lease/agent"), "agent-1");
  EXPECT_THAT(got.body, Not(HasSubstr(token)));
  EXPECT_THAT(got.body, Not(HasSubstr("lease_token")));
  EXPECT_EQ(alice->get("/v1/tasks/00000000-0000-4000-8000-000000000000").status, 404u);
}

// RFC 9110: a GET route answers HEAD with the headers a GET gets and no content — a task's
// HEAD is how a client learns its version (ETag) without reading it. It used to be 405.
TEST_F(TaskRoutesTest, HeadAnswersWithTheHeadersOfAGet) {
  const auto id = create_task(*alice, project);
  const auto got = alice->get("/v1/tasks/" + id);
  ASSERT_EQ(got.status, 200u) << got.body;
  const auto head_of = alice->request(http::verb::head, "/v1/tasks/" + id);
  EXPECT_EQ(head_of.status, 200u) << head_of.body;
  EXPECT_EQ(head_of.body, "");
  EXPECT_EQ(head_of.header("etag"), got.header("etag"));
  EXPECT_EQ(head_of.header("content-length"), std::to_string(got.body.size()));
  EXPECT_EQ(alice->request(http::verb::head, "/v1/projects/" + project + "/tasks").status, 200u);
  // The same refusals as a GET, without their content; and the connection stays in step.
  EXPECT_EQ(alice->request(http::verb::head, "/v1/tasks/00000000-0000-4000-8000-000000000000").status, 404u);
  const auto unsigned_in = anonymous_client()->request(http::verb::head, "/v1/tasks/" + id);
  EXPECT_EQ(unsigned_in.status, 401u);
  const auto post_only = alice->request(http::verb::head, "/v1/tasks/" + id + "/claim");
  EXPECT_EQ(post_only.status, 405u);
  EXPECT_EQ(post_only.header("allow"), "POST");
  EXPECT_EQ(alice->get("/v1/tasks/" + id).body, got.body);
}

TEST_F(TaskRoutesTest, ListFiltersAndPages) {
  const auto low = create_task(*alice, project, R"({"title":"low","priority":"low"})");
  const auto high = create_task(*alice, project, R"({"title":"high","priority":"high"})");
  const auto waiting =
      create_task(*alice, project, R"({"title":"waits","dependencies":[")" + low + R"("]})");
  claim(*alice, high);

  auto ids = [](const HttpResult& r) {
    std::vector<std::string> out;
    const auto doc = r.json();
    for (const auto& t : doc["data"].GetArray()) out.push_back(t["id"].GetString());
    return out;
  };
  const auto base = "/v1/projects/" + project + "/tasks";
  EXPECT_EQ(ids(alice->get(base)), (std::vector{low, high, waiting}));
  EXPECT_EQ(ids(alice->get(base + "?status=in_progress")), (std::vector{high}));
  EXPECT_EQ(ids(alice->get(base + "?priority=low")), (std::vector{low}));
  EXPECT_EQ(ids(alice->get(base + "?ready=true")), (std::vector{low}));
  EXPECT_EQ(ids(alice->get(base + "?ready=false")), (std::vector{high, waiting}));
  EXPECT_EQ(ids(alice->get(base + "?status=todo&priority=medium")), (std::vector{waiting}));

  const auto page1 = alice->get(base + "?limit=2");
  ASSERT_EQ(page1.status, 200u);
  EXPECT_EQ(ids(page1), (std::vector{low, high}));
  const auto page2 = alice->get(base + "?limit=2&cursor=" + str_at(page1, "/next_cursor"));
  EXPECT_EQ(ids(page2), (std::vector{waiting}));
  EXPECT_TRUE(is_null_at(page2, "/next_cursor"));

  EXPECT_EQ(alice->get(base + "?status=sleeping").status, 400u);
  EXPECT_EQ(alice->get(base + "?priority=urgent").status, 400u);
  EXPECT_EQ(alice->get(base + "?ready=yes").status, 400u);
  EXPECT_EQ(alice->get(base + "?cursor=garbage").status, 400u);
}

TEST_F(TaskRoutesTest, NextHandsOutTheMostUrgentReadyTaskThen204) {
  create_task(*alice, project, R"({"title":"low","priority":"low"})");
  const auto critical = create_task(*alice, project, R"({"title":"critical","priority":"critical"})");
  const auto next = "/v1/projects/" + project + "/tasks/next";

  const auto first = alice->post(next, R"({"agent":"a1","strategy":"priority","lease_seconds":120})");
  ASSERT_EQ(first.status, 200u) << first.body;
  EXPECT_EQ(str_at(first, "/data/id"), critical);
  EXPECT_EQ(str_at(first, "/data/status"), "in_progress");
  EXPECT_FALSE(str_at(first, "/lease/token").empty());
  EXPECT_EQ(int_at(first, "/lease/attempt"), 1);
  EXPECT_EQ(str_at(first, "/lease/agent"), "a1");
  EXPECT_EQ(int_at(first, "/position"), head());

  EXPECT_EQ(alice->post(next, R"({"agent":"a2"})").status, 200u);
  const auto before = head();
  const auto none = alice->post(next, R"({"agent":"a3"})");
  EXPECT_EQ(none.status, 204u) << none.body;
  EXPECT_TRUE(none.body.empty());
  EXPECT_EQ(head(), before);

  expect_refused(alice->post(next, R"({})"), 422, "validation_failed", before);
  expect_refused(alice->post(next, R"({"agent":"a","strategy":"random"})"), 422, "validation_failed", before);
  expect_refused(alice->post(next, R"({"agent":7})"), 400, "validation_failed", before);
}

TEST_F(TaskRoutesTest, PatchHonoursIfMatch) {
  const auto id = create_task(*alice, project);
  const auto ok = alice->patch("/v1/tasks/" + id, R"({"title":"renamed"})", {{"If-Match", "1"}});
  ASSERT_EQ(ok.status, 200u) << ok.body;
  EXPECT_EQ(str_at(ok, "/data/title"), "renamed");
  EXPECT_EQ(int_at(ok, "/version"), 2);
  EXPECT_EQ(ok.header("etag"), "\"2\"");

  const auto before = head();
  EXPECT_EQ(alice->get("/v1/tasks/" + id).header("etag"), "\"2\"");
  const auto stale = alice->patch("/v1/tasks/" + id, R"({"title":"stale"})", {{"If-Match", "1"}});
  expect_refused(stale, 409, "version_conflict", before);
  EXPECT_EQ(int_at(stale, "/error/details/current_version"), 2) << stale.body;
  EXPECT_EQ(str_at(alice->get("/v1/tasks/" + id), "/data/title"), "renamed");

  // Without If-Match the update applies to whatever version is current.
  EXPECT_EQ(alice->patch("/v1/tasks/" + id, R"({"title":"again"})").status, 200u);
  expect_refused(alice->patch("/v1/tasks/" + id, R"({"title":5})"), 400, "validation_failed", head());
  expect_refused(alice->patch("/v1/tasks/" + id, R"({"colour":"red"})"), 422, "validation_failed", head());

  // A held task is changed only with its lease token (replacing the criteria resets the met ones).
  const auto claimed = alice->post("/v1/tasks/" + id + "/claim", R"({"agent":"a1"})");
  ASSERT_EQ(claimed.status, 200u) << claimed.body;
  expect_refused(alice->patch("/v1/tasks/" + id, R"({"acceptance_criteria":["new"]})"), 409, "lease_lost", head());
  const auto held = alice->patch("/v1/tasks/" + id, R"({"title":"by the holder","lease_token":")" +
                                                         str_at(claimed, "/lease/token") + R"("})");
  ASSERT_EQ(held.status, 200u) << held.body;
  EXPECT_EQ(str_at(held, "/data/title"), "by the holder");
}

TEST_F(TaskRoutesTest, LeaseCommandsAndFencing) {
  const auto id = create_task(*alice, project);
  const auto task = "/v1/tasks/" + id;
  const auto claimed = alice->post(task + "/claim", R"({"agent":"a1","lease_seconds":60})");
  ASSERT_EQ(claimed.status, 200u) << claimed.body;
  const auto token = str_at(claimed, "/lease/token");
  ASSERT_FALSE(token.empty());

  auto before = head();
  expect_refused(alice->post(task + "/claim", R"({"agent":"a2"})"), 409, "task_not_ready", before);

  const auto beat = alice->post(task + "/heartbeat", R"({"lease_token":")" + token + R"(","lease_seconds":300})");
  ASSERT_EQ(beat.status, 200u) << beat.body;
  EXPECT_EQ(str_at(beat, "/lease/token"), token);
  EXPECT_EQ(str_at(beat, "/lease/expires_at"), str_at(beat, "/data/lease/expires_at"));

  before = head();
  const std::string stale = R"({"lease_token":"00000000-0000-4000-8000-000000000009"})";
  expect_refused(alice->post(task + "/heartbeat", stale), 409, "lease_lost", before);
  expect_refused(alice->post(task + "/release", stale), 409, "lease_lost", before);
  expect_refused(
      alice->post(task + "/complete", R"({"lease_token":"00000000-0000-4000-8000-000000000009","summary":"x"})"), 409,
      "lease_lost", before);

  const auto released = alice->post(task + "/release", R"({"lease_token":")" + token + R"(","reason":"later"})");
  ASSERT_EQ(released.status, 200u) << released.body;
  EXPECT_EQ(str_at(released, "/data/status"), "todo");
  EXPECT_TRUE(is_null_at(released, "/data/lease"));
}

TEST_F(TaskRoutesTest, StatusCommands) {
  const auto id = create_task(*alice, project);
  const auto task = "/v1/tasks/" + id;

  auto r = alice->post(task + "/block", R"({"reason":"waiting for API keys","needs_human":true})");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(str_at(r, "/data/status"), "blocked");
  EXPECT_EQ(str_at(r, "/data/block_reason"), "waiting for API keys");
  auto before = head();
  expect_refused(alice->post(task + "/claim", R"({"agent":"a"})"), 409, "illegal_transition", before);
  expect_refused(alice->post(task + "/block", R"({})"), 422, "validation_failed", before);
  r = alice->post(task + "/unblock", R"({"note":"keys arrived"})");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(str_at(r, "/data/status"), "todo");

  auto token = claim(*alice, id);
  r = alice->post(task + "/complete", R"({"lease_token":")" + token + R"(","summary":"done"})");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(str_at(r, "/data/status"), "done");
  EXPECT_EQ(str_at(r, "/data/completion_summary"), "done");
  before = head();
  // The finished task holds no lease any more: fencing answers first.
  expect_refused(alice->post(task + "/complete", R"({"lease_token":")" + token + R"(","summary":"again"})"), 409,
                 "lease_lost", before);
  expect_refused(alice->post(task + "/complete", R"({"summary":"no token"})"), 422, "validation_failed", before);

  r = alice->post(task + "/reopen", R"({"reason":"needed after all"})");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(str_at(r, "/data/status"), "todo");

  r = alice->post(task + "/cancel", R"({"reason":"obsolete"})");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(str_at(r, "/data/status"), "cancelled");
  before = head();
  expect_refused(alice->post(task + "/cancel", R"({})"), 409, "illegal_transition", before);
  expect_refused(alice->post(task + "/unblock", R"({})"), 409, "illegal_transition", before);

  ASSERT_EQ(alice->post(task + "/reopen", R"({})").status, 200u);
  token = claim(*alice, id);
  r = alice->post(task + "/fail", R"({"lease_token":")" + token + R"(","error":"tests broke"})");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(str_at(r, "/data/failure_reason"), "tests broke");
  EXPECT_FALSE(has(r, "/data/lease/agent"));
}

TEST_F(TaskRoutesTest, Dependencies) {
  const auto a = create_task(*alice, project, R"({"title":"a"})");
  const auto b = create_task(*alice, project, R"({"title":"b"})");
  auto r = alice->post("/v1/tasks/" + b + "/dependencies", R"({"depends_on":")" + a + R"("})");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(str_at(r, "/data/dependencies/0"), a);
  EXPECT_EQ(int_at(r, "/version"), 2);

  auto before = head();
  expect_refused(alice->post("/v1/tasks/" + a + "/dependencies", R"({"depends_on":")" + b + R"("})"), 409,
                 "dependency_cycle", before);
  expect_refused(alice->post("/v1/tasks/" + b + "/claim", R"({"agent":"x"})"), 409, "task_not_ready", before);
  // A malformed UUID in the body breaks the schema's pattern: 422 (a wrong JSON type would be 400).
  expect_refused(alice->post("/v1/tasks/" + b + "/dependencies", R"({"depends_on":"nope"})"), 422,
                 "validation_failed", before);
  expect_refused(alice->post("/v1/tasks/" + b + "/dependencies", R"({"depends_on":12})"), 400, "validation_failed",
                 before);

  r = alice->del("/v1/tasks/" + b + "/dependencies?depends_on=" + a);
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(size_at(r, "/data/dependencies"), 0);
  ASSERT_EQ(alice->post("/v1/tasks/" + b + "/dependencies", R"({"depends_on":")" + a + R"("})").status, 200u);
  r = alice->del("/v1/tasks/" + b + "/dependencies", R"({"depends_on":")" + a + R"("})");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(size_at(r, "/data/dependencies"), 0);
  before = head();
  expect_refused(alice->del("/v1/tasks/" + b + "/dependencies?depends_on=bad"), 400, "validation_failed", before);
}

TEST_F(TaskRoutesTest, CriteriaGatesAndScope) {
  const auto p = create_project(
      *alice,
      R"({"name":"gated","rules":{"gates":[{"kind":"acceptance_met"}],"scope":{"allowed":["src/**"],"forbidden":["src/secret/**"]}}})");
  const auto id = create_task(*alice, p, R"({"title":"t","acceptance_criteria":["builds"]})");
  const auto task = "/v1/tasks/" + id;
  const auto token = claim(*alice, id);

  auto before = head();
  expect_refused(alice->post(task + "/complete", R"({"lease_token":")" + token + R"(","summary":"early"})"), 409,
                 "gate_failed", before);

  auto r = alice->post(task + "/gates/evaluate", R"({"lease_token":")" + token + R"("})");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_FALSE(r.json()["data"]["gate_results"][0]["passed"].GetBool());

  before = head();
  expect_refused(alice->post(task + "/criteria/5", R"({"evidence":"x","lease_token":")" + token + R"("})"), 422,
                 "validation_failed", before);
  expect_refused(alice->post(task + "/criteria/x", R"({"evidence":"x"})"), 400, "validation_failed", before);
  r = alice->post(task + "/criteria/0", R"({"evidence":"ci green","lease_token":")" + token + R"("})");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_TRUE(r.json()["data"]["acceptance_criteria"][0]["met"].GetBool());

  r = alice->post(task + "/scope",
                  R"({"files_changed":["src/a.cpp","src/secret/key.pem","docs/x.md"],"lease_token":")" + token + R"("})");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_FALSE(r.json()["data"]["last_scope_check"]["in_scope"].GetBool());
  EXPECT_EQ(size_at(r, "/data/last_scope_check/violations"), 2);

  r = alice->post(task + "/gates/evaluate", R"({"lease_token":")" + token + R"("})");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_TRUE(r.json()["data"]["gate_results"][0]["passed"].GetBool());
  r = alice->post(task + "/complete", R"({"lease_token":")" + token + R"(","summary":"ok"})");
  EXPECT_EQ(r.status, 200u) << r.body;
}

// A task's git info and usage have routes of their own (the domain had the commands, no route
// reached them): fenced like the holder's other work, validated, summed.
TEST_F(TaskRoutesTest, GitInfoAndUsage) {
  const auto id = create_task(*alice, project, R"({"title":"t"})");
  const auto task = "/v1/tasks/" + id;
  const auto token = claim(*alice, id);
  auto r = alice->post(task + "/git", R"({"git":{"branch":"feat/x","pr_number":12},"lease_token":")" + token + R"("})");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(str_at(r, "/data/git/branch"), "feat/x");
  EXPECT_EQ(int_at(r, "/data/git/pr_number"), 12);
  r = alice->post(task + "/git", R"({"git":{"commit_hash":"abc1234"},"lease_token":")" + token + R"("})");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(str_at(r, "/data/git/branch"), "feat/x");  // what is not sent stays
  EXPECT_EQ(str_at(r, "/data/git/commit_hash"), "abc1234");
  for (int i = 0; i < 2; ++i) {
    r = alice->post(task + "/usage", R"({"tokens":1500,"cost_usd":0.25,"lease_token":")" + token + R"("})");
    ASSERT_EQ(r.status, 200u) << r.body;
  }
  EXPECT_EQ(int_at(r, "/data/usage/tokens"), 3000);
  EXPECT_EQ(alice->get(task).json()["data"]["usage"]["cost_usd"].GetDouble(), 0.5);

  const auto before = head();
  expect_refused(alice->post(task + "/usage", R"({"tokens":-1,"lease_token":")" + token + R"("})"), 422,
                 "validation_failed", before);
  expect_refused(alice->post(task + "/git", R"({"git":{},"lease_token":")" + token + R"("})"), 422, "validation_failed",
                 before);
  expect_refused(alice->post(task + "/usage", R"({"tokens":5})"), 409, "lease_lost", before);  // held: the token
}

// A command's answer carries the task as its events left it, built without reading it back
// (projections::CommandOutcome::task): the same object a GET reads right after, command by command.
TEST_F(TaskRoutesTest, EveryCommandAnswersWithTheTaskAGetReadsRightAfter) {
  const auto dep = create_task(*alice, project, R"({"title":"dep"})");
  const auto created = alice->post("/v1/projects/" + project + "/tasks",
                                   R"({"title":"t","description":"d \"q\" \u00e9","priority":"critical",)"
                                   R"("acceptance_criteria":["builds"],"constraints":["c"],"timebox_seconds":60,)"
                                   R"("dependencies":[")" + dep + R"("]})");
  ASSERT_EQ(created.status, 201u) << created.body;
  const auto id = str_at(created, "/data/id");
  const auto task = "/v1/tasks/" + id;
  auto expect_same_as_get = [&](const HttpResult& r, const std::string& step) {
    ASSERT_LT(r.status, 300u) << step << ": " << r.body;
    const auto got = alice->get(task);
    ASSERT_EQ(got.status, 200u) << got.body;
    EXPECT_EQ(r.json()["data"], got.json()["data"]) << step << "\n answer: " << r.body << "\n get:    " << got.body;
    EXPECT_EQ(int_at(r, "/version"), int_at(got, "/data/version")) << step;
  };
  expect_same_as_get(created, "create");
  expect_same_as_get(alice->patch(task, R"({"title":"renamed","priority":"low"})"), "update");
  expect_same_as_get(alice->del(task + "/dependencies?depends_on=" + dep), "remove dependency");
  expect_same_as_get(alice->post(task + "/dependencies", R"({"depends_on":")" + dep + R"("})"), "add dependency");
  expect_same_as_get(alice->post(task + "/block", R"({"reason":"wait","needs_human":true})"), "block");
  expect_same_as_get(alice->post(task + "/unblock", R"({"note":"go"})"), "unblock");
  alice->post("/v1/tasks/" + dep + "/cancel", R"({"reason":"not needed"})");
  alice->post("/v1/tasks/" + dep + "/reopen", R"({"reason":"needed"})");
  const auto dep_token = claim(*alice, dep);
  alice->post("/v1/tasks/" + dep + "/complete", R"({"lease_token":")" + dep_token + R"(","summary":"ok"})");
  const auto claimed = alice->post(task + "/claim", R"({"agent":"agent-9"})");
  expect_same_as_get(claimed, "claim");
  const auto token = str_at(claimed, "/lease/token");
  const auto lease = R"("lease_token":")" + token + R"(")";
  const auto beat = alice->post(task + "/heartbeat", "{" + lease + "}");
  expect_same_as_get(beat, "heartbeat");
  EXPECT_EQ(str_at(beat, "/lease/agent"), "agent-9");
  EXPECT_EQ(int_at(beat, "/lease/attempt"), 1);
  expect_same_as_get(alice->post(task + "/criteria/0", R"({"evidence":"ci",)" + lease + "}"), "criterion");
  expect_same_as_get(alice->post(task + "/scope", R"({"files_changed":["a.cpp"],)" + lease + "}"), "scope");
  expect_same_as_get(alice->post(task + "/gates/evaluate", "{" + lease + "}"), "gates");
  expect_same_as_get(alice->post(task + "/fail", R"({"error":"broke",)" + lease + "}"), "fail");
  const auto again = alice->post(task + "/claim", R"({"agent":"agent-9"})");
  if (again.status == 200u) {  // unless the failure's back-off still holds it
    expect_same_as_get(again, "claim again");
    const auto lease2 = R"("lease_token":")" + str_at(again, "/lease/token") + R"(")";
    expect_same_as_get(alice->post(task + "/release", R"({"reason":"later",)" + lease2 + "}"), "release");
  }
  expect_same_as_get(alice->post(task + "/cancel", R"({"reason":"dropped"})"), "cancel");
  expect_same_as_get(alice->post(task + "/reopen", R"({"reason":"back"})"), "reopen");
  const auto picked = alice->post("/v1/projects/" + project + "/tasks/next", R"({"agent":"agent-3"})");
  if (picked.status == 200u) {
    const auto picked_id = str_at(picked, "/data/id");
    const auto got = alice->get("/v1/tasks/" + picked_id);
    EXPECT_EQ(picked.json()["data"], got.json()["data"]) << "pick\n answer: " << picked.body << "\n get: " << got.body;
  }
}

TEST_F(TaskRoutesTest, MoreRefusalsAppendNothing) {
  const auto id = create_task(*alice, project);
  const auto task = "/v1/tasks/" + id;
  auto before = head();
  expect_refused(alice->post(task + "/reopen", R"({})"), 409, "illegal_transition", before);
  expect_refused(alice->post(task + "/heartbeat", R"({"lease_token":"00000000-0000-4000-8000-000000000009"})"), 409,
                 "lease_lost", before);
  expect_refused(alice->post(task + "/fail", R"({"lease_token":"00000000-0000-4000-8000-000000000009","error":"e"})"),
                 409, "lease_lost", before);
  expect_refused(alice->post(task + "/gates/evaluate", R"({"custom_passed":["no-such-gate"]})"), 422,
                 "validation_failed", before);
  const auto token = claim(*alice, id);
  before = head();
  // While the lease is live, only its holder may act on the task.
  expect_refused(alice->post(task + "/scope", R"({"files_changed":["a"]})"), 409, "lease_lost", before);
  expect_refused(alice->post(task + "/gates/evaluate", R"({})"), 409, "lease_lost", before);
  expect_refused(alice->post(task + "/criteria/0", R"({"evidence":"e"})"), 409, "lease_lost", before);
  expect_refused(alice->post(task + "/heartbeat", R"({"lease_seconds":10})"), 422, "validation_failed", before);
  EXPECT_EQ(alice->post(task + "/scope", R"({"files_changed":["a"],"lease_token":")" + token + R"("})").status, 200u);
}

// A lease's token is its holder's proof on every later command, so it leaves the server in the
// claim's (and the heartbeat's) answer to the holder and nowhere else: not in the log, which every
// member reads (the events routes, the stream, export), not in a read model. A member who reads
// the log cannot act as the holder.
TEST_F(TaskRoutesTest, ALeaseTokenIsOnlyInTheAnswerToItsHolder) {
  ASSERT_EQ(alice->post("/v1/projects/" + project + "/members",
                        R"({"user_id":")" + to_string(bob_user.id) + R"(","role":"member"})")
                .status,
            200u);
  const auto id = create_task(*alice, project);
  const auto task = "/v1/tasks/" + id;
  const auto claimed = alice->post(task + "/claim", R"({"agent":"a1"})");
  ASSERT_EQ(claimed.status, 200u) << claimed.body;
  const auto token = str_at(claimed, "/lease/token");
  ASSERT_FALSE(token.empty());
  const auto beat = alice->post(task + "/heartbeat", R"({"lease_token":")" + token + R"("})");
  ASSERT_EQ(beat.status, 200u) << beat.body;
  EXPECT_EQ(str_at(beat, "/lease/token"), token);

  for (const auto& read : {task + "/events", "/v1/projects/" + project + "/events", std::string("/v1/events"), task,
                           "/v1/projects/" + project + "/context"}) {
    const auto r = bob->get(read);
    ASSERT_EQ(r.status, 200u) << read;
    EXPECT_EQ(r.body.find(token), std::string::npos) << read << " shows the lease token: " << r.body;
  }
  EXPECT_EQ(query_value(conninfo(), "SELECT count(*) FROM events WHERE payload::text LIKE '%" + token + "%'"), "0");
  EXPECT_EQ(query_value(conninfo(), "SELECT count(*) FROM readmodel.tasks WHERE lease_token::text = '" + token + "'"),
            "0");
  // What the log names the lease by: the token's fingerprint, which proves nothing.
  const std::string lease_id = to_string(lease_id_of(parse_uuid(token).value()));
  const auto events = bob->get(task + "/events");
  EXPECT_EQ(str_at(events, "/data/1/type"), "TaskClaimed");
  EXPECT_EQ(str_at(events, "/data/1/payload/lease_id"), lease_id);
  EXPECT_EQ(int_at(events, "/data/1/schema_version"), 2);
  const auto before = head();
  expect_refused(bob->post(task + "/complete", R"({"lease_token":")" + lease_id + R"(","summary":"mine now"})"), 409,
                 "lease_lost", before);

  const auto done = alice->post(task + "/complete", R"({"lease_token":")" + token + R"(","summary":"done"})");
  ASSERT_EQ(done.status, 200u) << done.body;
  EXPECT_EQ(str_at(done, "/data/status"), "done");
}

TEST_F(TaskRoutesTest, AViewerReadsEverythingAndWritesNothing) {
  const auto id = create_task(*alice, project);
  ASSERT_EQ(alice->post("/v1/projects/" + project + "/members",
                        R"({"user_id":")" + to_string(bob_user.id) + R"(","role":"viewer"})")
                .status,
            200u);
  for (const auto& read : {"/v1/tasks/" + id, "/v1/projects/" + project + "/tasks", "/v1/tasks/" + id + "/events",
                           "/v1/tasks/" + id + "/artifacts", "/v1/projects/" + project + "/context",
                           "/v1/projects/" + project + "/progress"})
    EXPECT_EQ(bob->get(read).status, 200u) << read;
  const auto before = head();
  const auto task = "/v1/tasks/" + id;
  for (const auto& [target, body] : std::vector<std::pair<std::string, std::string>>{
           {task + "/claim", R"({"agent":"v"})"},
           {task + "/cancel", R"({})"},
           {task + "/artifacts", R"({"type":"other","summary":"s"})"},
           {task + "/messages", R"({"role":"user","content":"c"})"},
           {"/v1/projects/" + project + "/tasks/next", R"({"agent":"v"})"},
           {"/v1/projects/" + project + "/checkpoints", R"({"label":"l","summary":"s"})"},
           {"/v1/projects/" + project + "/decisions", R"({"title":"t","choice":"c","rationale":"r"})"}})
    expect_refused(bob->post(target, body), 403, "forbidden", before);
  expect_refused(bob->patch(task, R"({"title":"x"})"), 403, "forbidden", before);
}

}  // namespace
}  // namespace tasklog::testing
