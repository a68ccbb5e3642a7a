// Leases over HTTP against `tasklog serve` and its lease reaper: an agent that stops heartbeating
// loses its task when the lease runs out; its late complete (and heartbeat) is refused with
// 409 lease_lost and appends nothing; the next agent picks the task up and completes it.
#include "tests/reliability/served_fixture.hpp"
#include "tests/support/eventually.hpp"

#include <gtest/gtest.h>
#include <rapidjson/pointer.h>

namespace tasklog::testing {
namespace {

using namespace std::chrono_literals;

constexpr int kLeaseSeconds = 5;  // the shortest lease the domain allows (kMinLeaseSeconds)

class LeaseExpiryTest : public ServedTest {
 protected:
  // The task's events as (type, agent of the payload or "") through GET /v1/tasks/{id}/events.
  std::vector<std::pair<std::string, std::string>> task_events(HttpClient& http, const std::string& task) {
    const auto r = http.get("/v1/tasks/" + task + "/events?limit=500");
    EXPECT_EQ(r.status, 200u) << r.body;
    std::vector<std::pair<std::string, std::string>> out;
    const auto doc = r.json();
    for (const auto& e : doc["data"].GetArray()) {
      const auto* agent = rapidjson::Pointer("/payload/agent").Get(e);
      out.emplace_back(e["type"].GetString(), agent && agent->IsString() ? agent->GetString() : "");
    }
    return out;
  }
};

TEST_F(LeaseExpiryTest, AnAgentThatStopsHeartbeatingLosesItsTaskAndItsLateCompleteIsRefused) {
  serve_test_database();
  auto agent_a = client();
  auto agent_b = client();
  const auto project = create_project(*agent_a, "leases");
  const auto task = create_task(*agent_a, project, "long job");
  const std::string lease = R"(,"lease_seconds":)" + std::to_string(kLeaseSeconds);

  // A claims and heartbeats twice; each heartbeat moves the expiry forward.
  auto r = agent_a->post("/v1/tasks/" + task + "/claim", R"({"agent":"agent-a")" + lease + "}");
  ASSERT_EQ(r.status, 200u) << r.body;
  const auto token_a = str_at(r, "/lease/token");
  auto expires = str_at(r, "/lease/expires_at");
  for (int i = 0; i < 2; ++i) {
    r = agent_a->post("/v1/tasks/" + task + "/heartbeat", R"({"lease_token":")" + token_a + "\"" + lease + "}");
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_GT(str_at(r, "/lease/expires_at"), expires);  // RFC 3339 UTC, fixed width: text order is time order
    expires = str_at(r, "/lease/expires_at");
  }

  // A stops. The reaper gives the lease up once it has run out: the task is todo again.
  HttpResult view;
  ASSERT_TRUE(eventually(
      [&] {
        view = agent_b->get("/v1/tasks/" + task);
        return view.status == 200 && str_at(view, "/data/status") == "todo";
      },
      60s, 100ms))
      << "the lease was not expired: " << view.body;
  EXPECT_TRUE(is_null_at(view, "/data/lease")) << view.body;
  EXPECT_GE(str_at(view, "/data/updated_at"), expires) << "expired before its time";
  const auto head_after_expiry = head();

  // A's late complete and heartbeat: refused, nothing appended, the task as it was.
  for (const auto& [command, body] : {std::pair{"complete", R"({"lease_token":")" + token_a + R"(","summary":"late"})"},
                                      std::pair{"heartbeat", R"({"lease_token":")" + token_a + R"("})"}}) {
    r = agent_a->post("/v1/tasks/" + task + "/" + command, body);
    EXPECT_EQ(r.status, 409u) << command << ": " << r.body;
    EXPECT_EQ(r.error_code(), "lease_lost") << command << ": " << r.body;
  }
  EXPECT_EQ(head(), head_after_expiry);
  EXPECT_EQ(agent_a->get("/v1/tasks/" + task).body, view.body);

  // B picks the task (the only ready one) and completes it.
  r = agent_b->post("/v1/projects/" + project + "/tasks/next", R"({"agent":"agent-b")" + lease + "}");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(str_at(r, "/data/id"), task);
  EXPECT_EQ(int_at(r, "/lease/attempt"), 2);
  const auto token_b = str_at(r, "/lease/token");
  r = agent_b->post("/v1/tasks/" + task + "/complete", R"({"lease_token":")" + token_b + R"(","summary":"finished by b"})");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(str_at(r, "/data/status"), "done");

  // A's token is still refused, now that the task is done; nothing appended.
  const auto head_after_b = head();
  r = agent_a->post("/v1/tasks/" + task + "/complete", R"({"lease_token":")" + token_a + R"(","summary":"later still"})");
  EXPECT_EQ(r.status, 409u) << r.body;
  EXPECT_EQ(r.error_code(), "lease_lost") << r.body;
  EXPECT_EQ(head(), head_after_b);

  using Event = std::pair<std::string, std::string>;
  EXPECT_EQ(task_events(*agent_b, task),
            (std::vector<Event>{{"TaskCreated", ""},
                                {"TaskClaimed", "agent-a"},
                                {"TaskLeaseExtended", ""},
                                {"TaskLeaseExtended", ""},
                                {"TaskLeaseExpired", "agent-a"},
                                {"TaskClaimed", "agent-b"},
                                {"TaskCompleted", ""}}));
  expect_verified();
}

}  // namespace
}  // namespace tasklog::testing
