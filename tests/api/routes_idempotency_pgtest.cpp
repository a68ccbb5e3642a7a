// Idempotency-Key over real HTTP: a retry with the same key and body gets the first response
// (status and body) and appends nothing; another body with that key is 422; keys are per user;
// refusals are remembered too; and identical requests racing execute once.
#include "tests/api/routes_fixture.hpp"

#include <atomic>
#include <thread>

namespace tasklog::testing {
namespace {

class IdempotencyTest : public RoutesTest {};

TEST_F(IdempotencyTest, ARetryReplaysTheFirstResponseAndAppendsNothing) {
  const auto project = create_project(*alice);
  const HttpHeaders key{{"Idempotency-Key", "create-task-1"}};
  const auto target = "/v1/projects/" + project + "/tasks";
  const auto first = alice->post(target, R"({"title":"once"})", key);
  ASSERT_EQ(first.status, 201u) << first.body;
  const auto after_first = head();

  // Same body in another key order and spacing: the same request.
  const auto retry = alice->post(target, R"({ "title" : "once" })", key);
  EXPECT_EQ(retry.status, 201u);
  EXPECT_EQ(retry.body, first.body);
  EXPECT_EQ(retry.header("idempotent-replayed"), "true");
  EXPECT_EQ(head(), after_first);
  EXPECT_EQ(query_value(conninfo(), "SELECT count(*) FROM readmodel.tasks"), "1");

  // Another body with the same key: refused, nothing appended.
  const auto conflict = alice->post(target, R"({"title":"twice"})", key);
  EXPECT_EQ(conflict.status, 422u) << conflict.body;
  EXPECT_EQ(conflict.error_code(), "idempotency_conflict");
  EXPECT_EQ(head(), after_first);

  // The same key on another target is another request too.
  const auto elsewhere = alice->post("/v1/projects", R"({"title":"once"})", key);
  EXPECT_EQ(elsewhere.status, 422u) << elsewhere.body;
  EXPECT_EQ(elsewhere.error_code(), "idempotency_conflict");

  // Keys are per user: Bob's identical key is his own.
  const auto bobs = bob->post("/v1/projects", R"({"name":"bob's"})", key);
  EXPECT_EQ(bobs.status, 201u) << bobs.body;
  EXPECT_EQ(bobs.header("idempotent-replayed"), "");

  // Headers that belong to the answer come back too: the ETag a retried PATCH's next If-Match needs.
  const HttpHeaders patch_key{{"Idempotency-Key", "rename-1"}};
  const auto task_target = "/v1/tasks/" + str_at(first, "/data/id");
  const auto renamed = alice->patch(task_target, R"({"title":"renamed"})", patch_key);
  ASSERT_EQ(renamed.status, 200u) << renamed.body;
  EXPECT_EQ(renamed.header("etag"), "\"2\"");
  const auto renamed_again = alice->patch(task_target, R"({"title":"renamed"})", patch_key);
  EXPECT_EQ(renamed_again.header("idempotent-replayed"), "true");
  EXPECT_EQ(renamed_again.header("etag"), renamed.header("etag"));
}

// A key that appears twice in a body is refused: otherwise the command would take the first value
// and the idempotency hash (canonical JSON, like jsonb) the last, and a different request with the
// same last value would be replayed as the same one.
TEST_F(IdempotencyTest, ABodyWithADuplicatedKeyIsRefusedAndNeverReplayedAsAnother) {
  const auto project = create_project(*alice);
  const auto target = "/v1/projects/" + project + "/tasks";
  const auto before = head();
  const HttpHeaders key{{"Idempotency-Key", "dup-1"}};
  const auto first = alice->post(target, R"({"title":"A","title":"Z"})", key);
  EXPECT_EQ(first.status, 422u) << first.body;
  EXPECT_EQ(first.error_code(), "validation_failed");
  EXPECT_EQ(str_at(first, "/error/details/path"), "/title");
  const auto second = alice->post(target, R"({"title":"B","title":"Z"})", key);
  EXPECT_NE(second.status, 201u) << second.body;
  // Nested objects too, and without a key.
  const auto nested = alice->post(target, R"({"title":"t","git":{"branch":"a","branch":"b"}})");
  EXPECT_EQ(nested.status, 422u) << nested.body;
  EXPECT_EQ(str_at(nested, "/error/details/path"), "/git/branch");
  EXPECT_EQ(head(), before) << "nothing appended";
  EXPECT_EQ(query_value(conninfo(), "SELECT count(*) FROM readmodel.tasks"), "0");
}

TEST_F(IdempotencyTest, ARefusalIsRememberedAndPickAndCommandsReplay) {
  const auto project = create_project(*alice);
  const auto task = create_task(*alice, project);
  const HttpHeaders claim_key{{"Idempotency-Key", "claim-1"}};
  const auto claimed = alice->post("/v1/tasks/" + task + "/claim", R"({"agent":"a"})", claim_key);
  ASSERT_EQ(claimed.status, 200u) << claimed.body;
  const auto before = head();
  // A retried claim gets its lease back instead of "task_not_ready" from a second claim.
  const auto again = alice->post("/v1/tasks/" + task + "/claim", R"({"agent":"a"})", claim_key);
  EXPECT_EQ(again.status, 200u) << again.body;
  EXPECT_EQ(str_at(again, "/lease/token"), str_at(claimed, "/lease/token"));
  EXPECT_EQ(head(), before);

  // A refused request is answered the same way on retry.
  const HttpHeaders refused_key{{"Idempotency-Key", "refused-1"}};
  const auto refused = alice->post("/v1/tasks/" + task + "/claim", R"({"agent":"b"})", refused_key);
  EXPECT_EQ(refused.status, 409u);
  const auto refused_again = alice->post("/v1/tasks/" + task + "/claim", R"({"agent":"b"})", refused_key);
  EXPECT_EQ(refused_again.status, 409u);
  EXPECT_EQ(refused_again.body, refused.body);

  // A 204 from pick replays as 204.
  const HttpHeaders pick_key{{"Idempotency-Key", "pick-1"}};
  const auto none = alice->post("/v1/projects/" + project + "/tasks/next", R"({"agent":"c"})", pick_key);
  EXPECT_EQ(none.status, 204u);
  create_task(*alice, project);
  const auto still_none = alice->post("/v1/projects/" + project + "/tasks/next", R"({"agent":"c"})", pick_key);
  EXPECT_EQ(still_none.status, 204u);
  EXPECT_EQ(still_none.header("idempotent-replayed"), "true");

  // Malformed keys are a 400.
  EXPECT_EQ(alice->post("/v1/projects", R"({"name":"x"})", {{"Idempotency-Key", std::string(300, 'k')}}).status, 400u);
}

TEST_F(IdempotencyTest, IdenticalRequestsRacingExecuteOnce) {
  const auto project = create_project(*alice);
  constexpr int kClients = 8;
  std::vector<std::thread> threads;
  std::vector<HttpResult> results(kClients);
  std::atomic<int> ready{0};
  for (int i = 0; i < kClients; ++i)
    threads.emplace_back([&, i] {
      auto client = alice_user.client();
      client->connect();
      ++ready;
      while (ready.load() < kClients) std::this_thread::yield();  // start together
      results[i] = client->post("/v1/projects/" + project + "/tasks", R"({"title":"raced"})",
                                {{"Idempotency-Key", "race-1"}});
    });
  for (auto& t : threads) t.join();
  for (const auto& r : results) {
    EXPECT_EQ(r.status, 201u) << r.body;
    EXPECT_EQ(str_at(r, "/data/id"), str_at(results[0], "/data/id"));
  }
  EXPECT_EQ(query_value(conninfo(), "SELECT count(*) FROM events WHERE type = 'TaskCreated'"), "1");
}

}  // namespace
}  // namespace tasklog::testing
