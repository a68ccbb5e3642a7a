// Task commands are asynchronous routes: a command waiting for the event store's writer holds no
// handler thread, so reads are answered meanwhile and the writer's next batch gathers every
// command that waits — not at most one per handler thread.
#include "events/database.hpp"
#include "tests/api/routes_fixture.hpp"
#include "tests/support/eventually.hpp"

#include <fmt/format.h>

#include <set>
#include <sstream>

namespace tasklog::testing {
namespace {

class AsyncCommandRoutesTest : public RoutesTest {
 protected:
  // One handler thread: a command that kept it while the writer works would stall every request.
  void configure(api::ApiServerOptions& options) override { options.worker_threads = 1; }

  std::string create_request(const std::string& project, const std::string& title) const {
    const std::string body = fmt::format(R"({{"title":"{}"}})", title);
    return fmt::format(
        "POST /v1/projects/{}/tasks HTTP/1.1\r\nHost: tasklog\r\nAuthorization: Bearer {}\r\n"
        "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
        project, alice_user.token, body.size(), body);
  }

  // A gauge of GET /metrics; nullopt when the server does not answer (in time).
  static std::optional<long long> gauge(HttpClient& client, const std::string& name) {
    HttpResult r;
    try {
      r = client.get("/metrics");
    } catch (const std::exception&) {
      client.close();
      return std::nullopt;
    }
    if (r.status != 200) return std::nullopt;
    std::istringstream lines(r.body);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind(name + " ", 0) == 0) return std::stoll(line.substr(name.size() + 1));
    }
    return std::nullopt;
  }

  // Whether a backend of the cluster waits for an advisory lock (the writer, at the append lock).
  bool writer_waits_for_the_lock() const {
    return query_value(conninfo(),
                       "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'") !=
           "0";
  }
};

TEST_F(AsyncCommandRoutesTest, ACommandWaitingForTheWriterHoldsNoHandlerThread) {
  const auto project = create_project(*alice);
  const std::int64_t before = head();

  // Another session holds the append lock: the writer's next batch waits for it.
  pqxx::connection locker(conninfo());
  pqxx::nontransaction(locker).exec(fmt::format("SELECT pg_advisory_lock({})", events::kAppendLockKey));

  constexpr int kCreates = 8;
  std::vector<std::unique_ptr<HttpClient>> creators;
  for (int i = 0; i < kCreates; ++i) creators.push_back(alice_user.client());
  // The first create becomes a batch of its own, held at the lock; the other seven queue behind it.
  creators[0]->send_raw(create_request(project, "task-0"));
  ASSERT_TRUE(eventually([&] { return writer_waits_for_the_lock(); }));
  for (int i = 1; i < kCreates; ++i) creators[i]->send_raw(create_request(project, fmt::format("task-{}", i)));

  // The one handler thread answers while all eight wait: none of them holds it.
  auto observer = alice_user.client();
  observer->set_timeout(std::chrono::seconds(5));
  EXPECT_TRUE(eventually([&] { return gauge(*observer, "tasklog_append_queued") == kCreates - 1; }))
      << "the creates did not all reach the writer's queue, or /metrics was not answered";
  const auto read = observer->get("/v1/projects/" + project);
  EXPECT_EQ(read.status, 200u) << read.body;
  EXPECT_EQ(head(), before);  // nothing committed while the lock is held

  pqxx::nontransaction(locker).exec(fmt::format("SELECT pg_advisory_unlock({})", events::kAppendLockKey));
  std::set<std::string> ids;
  for (auto& creator : creators) {
    const auto r = creator->read_response();
    ASSERT_EQ(r.status, 201u) << r.body;
    EXPECT_EQ(int_at(r, "/version"), 1);
    ids.insert(str_at(r, "/data/id"));
  }
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kCreates));
  EXPECT_EQ(head(), before + kCreates);
  // Two batches: the held one and the seven that queued (a batch's events share their stamp).
  EXPECT_EQ(query_value(conninfo(),
                        fmt::format("SELECT count(DISTINCT recorded_at) FROM events WHERE position > {}", before)),
            "2");
  EXPECT_EQ(gauge(*observer, "tasklog_append_largest_batch"), kCreates - 1);
}

// A refusal decided by the engine comes back through the asynchronous path as the same error
// shape, and a refusal found before the engine (a malformed body) never reaches it.
TEST_F(AsyncCommandRoutesTest, RefusalsComeBackThroughTheAsynchronousPath) {
  const auto project = create_project(*alice);
  const auto task = create_task(*alice, project);
  const std::int64_t before = head();

  const auto stale = alice->post("/v1/tasks/" + task + "/complete",
                                 R"({"lease_token":"00000000-0000-4000-8000-000000000009","summary":"x"})");
  EXPECT_EQ(stale.status, 409u) << stale.body;
  EXPECT_EQ(stale.error_code(), "lease_lost") << stale.body;

  const auto foreign = bob->post("/v1/projects/" + project + "/tasks", R"({"title":"not mine"})");
  EXPECT_EQ(foreign.status, 404u) << foreign.body;
  EXPECT_EQ(foreign.error_code(), "not_found");

  const auto malformed = alice->post("/v1/projects/" + project + "/tasks", R"({"title":)");
  EXPECT_EQ(malformed.status, 400u) << malformed.body;
  EXPECT_EQ(malformed.error_code(), "malformed_json");

  EXPECT_EQ(head(), before);
  EXPECT_EQ(gauge(*alice, "tasklog_append_queued"), 0);
}

}  // namespace
}  // namespace tasklog::testing
