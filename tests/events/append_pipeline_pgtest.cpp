// The writer's pipeline (events/append_pipeline.hpp): flights behind flights, and what happens when
// one of them fails — it must never leave a gap behind it, and every command of it and of the
// flights behind it must still be answered exactly once.
#include "events/append_pipeline.hpp"
#include "events/canonical.hpp"
#include "events/chain.hpp"
#include "events/database.hpp"
#include "events/event_json.hpp"
#include "tests/events/event_log_fixture.hpp"

#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <chrono>
#include <future>
#include <thread>

namespace tasklog::events::testing {
namespace {

using namespace std::chrono_literals;

// Events chained after (position, hash), as the writer stages them, recorded at `at` (time never
// goes back along a log that verifies: after the writer's own events, the head's time).
std::vector<RecordedEvent> chained(Position after, Sha256Digest hash, std::size_t n, const Uuid& project,
                                   Timestamp at = Timestamp(std::chrono::microseconds(1'700'000'000'000'000))) {
  std::vector<RecordedEvent> out;
  const Uuid stream = random_id();
  for (std::size_t i = 0; i < n; ++i) {
    RecordedEvent e;
    e.position = after + 1 + static_cast<Position>(i);
    e.event_id = random_id();
    e.stream_id = stream;
    e.stream_type = "task";
    e.version = static_cast<std::int64_t>(i) + 1;
    e.project_id = project;
    e.actor_id = project;
    e.type = "Noted";
    e.payload = R"({"n":1})";
    e.metadata = R"({"source":"test"})";
    e.recorded_at = at;
    e.prev_hash = hash;
    e.hash = chain_hash(hash, e);
    hash = e.hash;
    out.push_back(std::move(e));
  }
  return out;
}

FlightSql flight_of(const std::vector<RecordedEvent>& events) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartArray();
  for (const auto& e : events) write_event_json(w, e);
  w.EndArray();
  return FlightSql{.rows_json = std::string(buf.GetString(), buf.GetSize()),
                   .rows = events.size(),
                   .after_position = events.front().position - 1,
                   .after_hash = events.front().prev_hash,
                   .last_position = events.back().position};
}

std::vector<Position> positions(const std::string& conninfo) {
  pqxx::connection c(conninfo);
  pqxx::read_transaction tx(c);
  std::vector<Position> out;
  for (const auto& row : tx.exec("SELECT position FROM events ORDER BY position")) out.push_back(row[0].as<Position>());
  return out;
}

template <class Predicate>
bool eventually(Predicate done, std::chrono::milliseconds limit = 30s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

// ---- the pipeline connection itself ----

TEST_F(EventLogTest, AFlightInsertsNothingUnlessTheEventItFollowsIsInTheLog) {
  AppendPipeline pipeline(db.conninfo(), "tasklog_app");
  const auto first = chained(0, Sha256Digest{}, 3, project);
  pipeline.send(flight_of(first));
  EXPECT_EQ(pipeline.receive().status, FlightResult::Status::committed);

  // Following a position that is not in the log (a flight before it that never committed).
  const auto orphan = chained(7, first.back().hash, 2, project);
  pipeline.send(flight_of(orphan));
  const auto refused = pipeline.receive();
  EXPECT_EQ(refused.status, FlightResult::Status::failed);
  EXPECT_NE(refused.message.find("not in the log"), std::string::npos) << refused.message;

  // Following the right position with the wrong hash.
  auto forged = chained(3, Sha256Digest{}, 1, project);
  pipeline.send(flight_of(forged));
  EXPECT_EQ(pipeline.receive().status, FlightResult::Status::failed);

  EXPECT_TRUE(pipeline.recover());
  EXPECT_EQ(positions(db.conninfo()), (std::vector<Position>{1, 2, 3}));
  expect_chain_verifies(db.conninfo(), 3);
}

TEST_F(EventLogTest, AFailedFlightFailsEveryFlightBehindItUntilRecovered) {
  AppendPipeline pipeline(db.conninfo(), "tasklog_app");
  const auto first = chained(0, Sha256Digest{}, 2, project);
  pipeline.send(flight_of(first));
  ASSERT_EQ(pipeline.receive().status, FlightResult::Status::committed);

  // Three flights in the air at once; the first collides with a stored position, so the two
  // behind it — whose own rows would insert fine — must not commit either.
  auto colliding = chained(1, first.front().hash, 2, project);  // positions 2 and 3: 2 is taken
  const auto second = chained(3, colliding.back().hash, 2, project);
  const auto third = chained(5, second.back().hash, 1, project);
  pipeline.send(flight_of(colliding));
  pipeline.send(flight_of(second));
  pipeline.send(flight_of(third));
  EXPECT_EQ(pipeline.in_flight(), 3u);
  const auto a = pipeline.receive();
  EXPECT_EQ(a.status, FlightResult::Status::failed);
  EXPECT_EQ(a.sqlstate, "23505");
  EXPECT_EQ(a.constraint, "events_pkey");
  EXPECT_EQ(pipeline.receive().status, FlightResult::Status::failed);
  EXPECT_EQ(pipeline.receive().status, FlightResult::Status::failed);
  EXPECT_EQ(positions(db.conninfo()), (std::vector<Position>{1, 2}));

  ASSERT_TRUE(pipeline.recover());
  const auto after = chained(2, first.back().hash, 2, project);
  pipeline.send(flight_of(after));
  EXPECT_EQ(pipeline.receive().status, FlightResult::Status::committed);
  EXPECT_EQ(positions(db.conninfo()), (std::vector<Position>{1, 2, 3, 4}));
  expect_chain_verifies(db.conninfo(), 4);
}

// ---- through the EventStore ----

class PipelineTest : public EventLogTest {
 protected:
  void SetUp() override {
    // Always two flights when there is room (no measuring), so the tests decide what is in the air.
    store = std::make_unique<EventStore>(
        EventStoreOptions{.conninfo = db.conninfo(), .pipeline_depth = 2, .pipeline_adapts = false});
    locker = std::make_unique<pqxx::connection>(db.conninfo());
  }

  // Holds the append lock: flights wait at their lock statement, in the air.
  void hold_append_lock() { pqxx::nontransaction(*locker).exec(fmt::format("SELECT pg_advisory_lock({})", kAppendLockKey)); }
  void release_append_lock() {
    pqxx::nontransaction(*locker).exec(fmt::format("SELECT pg_advisory_unlock({})", kAppendLockKey));
  }

  std::future<AppendOutcome> append_async(const Uuid& stream) {
    auto done = std::make_shared<std::promise<AppendOutcome>>();
    auto f = done->get_future();
    store->async_append({one_event(stream, project)}, [done](AppendOutcome o) { done->set_value(std::move(o)); });
    return f;
  }

  // Two flights in the air, both waiting for the append lock.
  std::vector<std::future<AppendOutcome>> two_flights_waiting(const Uuid& stream) {
    std::vector<std::future<AppendOutcome>> answers;
    answers.push_back(append_async(stream));
    EXPECT_TRUE(eventually([&] { return store->stats().flights_in_air == 1; }));
    answers.push_back(append_async(stream));
    answers.push_back(append_async(stream));
    EXPECT_TRUE(eventually([&] { return store->stats().flights_in_air == 2; }));
    return answers;
  }

  std::unique_ptr<pqxx::connection> locker;
};

TEST_F(PipelineTest, FlightsBehindOneThatCollidesWithAnotherWriterRunAgainAfterIt) {
  const Uuid stream = random_id();
  store->append({one_event(stream, project)});  // the writer now remembers the stream: flights
  store->append({one_event(stream, project)});
  ASSERT_EQ(store->stats().flights, 1u);

  hold_append_lock();
  auto answers = two_flights_waiting(stream);
  // Another writer appends position 3 while the flights wait (it holds the lock we hold).
  {
    pqxx::nontransaction tx(*locker);
    const auto head = tx.exec1(
        "SELECT position, encode(hash, 'hex'), (extract(epoch FROM recorded_at) * 1000000)::bigint FROM events "
        "ORDER BY position DESC LIMIT 1");
    const auto intruder = chained(head[0].as<Position>(), *digest_from_hex(head[1].c_str()), 1, project,
                                  Timestamp(std::chrono::microseconds(head[2].as<std::int64_t>())));
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.StartArray();
    write_event_json(w, intruder.front());
    w.EndArray();
    tx.exec(insert_events_sql(tx, std::string_view(buf.GetString(), buf.GetSize())));
  }
  release_append_lock();

  std::vector<Position> got;
  for (auto& answer : answers) {
    auto outcome = answer.get();
    ASSERT_FALSE(outcome.error);
    ASSERT_EQ(outcome.result->events.size(), 1u);
    got.push_back(outcome.result->events.front().position);
  }
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<Position>{4, 5, 6}));  // after the intruder, each exactly once
  EXPECT_GE(store->stats().flights_failed, 2u);       // the colliding flight and the one behind it

  // The pipeline recovered: the next appends fly again.
  const auto flights = store->stats().flights;
  store->append({one_event(stream, project)});
  store->append({one_event(stream, project)});
  EXPECT_GT(store->stats().flights, flights);
  EXPECT_EQ(positions(db.conninfo()), (std::vector<Position>{1, 2, 3, 4, 5, 6, 7, 8}));
  expect_chain_verifies(db.conninfo(), 8);
}

TEST_F(PipelineTest, FlightsWhoseConnectionIsKilledRunAgainExactlyOnce) {
  const Uuid stream = random_id();
  store->append({one_event(stream, project)});
  store->append({one_event(stream, project)});

  hold_append_lock();
  auto answers = two_flights_waiting(stream);
  {
    pqxx::nontransaction tx(*locker);
    const auto killed = tx.exec(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'");
    ASSERT_EQ(killed.size(), 1u);  // the pipeline's connection, waiting at its first flight's lock
  }
  release_append_lock();

  std::vector<Position> got;
  for (auto& answer : answers) {
    auto outcome = answer.get();
    ASSERT_FALSE(outcome.error) << "a command of a lost flight was not answered";
    got.push_back(outcome.result->events.front().position);
  }
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<Position>{3, 4, 5}));
  EXPECT_EQ(positions(db.conninfo()), (std::vector<Position>{1, 2, 3, 4, 5}));
  expect_chain_verifies(db.conninfo(), 5);

  store->append({one_event(stream, project)});  // a new pipeline connection carries flights again
  EXPECT_EQ(positions(db.conninfo()).size(), 6u);
}

// The pipeline's connection dies while nothing is in the air (an idle backend terminated): the
// next appends still succeed, and flights resume on a new connection rather than every batch
// going the serial way from then on.
TEST_F(PipelineTest, APipelineConnectionLostWhileIdleIsReplaced) {
  const Uuid stream = random_id();
  store->append({one_event(stream, project)});
  store->append({one_event(stream, project)});
  ASSERT_EQ(store->stats().flights, 1u);
  {
    pqxx::nontransaction tx(*locker);
    // Every idle session of the writer's role but ours: the pipeline's (and the serial one's).
    tx.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
            "AND datname = current_database() AND state = 'idle'");
  }
  for (int i = 0; i < 5; ++i) {
    const auto r = store->append({one_event(stream, project)});
    EXPECT_EQ(r.events.at(0).version, 3 + i);
  }
  const auto flights = store->stats().flights;
  for (int i = 0; i < 5; ++i) store->append({one_event(stream, project)});
  EXPECT_GE(store->stats().flights, flights + 4) << "flights did not resume";
  EXPECT_EQ(positions(db.conninfo()).size(), 12u);
  expect_chain_verifies(db.conninfo(), 12);
}

TEST_F(PipelineTest, ExpectedVersionsHoldAcrossFlightsInTheAir) {
  // Each of 8 threads appends to its own stream with an exact expected version; flights carry
  // them back to back. A version the pipeline cannot confirm from memory goes the serial way and
  // gets its conflict from the log itself.
  constexpr int kThreads = 8, kPerThread = 200;
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t)
    writers.emplace_back([&] {
      const Uuid stream = random_id();
      for (int i = 0; i < kPerThread; ++i) {
        try {
          store->append({one_event(stream, project, ExpectedVersion::exact(i))});
        } catch (const std::exception&) {
          ++failures;
        }
      }
      // A stale expectation is refused with the stream's real version, and appends nothing.
      try {
        store->append({one_event(stream, project, ExpectedVersion::exact(kPerThread - 1))});
        ++failures;
      } catch (const VersionConflict& e) {
        if (e.current_version() != kPerThread) ++failures;
      }
    });
  for (auto& w : writers) w.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(store->stats().flights, 0u);
  const auto all = positions(db.conninfo());
  ASSERT_EQ(all.size(), static_cast<std::size_t>(kThreads * kPerThread));
  for (std::size_t i = 0; i < all.size(); ++i) ASSERT_EQ(all[i], static_cast<Position>(i + 1));
  expect_chain_verifies(db.conninfo(), kThreads * kPerThread);
}

}  // namespace
}  // namespace tasklog::events::testing
