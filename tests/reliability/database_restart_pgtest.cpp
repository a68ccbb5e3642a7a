// Database restart under load: writers post messages and WebSocket subscribers follow the project
// while the PostgreSQL under `tasklog serve` is stopped (fast shutdown: its sessions are rolled
// back) and started again. Meanwhile writers get 503 and the serve process stays up; afterwards
// every acknowledged write is in the log and in the read model, and every subscriber — resuming
// with after=<last position> whenever its connection ended — has the project's timeline exactly,
// without a gap or a duplicate.
//
// The PostgreSQL is a private cluster of this test in a temp dir: the shared test cluster is never
// stopped.
#include "events/embedded_postgres.hpp"
#include "events/migrator.hpp"
#include "tests/reliability/served_fixture.hpp"
#include "tests/reliability/subscriber.hpp"
#include "tests/support/eventually.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace tasklog::testing {
namespace {

using namespace std::chrono_literals;

constexpr int kWriters = 4;
constexpr int kSubscribers = 3;
constexpr int kAcknowledgedBeforeStop = 40;  // writes acknowledged before the database goes away
constexpr int kRefusalsPerWriter = 10;       // 503s each writer sees before the database comes back
constexpr int kAcknowledgedAfterStart = 40;  // writes acknowledged after it is back

// A message a writer saw acknowledged.
struct AcknowledgedMessage {
  std::int64_t position = 0;
  std::string message_id;
};

// Posts messages to one task, each with its own Idempotency-Key, retrying a message until it is
// acknowledged: a 503 is not remembered under its key, so the retry runs the command afresh.
class Writer {
 public:
  Writer(int index, std::string task) : index_(index), task_(std::move(task)) {}

  void run(boost::asio::ip::tcp::endpoint server, const std::string& token, const std::atomic<bool>& stop) {
    HttpClient http(server, token);
    http.set_timeout(60s);
    int sequence = 0;
    while (!stop) {
      const std::string key = "writer-" + std::to_string(index_) + "-" + std::to_string(sequence);
      const std::string body = R"({"role":"user","content":")" + key + R"("})";
      try {
        const auto r = http.post("/v1/tasks/" + task_ + "/messages", body, {{"Idempotency-Key", key}});
        if (r.status == 201) {
          std::lock_guard lock(mutex_);
          acknowledged_.push_back({int_at(r, "/position"), str_at(r, "/data/id")});
          ++sequence;
        } else if (r.status == 503) {
          ++unavailable;
          if (r.error_code() != "unavailable") unexpected("503 without the unavailable code: " + r.body);
          std::this_thread::sleep_for(50ms);  // Retry-After says 1 s; a busy client retries sooner
        } else {
          unexpected(std::to_string(r.status) + " " + r.body);
          ++sequence;
        }
      } catch (const std::exception& e) {
        // Tolerated (the client retries), but with the server up there should be none: counted and reported.
        ++connection_failures;
        std::lock_guard lock(mutex_);
        last_connection_failure_ = e.what();
        std::this_thread::sleep_for(50ms);
      }
    }
  }

  std::vector<AcknowledgedMessage> acknowledged() const {
    std::lock_guard lock(mutex_);
    return acknowledged_;
  }
  std::vector<std::string> problems() const {
    std::lock_guard lock(mutex_);
    return problems_;
  }
  std::string last_connection_failure() const {
    std::lock_guard lock(mutex_);
    return last_connection_failure_;
  }

  std::atomic<int> unavailable{0};
  std::atomic<int> connection_failures{0};

 private:
  void unexpected(std::string what) {
    std::lock_guard lock(mutex_);
    problems_.push_back("writer " + std::to_string(index_) + ": " + std::move(what));
  }

  int index_;
  std::string task_;
  mutable std::mutex mutex_;
  std::vector<AcknowledgedMessage> acknowledged_;
  std::vector<std::string> problems_;  // answers other than 201 and 503
  std::string last_connection_failure_;
};

class DatabaseRestartTest : public ServedTest {
 protected:
  void SetUp() override {
    pg_options_.home = dir_.path() / "postgres";
    pg_options_.settings = {"fsync=off"};
    events::EmbeddedPostgres(pg_options_).start();
    events::Migrator(events::EmbeddedPostgres(pg_options_).conninfo()).migrate(events::embedded_migrations());
  }
  void TearDown() override {
    ServedTest::TearDown();  // tasklog first, then its database
    try {
      events::EmbeddedPostgres(pg_options_).stop();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "could not stop the test's PostgreSQL: " << e.what();
    }
  }

  std::size_t acknowledged(const std::vector<std::unique_ptr<Writer>>& writers) const {
    std::size_t n = 0;
    for (const auto& w : writers) n += w->acknowledged().size();
    return n;
  }

  events::EmbeddedPostgresOptions pg_options_;
};

TEST_F(DatabaseRestartTest, WritersGet503SubscribersResumeAndNothingAcknowledgedIsLost) {
  serve(events::EmbeddedPostgres(pg_options_).conninfo());
  const pid_t serve_pid = serve_->pid();
  auto http = client();
  const auto project = create_project(*http, "restart");
  std::vector<std::string> tasks;
  for (int i = 0; i < kWriters; ++i) tasks.push_back(create_task(*http, project, "writer " + std::to_string(i)));

  std::vector<std::unique_ptr<Subscriber>> subscribers;
  for (int i = 0; i < kSubscribers; ++i) {
    subscribers.push_back(std::make_unique<Subscriber>([this] { return serve_->endpoint(); }, token_, project));
  }
  ASSERT_TRUE(eventually([&] {
    for (const auto& s : subscribers)
      if (!s->live()) return false;
    return true;
  })) << "the subscribers did not catch up";

  std::atomic<bool> stop_writing{false};
  std::vector<std::unique_ptr<Writer>> writers;
  std::vector<std::thread> writer_threads;
  for (int i = 0; i < kWriters; ++i) {
    writers.push_back(std::make_unique<Writer>(i, tasks[i]));
    writer_threads.emplace_back([&, w = writers.back().get()] { w->run(serve_->endpoint(), token_, stop_writing); });
  }
  struct JoinAtExit {
    std::atomic<bool>& stop;
    std::vector<std::thread>& threads;
    ~JoinAtExit() {
      stop = true;
      for (auto& t : threads)
        if (t.joinable()) t.join();
    }
  } join_at_exit{stop_writing, writer_threads};

  ASSERT_TRUE(eventually([&] { return acknowledged(writers) >= kAcknowledgedBeforeStop; }, 60s));
  // Every writer has been refused a number of times (the outage lasts a while, under load).
  const auto outage_seen = [&] {
    for (const auto& w : writers)
      if (w->unavailable + w->connection_failures < kRefusalsPerWriter) return false;
    return true;
  };

  events::EmbeddedPostgres(pg_options_).stop();  // fast shutdown, under load
  const auto acknowledged_at_stop = acknowledged(writers);
  ASSERT_TRUE(eventually(outage_seen, 60s)) << "writes were not refused";
  EXPECT_TRUE(serve_->running()) << "tasklog serve exited while its database was down";
  {
    HttpClient probe(serve_->endpoint());
    EXPECT_EQ(probe.get("/healthz").status, 200u);  // the process is fine
    const auto ready = probe.get("/readyz");
    EXPECT_EQ(ready.status, 503u) << ready.body;  // and says its database is not
  }
  const auto acknowledged_while_down = acknowledged(writers) - acknowledged_at_stop;

  events::EmbeddedPostgres(pg_options_).start();
  ASSERT_TRUE(eventually([&] { return acknowledged(writers) >= acknowledged_at_stop + kAcknowledgedAfterStart; }, 120s))
      << "writes did not resume after the database came back";
  stop_writing = true;
  for (auto& t : writer_threads) t.join();

  // Every subscriber follows to the end: one more message after the last acknowledged write, until
  // each has received it (a subscriber already at the head would otherwise wait for a heartbeat).
  const std::int64_t last_write = head();
  for (auto& s : subscribers) s->finish_at(last_write + 1);
  ASSERT_TRUE(eventually(
      [&] {
        const auto r = http->post("/v1/tasks/" + tasks[0] + "/messages", R"({"role":"system","content":"end"})");
        if (r.status != 201) return false;
        for (const auto& s : subscribers)
          if (!s->finished()) return false;
        return true;
      },
      60s, 200ms))
      << "the subscribers did not reach the head";
  for (auto& s : subscribers) s->join();

  EXPECT_EQ(serve_->pid(), serve_pid);
  EXPECT_TRUE(serve_->running());

  // Every acknowledged write: its event where the answer said, and its message in the read model.
  pqxx::connection c{conninfo_};
  pqxx::work tx{c};
  std::map<std::int64_t, std::string> message_at;  // position -> message id of TaskMessageAppended
  for (const auto& row :
       tx.exec("SELECT position, payload->>'message_id' FROM events WHERE type = 'TaskMessageAppended'")) {
    message_at[row[0].as<std::int64_t>()] = row[1].as<std::string>();
  }
  std::set<std::string> messages;
  for (const auto& row : tx.exec("SELECT id::text FROM readmodel.task_messages")) messages.insert(row[0].as<std::string>());
  std::size_t all_acknowledged = 0;
  for (const auto& w : writers) {
    for (const auto& ack : w->acknowledged()) {
      ++all_acknowledged;
      EXPECT_EQ(message_at[ack.position], ack.message_id) << "acknowledged write at " << ack.position << " is not in the log";
      EXPECT_TRUE(messages.contains(ack.message_id)) << "acknowledged message " << ack.message_id << " has no read-model row";
    }
    for (const auto& problem : w->problems()) ADD_FAILURE() << problem;
    if (w->connection_failures > 0) std::cout << "last connection failure: " << w->last_connection_failure() << "\n";
  }

  // Each subscriber's timeline, across its reconnections, is the project's log: in order, each
  // event once, nothing missing up to where it stopped.
  std::vector<std::int64_t> timeline;
  for (const auto& row : tx.exec_params("SELECT position FROM events WHERE project_id = $1 ORDER BY position", project)) {
    timeline.push_back(row[0].as<std::int64_t>());
  }
  for (std::size_t i = 0; i < subscribers.size(); ++i) {
    const auto got = subscribers[i]->positions();
    ASSERT_FALSE(got.empty());
    EXPECT_GE(got.back(), last_write);
    const auto end = std::upper_bound(timeline.begin(), timeline.end(), got.back());
    EXPECT_EQ(got, std::vector<std::int64_t>(timeline.begin(), end)) << "subscriber " << i << " has a gap or a duplicate";
    std::cout << "subscriber " << i << ": " << got.size() << " events over " << subscribers[i]->connections()
              << " connections";
    for (const auto& n : subscribers[i]->notes()) std::cout << "; " << n;
    std::cout << "\n";
  }

  int unavailable = 0, connection_failures = 0;
  for (const auto& w : writers) {
    unavailable += w->unavailable;
    connection_failures += w->connection_failures;
  }
  std::cout << all_acknowledged << " writes acknowledged (" << acknowledged_at_stop << " before the stop, "
            << acknowledged_while_down << " while stopping), " << unavailable << " answered 503, " << connection_failures
            << " connection failures\n";
  EXPECT_GE(unavailable, 1) << "no writer was told 503";
  tx.commit();
  expect_verified();
  EXPECT_EQ(serve_->stop(SIGTERM), 0);
}

}  // namespace
}  // namespace tasklog::testing
