// GET /v1/tasks/{id} through TaskReads (api/task_reads.hpp): reads of one token wait for that
// token's call in flight and share the next one, tokens never share a call, every read gets its
// own answer however the calls were grouped, and the route answers while every worker is busy
// (it never blocks, so it runs on the I/O thread).
#include "api/router.hpp"
#include "api/services.hpp"
#include "api/task_reads.hpp"
#include "core/error.hpp"
#include "tests/api/routes_fixture.hpp"
#include "tests/support/eventually.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace tasklog::testing {
namespace {

using namespace std::chrono_literals;

// What one read was answered with.
struct Answer {
  std::optional<ErrorCode> error;  // a DomainError's code
  std::string task;                // the row's id ("" when none)
};

class TaskReadsTest : public RoutesTest {
 protected:
  // A read through `reads` whose answer lands in `answers[slot]`; `left` counts the reads not yet
  // answered.
  void read(api::TaskReads& reads, const std::string& token, std::optional<std::string> task, std::size_t slot) {
    ++left;
    reads.read(token, task ? parse_uuid(*task) : std::nullopt,
               [this, slot](std::exception_ptr error, std::optional<pqxx::row> row) {
                 Answer a;
                 if (error) {
                   try {
                     std::rethrow_exception(error);
                   } catch (const DomainError& e) {
                     a.error = e.code();
                   } catch (...) {
                     a.error = ErrorCode::internal;
                   }
                 }
                 if (row) a.task = (*row)["id"].c_str();
                 std::lock_guard lock(mutex);
                 answers[slot] = a;
                 --left;
               });
  }
  // Backends of this database waiting for a lock while running a statement whose text contains
  // `statement_part`.
  int waiting_for_the_lock(const std::string& statement_part) {
    return std::stoi(query_value(conninfo(),
                                 "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                 "AND wait_event_type = 'Lock' AND query LIKE '%" + statement_part + "%'"));
  }
  int reads_waiting_for_the_lock() { return waiting_for_the_lock("tasklog_read_tasks"); }
  int sign_ins_waiting_for_the_lock() { return waiting_for_the_lock("auth.api_tokens"); }
  // A counter or gauge of the server's /metrics now (-1 when it is not there).
  long long metric(const std::string& name) {
    const auto body = anonymous_client()->get("/metrics").body;
    const auto at = body.find("\n" + name + " ");
    return at == std::string::npos ? -1 : std::stoll(body.substr(at + name.size() + 2));
  }

  std::mutex mutex;
  std::map<std::size_t, Answer> answers;
  std::atomic<int> left{0};
};

// The table is locked so that a call, once started, waits in PostgreSQL: alice's first read starts
// a call; her next 20 reads queue behind it (no second call of her token) and bob's read starts a
// call of its own meanwhile; his next reads queue behind his. When the lock goes, alice's 20 share
// one call and bob's 5 another: 27 reads in 4 calls, each answered with its own row (or none).
TEST_F(TaskReadsTest, ReadsOfOneTokenQueueBehindItsCallAndShareTheNextWhileOtherTokensGoAhead) {
  const auto alices_project = create_project(*alice);
  const auto bobs_project = create_project(*bob);
  std::vector<std::string> alices_tasks, bobs_tasks;
  for (int i = 0; i < 4; ++i) alices_tasks.push_back(create_task(*alice, alices_project));
  for (int i = 0; i < 2; ++i) bobs_tasks.push_back(create_task(*bob, bobs_project));
  const std::string unknown = "00000000-0000-4000-8000-000000000000";

  api::DbPool pool(conninfo(), 4);
  api::TaskReads reads(pool);
  pqxx::connection locker(conninfo());
  pqxx::work lock(locker);
  lock.exec0("LOCK TABLE readmodel.tasks IN ACCESS EXCLUSIVE MODE");

  std::map<std::size_t, std::string> expected;  // slot -> the id it must get ("" none)
  std::size_t slot = 0;
  expected[slot] = alices_tasks[0];
  read(reads, alice_user.token, alices_tasks[0], slot++);
  ASSERT_TRUE(eventually([&] { return reads_waiting_for_the_lock() == 1; }));
  for (int i = 0; i < 20; ++i) {
    // Her own tasks (one twice in the call), bob's (not hers to see), an unknown id, and a sign-in
    // without a task.
    std::optional<std::string> task;
    std::string want;
    switch (i % 4) {
      case 0: task = want = alices_tasks[std::size_t(i / 4) % alices_tasks.size()]; break;
      case 1: task = bobs_tasks[0]; break;
      case 2: task = unknown; break;
      default: break;
    }
    expected[slot] = want;
    read(reads, alice_user.token, task, slot++);
  }
  expected[slot] = bobs_tasks[0];
  read(reads, bob_user.token, bobs_tasks[0], slot++);
  ASSERT_TRUE(eventually([&] { return reads_waiting_for_the_lock() == 2; }));
  for (int i = 0; i < 5; ++i) {
    expected[slot] = i % 2 ? "" : bobs_tasks[1];
    read(reads, bob_user.token, i % 2 ? alices_tasks[0] : bobs_tasks[1], slot++);
  }
  EXPECT_EQ(reads.stats().calls, 0u);  // nothing has finished yet
  lock.commit();

  ASSERT_TRUE(eventually([&] { return left == 0; }));
  const auto stats = reads.stats();
  EXPECT_EQ(stats.reads, 27u);
  EXPECT_EQ(stats.calls, 4u);
  std::lock_guard guard(mutex);
  for (const auto& [s, want] : expected) {
    EXPECT_FALSE(answers.at(s).error) << "read " << s;
    EXPECT_EQ(answers.at(s).task, want) << "read " << s;
  }
}

// A refused token fails every read of its call and none of another token's; a token that cannot
// be ours is refused without a call.
TEST_F(TaskReadsTest, ARefusedTokenFailsItsOwnReadsOnly) {
  const auto project = create_project(*alice);
  const auto task = create_task(*alice, project);
  api::DbPool pool(conninfo(), 4);
  api::TaskReads reads(pool);
  read(reads, "tl_" + std::string(43, 'A'), task, 0);  // shaped, unknown: a call
  read(reads, alice_user.token, task, 1);
  read(reads, "not a token", task, 2);  // answered at once
  ASSERT_TRUE(eventually([&] { return left == 0; }));
  std::lock_guard guard(mutex);
  EXPECT_EQ(answers.at(0).error, ErrorCode::unauthorized);
  EXPECT_FALSE(answers.at(1).error);
  EXPECT_EQ(answers.at(1).task, task);
  EXPECT_EQ(answers.at(2).error, ErrorCode::unauthorized);
}

// stop() lets the call in flight finish and answers what no call took with unavailable; reads
// after it too.
TEST_F(TaskReadsTest, StopFinishesTheCallInFlightAndAnswersTheRestUnavailable) {
  const auto project = create_project(*alice);
  const auto task = create_task(*alice, project);
  api::DbPool pool(conninfo(), 4);
  api::TaskReads reads(pool);
  pqxx::connection locker(conninfo());
  pqxx::work lock(locker);
  lock.exec0("LOCK TABLE readmodel.tasks IN ACCESS EXCLUSIVE MODE");
  read(reads, alice_user.token, task, 0);
  ASSERT_TRUE(eventually([&] { return reads_waiting_for_the_lock() == 1; }));
  read(reads, alice_user.token, task, 1);  // queued behind the call
  auto stopped = std::async(std::launch::async, [&] { reads.stop(); });
  EXPECT_EQ(stopped.wait_for(200ms), std::future_status::timeout);  // waits for the call in flight
  lock.commit();
  stopped.get();
  read(reads, alice_user.token, task, 2);
  ASSERT_TRUE(eventually([&] { return left == 0; }));
  std::lock_guard guard(mutex);
  EXPECT_FALSE(answers.at(0).error);
  EXPECT_EQ(answers.at(0).task, task);
  EXPECT_EQ(answers.at(1).error, ErrorCode::unavailable);
  EXPECT_EQ(answers.at(2).error, ErrorCode::unavailable);
}

// Over HTTP, many connections of three users (and one revoked token) read at once, so calls carry
// the reads of many requests: every response is the one its request asked for — the user's own
// task with its title, a 404 for another user's task or an unknown id, a 400 for a malformed id
// and a 401 for the revoked token — never another request's row.
TEST_F(TaskReadsTest, ConcurrentReadsOfManyUsersEachGetTheirOwnAnswer) {
  auto carol_user = create_user("carol");
  auto dave_user = create_user("dave");
  std::vector<TestUser*> users{&alice_user, &bob_user, &carol_user};
  std::map<std::string, std::string> title_of;             // task -> title
  std::vector<std::vector<std::string>> tasks_of(users.size());  // per user
  for (std::size_t u = 0; u < users.size(); ++u) {
    auto client = users[u]->client();
    const auto project = create_project(*client);
    for (int i = 0; i < 6; ++i) {
      const std::string title = "task " + std::to_string(u) + "-" + std::to_string(i);
      const auto id = create_task(*client, project, R"({"title":")" + title + R"("})");
      title_of[id] = title;
      tasks_of[u].push_back(id);
    }
  }
  {
    pqxx::connection c(conninfo());
    api::revoke_token(c, dave_user.id, api::list_tokens(c, dave_user.id).at(0).id);
  }

  constexpr int kThreadsPerUser = 4, kReadsPerThread = 150;
  std::atomic<int> wrong{0}, checked{0};
  std::vector<std::thread> threads;
  for (std::size_t u = 0; u <= users.size(); ++u) {
    for (int t = 0; t < kThreadsPerUser; ++t) {
      threads.emplace_back([&, u, t] {
        const bool revoked = u == users.size();
        auto client = revoked ? dave_user.client() : users[u]->client();
        std::mt19937 random(static_cast<unsigned>(u * 100 + std::size_t(t)));
        for (int i = 0; i < kReadsPerThread; ++i) {
          const std::size_t owner = random() % users.size();
          const auto& task = tasks_of[owner][random() % tasks_of[owner].size()];
          const bool malformed = random() % 10 == 0;
          const auto r = client->get("/v1/tasks/" + (malformed ? std::string("not-a-uuid") : task));
          ++checked;
          unsigned want = revoked ? 401u : malformed ? 400u : owner == u ? 200u : 404u;
          bool right = r.status == want;
          if (right && want == 200u) right = str_at(r, "/data/id") == task && str_at(r, "/data/title") == title_of.at(task);
          if (!right) {
            ++wrong;
            ADD_FAILURE() << "user " << u << " GET " << task << ": " << r.status << " " << r.body;
          }
        }
      });
    }
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(checked, int(users.size() + 1) * kThreadsPerUser * kReadsPerThread);
  EXPECT_EQ(wrong, 0);
  // Every request went through TaskReads (a malformed id's as a sign-in), as /metrics counts them.
  EXPECT_EQ(metric("tasklog_task_reads_total"), checked.load());
  EXPECT_GE(metric("tasklog_task_read_calls_total"), 1);
  EXPECT_LE(metric("tasklog_task_read_calls_total"), checked.load());
}

// Sign-ins (the router's look-up of a token's user) share calls like reads. auth.users is locked so
// that a sign-in's call, once started, waits in PostgreSQL (a task read's does not: its sign-in
// reads only the tokens). alice's first sign-in starts a call; her next 10 queue behind it and do
// not join it; bob's first starts a call of its own and his next 2 queue behind his; alice's task
// read goes in a call of its own kind meanwhile. When the lock goes: 14 sign-ins in 4 calls, each
// answered with its own token's user; then a revoked token is refused by the next call.
TEST_F(TaskReadsTest, SignInsOfOneTokenShareTheNextCallAndNeverJoinOneInFlight) {
  const auto project = create_project(*alice);
  const auto task = create_task(*alice, project);
  api::DbPool pool(conninfo(), 4);
  api::TaskReads reads(pool);
  std::map<std::size_t, std::optional<Uuid>> users;  // slot -> the user it was answered with
  std::map<std::size_t, std::optional<ErrorCode>> refusals;
  std::atomic<int> signing{0};
  auto sign_in = [&](const std::string& token, std::size_t slot) {
    ++signing;
    reads.sign_in(token, [&, slot](std::exception_ptr error, std::optional<api::Principal> user) {
      std::optional<ErrorCode> refusal;
      if (error) {
        try {
          std::rethrow_exception(error);
        } catch (const DomainError& e) {
          refusal = e.code();
        } catch (...) {
          refusal = ErrorCode::internal;
        }
      }
      std::lock_guard lock(mutex);
      users[slot] = user ? std::optional(user->user_id) : std::nullopt;
      refusals[slot] = refusal;
      --signing;
    });
  };

  pqxx::connection locker(conninfo());
  pqxx::work lock(locker);
  lock.exec0("LOCK TABLE auth.users IN ACCESS EXCLUSIVE MODE");
  std::size_t slot = 0;
  sign_in(alice_user.token, slot++);
  ASSERT_TRUE(eventually([&] { return sign_ins_waiting_for_the_lock() == 1; }));
  for (int i = 0; i < 10; ++i) sign_in(alice_user.token, slot++);
  sign_in(bob_user.token, slot++);
  ASSERT_TRUE(eventually([&] { return sign_ins_waiting_for_the_lock() == 2; }));
  for (int i = 0; i < 2; ++i) sign_in(bob_user.token, slot++);
  read(reads, alice_user.token, task, 0);  // not held by the lock: answered meanwhile
  ASSERT_TRUE(eventually([&] { return left == 0; }));
  EXPECT_EQ(reads.stats().queued, 12u);  // 10 of alice's and 2 of bob's sign-ins
  EXPECT_EQ(reads.stats().sign_in_calls, 0u);
  lock.commit();

  ASSERT_TRUE(eventually([&] { return signing == 0; }));
  auto stats = reads.stats();
  EXPECT_EQ(stats.sign_ins, 14u);
  EXPECT_EQ(stats.sign_in_calls, 4u);
  EXPECT_EQ(stats.reads, 1u);
  EXPECT_EQ(stats.calls, 1u);
  EXPECT_EQ(stats.queued, 0u);
  {
    std::lock_guard guard(mutex);
    EXPECT_EQ(answers.at(0).task, task);
    for (std::size_t s = 0; s < slot; ++s) {
      EXPECT_FALSE(refusals.at(s)) << "sign-in " << s;
      EXPECT_EQ(users.at(s), s <= 10 ? alice_user.id : bob_user.id) << "sign-in " << s;
    }
  }

  {
    pqxx::connection c(conninfo());
    api::revoke_token(c, alice_user.id, api::list_tokens(c, alice_user.id).at(0).id);
  }
  sign_in(alice_user.token, slot);
  sign_in("not a token", slot + 1);  // refused without a call
  ASSERT_TRUE(eventually([&] { return signing == 0; }));
  std::lock_guard guard(mutex);
  EXPECT_EQ(refusals.at(slot), ErrorCode::unauthorized);
  EXPECT_FALSE(users.at(slot));
  EXPECT_EQ(refusals.at(slot + 1), ErrorCode::unauthorized);
  EXPECT_EQ(reads.stats().sign_in_calls, 5u);
}

class SignInsTest : public TaskReadsTest {
 protected:
  // Every request below waits for its sign-in on a worker of its own, and /metrics needs one more.
  void configure(api::ApiServerOptions& options) override { options.worker_threads = 12; }
};

// Over HTTP: commands of one token that arrive while that token's sign-in call runs share the next
// one (the router signs in through TaskReads), and each gets its own answer.
TEST_F(SignInsTest, CommandsOfOneTokenWaitingTogetherShareOneSignIn) {
  const auto project = create_project(*alice);
  const auto calls_before = metric("tasklog_sign_in_calls_total");
  const auto sign_ins_before = metric("tasklog_sign_ins_total");

  pqxx::connection locker(conninfo());
  pqxx::work lock(locker);
  lock.exec0("LOCK TABLE auth.users IN ACCESS EXCLUSIVE MODE");
  constexpr int kRequests = 8;
  std::vector<std::future<HttpResult>> creates;
  creates.push_back(std::async(std::launch::async, [&] {
    return alice_user.client()->post("/v1/projects/" + project + "/tasks", R"({"title":"first"})");
  }));
  ASSERT_TRUE(eventually(
      [&] { return metric("tasklog_shared_calls_queued") == 0 && sign_ins_waiting_for_the_lock() == 1; }));
  for (int i = 1; i < kRequests; ++i)
    creates.push_back(std::async(std::launch::async, [&, i] {
      return alice_user.client()->post("/v1/projects/" + project + "/tasks",
                                       R"({"title":"task )" + std::to_string(i) + R"("})");
    }));
  ASSERT_TRUE(eventually([&] { return metric("tasklog_shared_calls_queued") == kRequests - 1; }));
  lock.commit();

  std::set<std::string> ids, titles;
  for (auto& create : creates) {
    const auto r = create.get();
    ASSERT_EQ(r.status, 201u) << r.body;
    ids.insert(str_at(r, "/data/id"));
    titles.insert(str_at(r, "/data/title"));
  }
  EXPECT_EQ(ids.size(), std::size_t(kRequests));
  EXPECT_EQ(titles.size(), std::size_t(kRequests));
  // The /metrics requests are unauthenticated: every sign-in counted here is a create's.
  EXPECT_EQ(metric("tasklog_sign_ins_total") - sign_ins_before, kRequests);
  EXPECT_EQ(metric("tasklog_sign_in_calls_total") - calls_before, 2);
}

class TaskReadsBusyWorkersTest : public RoutesTest {
 protected:
  void configure(api::ApiServerOptions& options) override {
    options.worker_threads = 2;
    options.extra_routes = [this](api::Router& router) {
      router.add(
          http::verb::get, "/test/block",
          [this](api::RequestContext& ctx) {
            auto connection = ctx.services.pool.acquire();  // as a list route's handler holds one
            ++blocked;
            release.wait();
            return api::json_response(http::status::ok, "{}");
          },
          {.authenticated = false});
    };
  }
  std::promise<void> released;  // before `release`, which is made from it
  std::shared_future<void> release{released.get_future().share()};
  std::atomic<int> blocked{0};
};

// With every worker held by a request that blocks holding a database connection, a GET of a task
// is still answered: its route never blocks and runs on the connection's I/O thread, and its call
// has a lane of its own with a connection of its own.
TEST_F(TaskReadsBusyWorkersTest, ATaskReadIsAnsweredWhileEveryWorkerIsBusy) {
  const auto project = create_project(*alice);
  const auto task = create_task(*alice, project);
  std::vector<std::future<HttpResult>> holders;
  for (int i = 0; i < 2; ++i)
    holders.push_back(std::async(std::launch::async, [this] { return anonymous_client()->get("/test/block"); }));
  ASSERT_TRUE(eventually([&] { return blocked == 2; }));
  auto read = std::async(std::launch::async, [&] { return alice->get("/v1/tasks/" + task); });
  const bool answered = read.wait_for(10s) == std::future_status::ready;
  released.set_value();
  ASSERT_TRUE(answered) << "the read waited for a worker";  // or a 503 below: no connection for its lane
  const auto r = read.get();
  EXPECT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(str_at(r, "/data/id"), task);
  for (auto& holder : holders) EXPECT_EQ(holder.get().status, 200u);
}

// never_blocks is for asynchronous routes whose router step needs no database.
TEST(RouterNeverBlocks, IsRefusedForSynchronousRoutesAndForRoutesTheRouterAuthenticates) {
  api::Router router;
  const api::AsyncHandler async = [](api::RequestContext&, api::Reply) {};
  EXPECT_THROW(router.add(http::verb::get, "/a", [](api::RequestContext&) { return api::Response{}; },
                          api::RouteOptions{.never_blocks = true}),
               std::invalid_argument);
  EXPECT_THROW(router.add(http::verb::get, "/b", async, api::RouteOptions{.never_blocks = true}), std::invalid_argument);
  EXPECT_NO_THROW(router.add(http::verb::get, "/c", async, api::RouteOptions{.checks_token_itself = true, .never_blocks = true}));
  EXPECT_NO_THROW(router.add(http::verb::get, "/d", async, api::RouteOptions{.authenticated = false, .never_blocks = true}));
  api::Request request{http::verb::get, "/c?x=1", 11};
  EXPECT_TRUE(router.never_blocks(request));
  request.method(http::verb::post);
  EXPECT_FALSE(router.never_blocks(request));
  request.method(http::verb::get);
  request.target("/nowhere");
  EXPECT_FALSE(router.never_blocks(request));
}

}  // namespace
}  // namespace tasklog::testing
