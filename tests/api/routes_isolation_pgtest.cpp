// Tenant isolation over real HTTP: the same scenario as two users. Bob gets 404 — exactly as for
// an unknown id, with nothing appended — for every route that names one of Alice's projects,
// tasks or checkpoints, and none of Bob's lists (projects, tasks, records, events) contains
// anything of Alice's.
#include "tests/api/routes_fixture.hpp"

#include <gmock/gmock.h>

namespace tasklog::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

struct Scenario {
  std::string project{}, task{}, checkpoint{}, decision{}, artifact{}, message{}, lease_token{};
};

class IsolationTest : public RoutesTest {
 protected:
  // The same scenario for a user: a project with a task, claimed, with an artifact, a message,
  // a checkpoint and a decision.
  Scenario scenario(HttpClient& client, const std::string& name) {
    Scenario s;
    s.project = create_project(client, R"({"name":")" + name + R"("})");
    s.task = create_task(client, s.project, R"({"title":")" + name + R"( task","acceptance_criteria":["c"]})");
    create_task(client, s.project, R"({"title":")" + name + R"( other"})");
    s.lease_token = claim(client, s.task);
    s.artifact = str_at(client.post("/v1/tasks/" + s.task + "/artifacts",
                                    R"({"type":"document","summary":"notes","lease_token":")" + s.lease_token + R"("})"),
                        "/data/id");
    s.message = str_at(client.post("/v1/tasks/" + s.task + "/messages",
                                   R"({"role":"user","content":"hi","lease_token":")" + s.lease_token + R"("})"),
                       "/data/id");
    s.checkpoint = str_at(client.post("/v1/projects/" + s.project + "/checkpoints", R"({"label":"l","summary":"s"})"),
                          "/data/id");
    s.decision = str_at(client.post("/v1/projects/" + s.project + "/decisions",
                                    R"({"title":"t","choice":"c","rationale":"r"})"),
                        "/data/id");
    EXPECT_FALSE(s.artifact.empty() || s.message.empty() || s.checkpoint.empty() || s.decision.empty());
    return s;
  }
};

struct Call {
  http::verb method;
  std::string target;
  std::string body;
};

std::string fill(std::string text, const Scenario& s, const std::string& other_user) {
  auto replace = [&](const std::string& from, const std::string& to) {
    for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
      text.replace(at, from.size(), to);
  };
  replace("{P}", s.project);
  replace("{T}", s.task);
  replace("{C}", s.checkpoint);
  replace("{D}", s.decision);
  replace("{L}", s.lease_token);
  replace("{U}", other_user);
  return text;
}

// Every route that names a project, task or checkpoint, with a body that would be valid for the
// owner, so that only the tenancy check can refuse it.
const std::vector<Call>& foreign_calls() {
  using http::verb;
  static const std::vector<Call> calls{
      {verb::get, "/v1/projects/{P}", ""},
      {verb::patch, "/v1/projects/{P}", R"({"description":"mine now"})"},
      {verb::post, "/v1/projects/{P}/members", R"({"user_id":"{U}","role":"owner"})"},
      {verb::delete_, "/v1/projects/{P}/members?user_id={U}", ""},
      {verb::get, "/v1/projects/{P}/context", ""},
      {verb::get, "/v1/projects/{P}/context?at=1", ""},
      {verb::get, "/v1/projects/{P}/diff?from=0", ""},
      {verb::post, "/v1/projects/{P}/tasks", R"({"title":"intruder"})"},
      {verb::get, "/v1/projects/{P}/tasks", ""},
      {verb::get, "/v1/projects/{P}/tasks?ready=true", ""},
      {verb::post, "/v1/projects/{P}/tasks/next", R"({"agent":"thief"})"},
      {verb::get, "/v1/tasks/{T}", ""},
      {verb::patch, "/v1/tasks/{T}", R"({"title":"mine"})"},
      {verb::post, "/v1/tasks/{T}/claim", R"({"agent":"thief"})"},
      {verb::post, "/v1/tasks/{T}/heartbeat", R"({"lease_token":"{L}"})"},
      {verb::post, "/v1/tasks/{T}/release", R"({"lease_token":"{L}"})"},
      {verb::post, "/v1/tasks/{T}/block", R"({"reason":"r","lease_token":"{L}"})"},
      {verb::post, "/v1/tasks/{T}/unblock", R"({})"},
      {verb::post, "/v1/tasks/{T}/complete", R"({"lease_token":"{L}","summary":"s"})"},
      {verb::post, "/v1/tasks/{T}/fail", R"({"lease_token":"{L}","error":"e"})"},
      {verb::post, "/v1/tasks/{T}/cancel", R"({})"},
      {verb::post, "/v1/tasks/{T}/reopen", R"({})"},
      {verb::post, "/v1/tasks/{T}/dependencies", R"({"depends_on":"{T}"})"},
      {verb::delete_, "/v1/tasks/{T}/dependencies?depends_on={T}", ""},
      {verb::post, "/v1/tasks/{T}/criteria/0", R"({"evidence":"e","lease_token":"{L}"})"},
      {verb::post, "/v1/tasks/{T}/gates/evaluate", R"({"lease_token":"{L}"})"},
      {verb::post, "/v1/tasks/{T}/scope", R"({"files_changed":["a"],"lease_token":"{L}"})"},
      {verb::post, "/v1/tasks/{T}/artifacts", R"({"type":"other","summary":"s"})"},
      {verb::get, "/v1/tasks/{T}/artifacts", ""},
      {verb::post, "/v1/tasks/{T}/messages", R"({"role":"user","content":"c"})"},
      {verb::get, "/v1/tasks/{T}/messages", ""},
      {verb::post, "/v1/projects/{P}/checkpoints", R"({"label":"l","summary":"s"})"},
      {verb::get, "/v1/projects/{P}/checkpoints", ""},
      {verb::get, "/v1/checkpoints/{C}", ""},
      {verb::post, "/v1/projects/{P}/decisions", R"({"title":"t","choice":"c","rationale":"r","supersedes":"{D}"})"},
      {verb::get, "/v1/projects/{P}/decisions", ""},
      {verb::get, "/v1/projects/{P}/active-tasks", ""},
      {verb::get, "/v1/projects/{P}/progress", ""},
      {verb::get, "/v1/projects/{P}/events", ""},
      {verb::get, "/v1/tasks/{T}/events", ""},
  };
  return calls;
}

TEST_F(IsolationTest, EveryRouteAnswers404ForAnotherTenantsIdsAndAppendsNothing) {
  const Scenario a = scenario(*alice, "alice");
  scenario(*bob, "bob");
  const Scenario unknown{.project = "00000000-0000-4000-8000-0000000000a1",
                         .task = "00000000-0000-4000-8000-0000000000a2",
                         .checkpoint = "00000000-0000-4000-8000-0000000000a3",
                         .decision = "00000000-0000-4000-8000-0000000000a4",
                         .lease_token = a.lease_token};
  for (const Call& call : foreign_calls()) {
    const auto before = head();
    const auto foreign = bob->request(call.method, fill(call.target, a, to_string(bob_user.id)),
                                      fill(call.body, a, to_string(bob_user.id)));
    const auto missing = bob->request(call.method, fill(call.target, unknown, to_string(bob_user.id)),
                                      fill(call.body, unknown, to_string(bob_user.id)));
    const std::string what = std::string(http::to_string(call.method)) + " " + call.target;
    EXPECT_EQ(foreign.status, 404u) << what << ": " << foreign.body;
    EXPECT_EQ(foreign.error_code(), "not_found") << what;
    // Indistinguishable from an id that does not exist at all.
    EXPECT_EQ(missing.status, foreign.status) << what << ": " << missing.body;
    EXPECT_EQ(missing.error_code(), foreign.error_code()) << what;
    EXPECT_THAT(foreign.body, Not(HasSubstr("alice"))) << what;
    // Nor does it name the project of a task or checkpoint the caller only knows by id.
    if (call.target.find("{P}") == std::string::npos) {
      EXPECT_THAT(foreign.body, Not(HasSubstr(a.project))) << what;
    }
    EXPECT_EQ(head(), before) << what << " appended";
  }
  // Alice's task is still hers: the lease, title and status are untouched.
  const auto task = alice->get("/v1/tasks/" + a.task);
  EXPECT_EQ(str_at(task, "/data/title"), "alice task");
  EXPECT_EQ(str_at(task, "/data/status"), "in_progress");
  EXPECT_EQ(str_at(task, "/data/lease/agent"), "agent-1");
}

TEST_F(IsolationTest, ListsAndTheEventLogShowOnlyTheCallersProjects) {
  const Scenario a = scenario(*alice, "alice");
  const Scenario b = scenario(*bob, "bob");

  const auto projects = bob->get("/v1/projects");
  ASSERT_EQ(projects.status, 200u);
  ASSERT_EQ(size_at(projects, "/data"), 1);
  EXPECT_EQ(str_at(projects, "/data/0/id"), b.project);

  // Everything Bob may list, and none of it mentions an id or a name of Alice's.
  const std::vector<std::string> lists{"/v1/projects",
                                       "/v1/events?limit=500",
                                       "/v1/projects/" + b.project + "/tasks",
                                       "/v1/projects/" + b.project + "/context",
                                       "/v1/projects/" + b.project + "/active-tasks",
                                       "/v1/projects/" + b.project + "/checkpoints",
                                       "/v1/projects/" + b.project + "/decisions",
                                       "/v1/projects/" + b.project + "/events",
                                       "/v1/tasks/" + b.task + "/events",
                                       "/v1/tasks/" + b.task + "/artifacts",
                                       "/v1/tasks/" + b.task + "/messages"};
  for (const auto& list : lists) {
    const auto r = bob->get(list);
    ASSERT_EQ(r.status, 200u) << list << ": " << r.body;
    for (const auto& id : {a.project, a.task, a.checkpoint, a.decision, a.artifact, a.message})
      EXPECT_THAT(r.body, Not(HasSubstr(id))) << list;
    EXPECT_THAT(r.body, Not(HasSubstr("alice"))) << list;
  }

  // Bob's log is exactly his project's events, in order, with no gap in his own sequence.
  const auto events = bob->get("/v1/events?limit=500");
  const auto doc = events.json();
  const auto expected = query_value(conninfo(), "SELECT count(*) FROM events WHERE project_id = '" + b.project + "'");
  EXPECT_EQ(std::to_string(doc["data"].Size()), expected);
  std::int64_t last = 0;
  for (const auto& e : doc["data"].GetArray()) {
    EXPECT_EQ(std::string(e["project_id"].GetString()), b.project);
    EXPECT_GT(e["position"].GetInt64(), last);
    last = e["position"].GetInt64();
  }
  // And Alice sees hers, not Bob's.
  const auto alice_events = alice->get("/v1/events?limit=500");
  EXPECT_THAT(alice_events.body, Not(HasSubstr(b.project)));
  EXPECT_THAT(alice_events.body, HasSubstr(a.project));
}

}  // namespace
}  // namespace tasklog::testing
