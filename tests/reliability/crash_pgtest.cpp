// Crash: 16 clients create, claim and complete tasks over HTTP while `tasklog serve` is killed with
// SIGKILL at a random moment, five times. After each restart on the same database, every command
// a client saw acknowledged (2xx with a position) has its event at that position, the log has no
// gap, and `tasklog verify` finds the hash chain intact and every read model equal to the fold —
// no event lacks its read-model change, no read-model change lacks its event.
//
// The random delays come from a seed printed at the start; TASKLOG_RELIABILITY_SEED=<seed> repeats
// a run's kill moments (the server's own timing still varies).
#include "tests/reliability/served_fixture.hpp"
#include "tests/support/eventually.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <iostream>
#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

namespace tasklog::testing {
namespace {

using namespace std::chrono_literals;

constexpr int kClients = 16;
constexpr int kRounds = 5;
constexpr int kMaxKillDelayMs = 1500;

// A command a client saw acknowledged: the event it must find at `position`.
struct Acknowledged {
  std::int64_t position = 0;
  std::string type;  // the event type the command's (last) event has
  std::string task;
};

// What all clients saw, across rounds.
class Ledger {
 public:
  void acknowledged(Acknowledged ack) {
    std::lock_guard lock(mutex_);
    acks_.push_back(std::move(ack));
  }
  void unexpected(std::string what) {
    std::lock_guard lock(mutex_);
    unexpected_.push_back(std::move(what));
  }
  std::vector<Acknowledged> acks() const {
    std::lock_guard lock(mutex_);
    return acks_;
  }
  std::vector<std::string> unexpected() const {
    std::lock_guard lock(mutex_);
    return unexpected_;
  }

  std::atomic<int> abandoned{0};  // a retried command refused: it had committed, its key had not
  std::atomic<int> replayed{0};   // a retried command answered from its stored Idempotency-Key

 private:
  mutable std::mutex mutex_;
  std::vector<Acknowledged> acks_;
  std::vector<std::string> unexpected_;
};

// One client: creates a task, claims it, completes it, and again. Its state survives the rounds,
// so a command left without an answer by the kill is retried on the restarted server with the same
// Idempotency-Key, as a client would.
class Agent {
 public:
  Agent(int index, std::string project) : name_("agent-" + std::to_string(index)), project_(std::move(project)) {}

  // Sends commands until one fails at the connection level (the server was killed).
  void run(boost::asio::ip::tcp::endpoint server, const std::string& token, const std::atomic<bool>& killed,
           Ledger& ledger) {
    HttpClient http(server, token);
    for (;;) {
      if (!pending_) pending_ = next_command();
      HttpResult r;
      try {
        r = http.post(pending_->target, pending_->body, {{"Idempotency-Key", pending_->key}});
      } catch (const std::exception& e) {
        // Unacknowledged: it may or may not have committed. Retried in the next round.
        pending_->unanswered = true;
        if (!killed) ledger.unexpected(name_ + ": connection failure while the server ran: " + e.what());
        return;
      }
      ++answered;
      const Command command = *std::exchange(pending_, std::nullopt);
      if (r.status / 100 == 2) {
        if (r.header("idempotent-replayed") == "true") ++ledger.replayed;
        ledger.acknowledged({int_at(r, "/position"), command.event_type, command.kind == Kind::create ? str_at(r, "/data/id") : task_});
        advance(command.kind, r);
      } else if (command.unanswered && r.status == 409) {
        // The documented crash window: the command committed, the process died before its
        // Idempotency-Key was stored, so the retry ran again and was refused (the task is held or
        // done already). The client has lost its lease token; it moves on to a new task.
        ++ledger.abandoned;
        std::cout << name_ << ": retried " << command.target << " refused after the crash window: " << r.body << "\n";
        stage_ = Kind::create;
      } else {
        ledger.unexpected(name_ + ": " + command.target + " answered " + std::to_string(r.status) + " " + r.body);
        stage_ = Kind::create;
      }
    }
  }

  std::atomic<int> answered{0};

 private:
  enum class Kind { create, claim, complete };
  struct Command {
    Kind kind;
    std::string target, body, key, event_type;
    bool unanswered = false;
  };

  Command next_command() {
    const std::string key = name_ + "-" + std::to_string(++sequence_);
    switch (stage_) {
      case Kind::create:
        return {Kind::create, "/v1/projects/" + project_ + "/tasks",
                R"({"title":")" + name_ + " task " + std::to_string(sequence_) + R"("})", key, "TaskCreated"};
      case Kind::claim:
        return {Kind::claim, "/v1/tasks/" + task_ + "/claim", R"({"agent":")" + name_ + R"(","lease_seconds":3600})",
                key, "TaskClaimed"};
      case Kind::complete:
        break;
    }
    return {Kind::complete, "/v1/tasks/" + task_ + "/complete",
            R"({"lease_token":")" + lease_token_ + R"(","summary":"done by )" + name_ + R"("})", key, "TaskCompleted"};
  }

  void advance(Kind done, const HttpResult& r) {
    switch (done) {
      case Kind::create:
        task_ = str_at(r, "/data/id");
        stage_ = Kind::claim;
        break;
      case Kind::claim:
        lease_token_ = str_at(r, "/lease/token");
        stage_ = Kind::complete;
        break;
      case Kind::complete:
        stage_ = Kind::create;
        break;
    }
  }

  std::string name_, project_;
  Kind stage_ = Kind::create;
  std::string task_, lease_token_;
  int sequence_ = 0;
  std::optional<Command> pending_;
};

std::uint64_t seed_for_this_run() {
  if (const char* text = std::getenv("TASKLOG_RELIABILITY_SEED"); text != nullptr && *text != '\0') {
    return std::stoull(text);
  }
  return std::random_device{}();
}

class CrashTest : public ServedTest {
 protected:
  // Every acknowledged command's event is where its answer said, the log is gapless, and the
  // acknowledged tasks are in the read models as their last acknowledged command left them.
  void expect_acknowledged_in_log(const Ledger& ledger) {
    pqxx::connection c{conninfo_};
    pqxx::work tx{c};
    std::map<std::int64_t, std::pair<std::string, std::string>> log;  // position -> type, task
    for (const auto& row : tx.exec("SELECT position, type, coalesce(task_id::text, '') FROM events ORDER BY position")) {
      log[row[0].as<std::int64_t>()] = {row[1].as<std::string>(), row[2].as<std::string>()};
    }
    std::map<std::string, std::string> status;  // task -> status in the read model
    for (const auto& row : tx.exec("SELECT id::text, status FROM readmodel.tasks")) {
      status[row[0].as<std::string>()] = row[1].as<std::string>();
    }
    ASSERT_FALSE(log.empty());
    EXPECT_EQ(log.begin()->first, 1);
    EXPECT_EQ(log.rbegin()->first, static_cast<std::int64_t>(log.size())) << "the log has a gap";

    int missing = 0;
    std::map<std::string, std::int64_t> last_ack_of_task;
    std::map<std::string, std::string> last_type_of_task;
    for (const auto& ack : ledger.acks()) {
      const auto found = log.find(ack.position);
      if (found == log.end() || found->second != std::pair(ack.type, ack.task)) {
        if (++missing <= 10) {
          ADD_FAILURE() << "acknowledged " << ack.type << " of task " << ack.task << " at position " << ack.position
                        << " is not in the log"
                        << (found == log.end() ? "" : " (found " + found->second.first + " of " + found->second.second + ")");
        }
      }
      if (ack.position > last_ack_of_task[ack.task]) {
        last_ack_of_task[ack.task] = ack.position;
        last_type_of_task[ack.task] = ack.type;
      }
    }
    EXPECT_EQ(missing, 0) << "acknowledged commands missing from the log";
    for (const auto& [task, type] : last_type_of_task) {
      ASSERT_TRUE(status.contains(task)) << "acknowledged task " << task << " is not in the read model";
      if (type == "TaskCompleted") {
        EXPECT_EQ(status[task], "done") << task;
      }
      // An unanswered complete after the acknowledged claim may have committed.
      if (type == "TaskClaimed") {
        EXPECT_TRUE(status[task] == "in_progress" || status[task] == "done") << task << ": " << status[task];
      }
    }
  }
};

TEST_F(CrashTest, SixteenClientsSurviveFiveSigkillsWithEveryAcknowledgedEventInAVerifiedLog) {
  const auto seed = seed_for_this_run();
  std::cout << "crash test seed " << seed << " (TASKLOG_RELIABILITY_SEED=" << seed << " repeats the kill moments)\n";
  RecordProperty("seed", std::to_string(seed));
  std::mt19937_64 random(seed);
  std::uniform_int_distribution<int> kill_delay_ms(0, kMaxKillDelayMs);

  serve_test_database();
  std::string project;
  {
    auto http = client();
    project = create_project(*http, "crash");
  }
  ASSERT_FALSE(project.empty());
  std::vector<std::unique_ptr<Agent>> agents;
  for (int i = 0; i < kClients; ++i) agents.push_back(std::make_unique<Agent>(i, project));
  Ledger ledger;

  for (int round = 1; round <= kRounds; ++round) {
    std::atomic<bool> killed{false};
    for (auto& agent : agents) agent->answered = 0;
    const auto acks_before = ledger.acks().size();
    std::vector<std::thread> clients;
    for (auto& agent : agents) {
      clients.emplace_back([&, a = agent.get()] { a->run(serve_->endpoint(), token_, killed, ledger); });
    }
    // Every client is under way (has had an answer on the new server), then a random moment later
    // the server dies with requests in flight.
    const bool all_under_way = eventually(
        [&] {
          for (const auto& agent : agents)
            if (agent->answered == 0) return false;
          return true;
        },
        120s);
    const int delay = kill_delay_ms(random);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    killed = true;
    const int status = serve_->stop(SIGKILL);
    for (auto& t : clients) t.join();
    ASSERT_TRUE(all_under_way) << "round " << round << ": not every client got an answer";
    EXPECT_EQ(status, 128 + SIGKILL);

    serve_->start();  // the same database; PostgreSQL kept running
    const auto acks = ledger.acks().size();
    std::cout << "round " << round << ": killed " << delay << " ms after all 16 clients were under way; "
              << acks - acks_before << " commands acknowledged (" << acks << " in all), log head " << head() << ", "
              << ledger.abandoned << " retries refused after the crash window, " << ledger.replayed << " replayed\n";
    ASSERT_GT(acks, acks_before) << "round " << round << " acknowledged nothing";
    expect_acknowledged_in_log(ledger);
    expect_verified();
    for (const auto& what : ledger.unexpected()) ADD_FAILURE() << what;
    if (HasFailure()) return;
  }

  // The restarted server still works: the unanswered commands of the last round are retried, and
  // one more acknowledged command lands after them.
  std::atomic<bool> killed{false};
  std::vector<std::thread> clients;
  for (auto& agent : agents) clients.emplace_back([&, a = agent.get()] { a->run(serve_->endpoint(), token_, killed, ledger); });
  ASSERT_TRUE(eventually([&] {
    for (const auto& agent : agents)
      if (agent->answered == 0) return false;
    return true;
  }));
  killed = true;
  EXPECT_EQ(serve_->stop(SIGTERM), 0);  // graceful this time: in-flight requests finish
  for (auto& t : clients) t.join();
  expect_acknowledged_in_log(ledger);
  expect_verified();
  for (const auto& what : ledger.unexpected()) ADD_FAILURE() << what;
}

}  // namespace
}  // namespace tasklog::testing
