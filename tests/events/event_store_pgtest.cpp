// EventStore against a real PostgreSQL: expected versions, idempotency, immutability, reads,
// batching isolation, and wake-ups.
#include "events/chain.hpp"
#include "events/canonical.hpp"
#include "events/event_reader.hpp"
#include "events/subscription.hpp"
#include "tests/events/event_log_fixture.hpp"
#include "tests/support/test_cluster.hpp"

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <future>
#include <gmock/gmock.h>
#include <thread>

namespace tasklog::events::testing {
namespace {

using ::testing::HasSubstr;

TEST_F(EventLogTest, AppendAssignsPositionsVersionsAndChain) {
  const Uuid s = random_id();
  StreamAppend two{s, "task", ExpectedVersion::no_stream(), {make_event(project), make_event(project)}};
  auto r = store->append({two});
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.events[0].position, 1);
  EXPECT_EQ(r.events[1].position, 2);
  EXPECT_EQ(r.events[0].version, 1);
  EXPECT_EQ(r.events[1].version, 2);
  EXPECT_EQ(r.events[0].prev_hash, Sha256Digest{});
  EXPECT_EQ(r.events[1].prev_hash, r.events[0].hash);
  EXPECT_FALSE(r.replayed);
  pqxx::connection c(db.conninfo());
  pqxx::read_transaction tx(c);
  EXPECT_TRUE(verify_chain(tx).ok);
}

// The inline projector sees every committed event, however the store sends a batch. Fixed
// appends to streams the writer remembers go out as flights on its pipeline connection, which
// carry the events' INSERT and nothing else — so a store with a projector must not fly them, or
// their read-model writes would be skipped and the read models would miss events of the log.
TEST_F(EventLogTest, TheProjectorSeesEveryEventWhenFixedAppendsFollowEachOther) {
  {
    pqxx::connection c(db.conninfo());
    pqxx::nontransaction tx(c);
    tx.exec("CREATE TABLE projected (position bigint PRIMARY KEY); GRANT INSERT ON projected TO tasklog_app");
  }
  store.reset();
  store = std::make_unique<EventStore>(EventStoreOptions{
      .conninfo = db.conninfo(),
      .projector = [](pqxx::transaction_base&, const std::vector<RecordedEvent>& events, std::string& sql) {
        for (const auto& e : events) sql += "INSERT INTO projected VALUES (" + std::to_string(e.position) + ");\n";
      }});
  const Uuid s = random_id();
  constexpr int kSequential = 20;
  for (int i = 0; i < kSequential; ++i) store->append({one_event(s, project)});  // the first makes s known
  // And concurrently, so that batches of several commands follow each other while one is in the air.
  constexpr int kThreads = 4, kEach = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) store->append({one_event(s, project)});
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(store->stats().flights, 0u) << "a flight carries no read-model writes";
  store.reset();
  pqxx::connection c(db.conninfo());
  pqxx::read_transaction tx(c);
  const auto missing = tx.exec("SELECT count(*) FROM events e WHERE NOT EXISTS (SELECT 1 FROM projected p WHERE p.position = e.position)");
  EXPECT_EQ(missing[0][0].as<long long>(), 0);
  EXPECT_EQ(tx.exec("SELECT count(*) FROM projected")[0][0].as<long long>(), kSequential + kThreads * kEach);
}

// The set-up of the tests that break the writer's connection while COMMIT is on its way: a store
// whose batches sleep 1.5 s in their last message (before the NOTIFY and COMMIT the store sends
// after the projector's SQL), one command on it whose decider notes its connection's socket, and a
// wait until its backend sleeps there. The command's state lives in the fixture, so a test that
// stops early does not leave the writer with references into a finished test's frame.
class CommitBreakTest : public EventLogTest {
 protected:
  void start_sleepy_command() {
    store.reset();
    store = std::make_unique<EventStore>(EventStoreOptions{
        .conninfo = db.conninfo(),
        .projector = [](pqxx::transaction_base&, const std::vector<RecordedEvent>&, std::string& sql) {
          sql += "SELECT pg_sleep(1.5);\n";
        }});
    store->async_execute(
        [this, s = random_id()](AppendContext& append) {
          if (decided.fetch_add(1) == 0) socket = append.tx().conn().sock();
          StreamAppend a{s, "task", ExpectedVersion::any(), {make_event(project, "Decided", R"({"marker":"once"})")}};
          return std::vector<StreamAppend>{a};  // a fresh event id on every run, like the engine's deciders
        },
        [this](AppendOutcome o) { outcome.set_value(std::move(o)); });
    answered = outcome.get_future();
  }

  // True once the command's backend sleeps inside the batch's last message. Only this test's
  // database is looked at: the cluster is shared with the tests ctest runs beside this one (the
  // other test of this fixture sleeps in the same place).
  bool sleeping_in_commit() {
    pqxx::connection watch(tasklog::testing::cluster_admin_conninfo());
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    for (;;) {
      pqxx::nontransaction tx(watch);
      if (!tx.exec("SELECT 1 FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND datname = " + tx.quote(db.name()))
               .empty())
        return socket.load() >= 0;
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  // The command answered, and its event in the log exactly once, in a chain that verifies.
  void expect_appended_once(const std::string& why) {
    ASSERT_EQ(answered.wait_for(std::chrono::seconds(60)), std::future_status::ready);
    const AppendOutcome o = answered.get();
    ASSERT_TRUE(o.result) << why;
    EXPECT_GE(decided.load(), 1);
    store.reset();
    pqxx::connection c(db.conninfo());
    pqxx::read_transaction tx(c);
    EXPECT_EQ(tx.exec("SELECT count(*) FROM events WHERE type = 'Decided'")[0][0].as<long long>(), 1)
        << "the decision is in the log exactly once";
    expect_chain_verifies(db.conninfo(), tx.exec("SELECT max(position) FROM events")[0][0].as<Position>());
  }

  // (EventLogTest::TearDown stops the store before these members, which its writer refers to, go.)
  std::atomic<int> socket{-1};
  std::atomic<int> decided{0};
  std::promise<AppendOutcome> outcome;
  std::future<AppendOutcome> answered;
};

// The connection breaks on the writer's side only while the server still runs the batch's last
// message (its COMMIT not reached yet). The in-doubt check must not look before that transaction
// has ended: found "not committed" while it is about to commit, the batch would run again and its
// decider — new event ids, as the engine's are — would append a second time. The test shuts the
// writer's socket down while its backend sleeps before COMMIT: the server does not notice.
TEST_F(CommitBreakTest, ABatchWhoseConnectionBreaksBeforeItsCommitLandsIsAppendedOnce) {
  start_sleepy_command();
  ASSERT_TRUE(sleeping_in_commit()) << "the batch never reached its last message";
  ASSERT_EQ(::shutdown(socket.load(), SHUT_RDWR), 0);
  expect_appended_once("the retry (or the check) answers the caller");
}

// The same break while the database takes no new connections for a while (a restart, a network
// blip): the outcome cannot be looked up at once, and the store keeps asking instead of answering
// "unknown" — a caller retrying an engine command would decide again, with new event ids, and a
// commit that did land would be applied twice.
TEST_F(CommitBreakTest, AnInDoubtCommitIsResolvedOnceTheDatabaseTakesConnectionsAgain) {
  start_sleepy_command();
  ASSERT_TRUE(sleeping_in_commit()) << "the batch never reached its last message";
  // Sessions already open go on; new ones are refused — the check's first attempts among them.
  pqxx::connection admin(tasklog::testing::cluster_admin_conninfo());
  const auto allow = [&](bool yes) {
    pqxx::nontransaction(admin).exec("ALTER DATABASE " + admin.quote_name(db.name()) + " ALLOW_CONNECTIONS " +
                                     (yes ? "true" : "false"));
  };
  allow(false);
  ASSERT_EQ(::shutdown(socket.load(), SHUT_RDWR), 0);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  allow(true);
  expect_appended_once("the check, asked again once connections are taken, answers the caller");
}

// A callback may call the store: the one a stopping store answers at once runs on the caller's
// thread outside the store's lock, and one that stops the store from the writer thread only asks
// it to stop — the destructor joins the writer (joining from the writer itself used to throw, and
// the destructor then left the thread unjoined: std::terminate).
TEST_F(EventLogTest, CallbacksMayCallTheStoreAndStopItFromTheWriterThread) {
  std::promise<void> stopped_from_callback;
  store->async_append({one_event(random_id(), project)}, [&](AppendOutcome o) {
    EXPECT_TRUE(o.result);
    store->stop();  // on the writer thread
    stopped_from_callback.set_value();
  });
  stopped_from_callback.get_future().wait();
  // Stopping: a new command is refused at once, and its callback may ask the store for its stats.
  bool answered = false;
  store->async_append({one_event(random_id(), project)}, [&](AppendOutcome o) {
    EXPECT_FALSE(o.result);
    EXPECT_EQ(store->stats().commands, 1u);  // took the store's lock: it must not be held here
    answered = true;
  });
  EXPECT_TRUE(answered);
  store.reset();  // joins the writer
  EXPECT_EQ(count_events(), 1);
}

// A command refused by one of its streams leaves nothing behind, not even the version it assumed
// for a stream it expected new without reading it: a later command of the same batch must see the
// stream's real version.
TEST_F(EventLogTest, ARefusedCommandLeavesNoAssumedVersionForTheRestOfItsBatch) {
  const Uuid existing = random_id(), missing = random_id();
  {
    // Written by another store, so that this one's memory of the log does not know the stream.
    EventStore other(EventStoreOptions{.conninfo = db.conninfo()});
    other.append({StreamAppend{existing, "task", ExpectedVersion::no_stream(), {make_event(project), make_event(project)}}});
  }
  // Hold the writer in a first command while the two under test queue up behind it: they are
  // decided in one batch, in order.
  std::promise<void> holding, release;
  auto released = release.get_future().share();
  std::promise<AppendOutcome> first, refused, after;
  store->async_execute(
      [&](AppendContext&) {
        holding.set_value();
        released.wait();
        return std::vector<StreamAppend>{one_event(random_id(), project)};
      },
      [&](AppendOutcome o) { first.set_value(std::move(o)); });
  holding.get_future().wait();
  store->async_execute(
      [&](AppendContext&) {
        // `existing` expected new (not read: assumed), then a stream at a version it is not at.
        return std::vector<StreamAppend>{
            StreamAppend{existing, "task", ExpectedVersion::no_stream(), {make_event(project)}},
            StreamAppend{missing, "task", ExpectedVersion::exact(3), {make_event(project)}}};
      },
      [&](AppendOutcome o) { refused.set_value(std::move(o)); });
  store->async_execute(
      [&](AppendContext&) {
        return std::vector<StreamAppend>{StreamAppend{existing, "task", ExpectedVersion::exact(2), {make_event(project)}}};
      },
      [&](AppendOutcome o) { after.set_value(std::move(o)); });
  release.set_value();
  EXPECT_TRUE(first.get_future().get().result);
  const AppendOutcome r = refused.get_future().get();
  EXPECT_FALSE(r.result);
  EXPECT_THROW(std::rethrow_exception(r.error), VersionConflict);
  const AppendOutcome a = after.get_future().get();
  ASSERT_TRUE(a.result) << "refused against an assumed version 0";
  EXPECT_EQ(a.result->events.at(0).version, 3);
}

TEST_F(EventLogTest, ExpectedVersionAnyNoStreamAndExact) {
  const Uuid s = random_id();
  store->append({one_event(s, project, ExpectedVersion::no_stream())});
  store->append({one_event(s, project, ExpectedVersion::any())});
  auto r = store->append({one_event(s, project, ExpectedVersion::exact(2))});
  EXPECT_EQ(r.events[0].version, 3);
}

TEST_F(EventLogTest, VersionConflictCarriesTheCurrentVersionAndAppendsNothing) {
  const Uuid s = random_id();
  store->append({one_event(s, project)});
  store->append({one_event(s, project)});
  const auto before = count_events();
  try {
    store->append({one_event(s, project, ExpectedVersion::exact(1))});
    FAIL() << "expected a conflict";
  } catch (const VersionConflict& e) {
    EXPECT_EQ(e.code(), ErrorCode::version_conflict);
    EXPECT_EQ(e.current_version(), 2);
    EXPECT_EQ(e.stream_id(), s);
    EXPECT_THAT(e.details_json(), HasSubstr(R"("current_version":2)"));
  }
  EXPECT_THROW(store->append({one_event(s, project, ExpectedVersion::no_stream())}), VersionConflict);
  EXPECT_THROW(store->append({one_event(random_id(), project, ExpectedVersion::exact(1))}), VersionConflict);
  EXPECT_EQ(count_events(), before);
}

TEST_F(EventLogTest, CommandIsAllOrNothingAcrossStreams) {
  const Uuid a = random_id(), b = random_id();
  store->append({one_event(b, project)});
  EXPECT_THROW(store->append({one_event(a, project, ExpectedVersion::no_stream()),
                              one_event(b, project, ExpectedVersion::no_stream())}),
               VersionConflict);
  EXPECT_EQ(count_events(), 1);
}

TEST_F(EventLogTest, RetryWithTheSameEventIdReturnsTheOriginalAndStoresNothing) {
  const Uuid s = random_id();
  auto cmd = one_event(s, project, ExpectedVersion::no_stream());
  auto first = store->append({cmd});
  store->append({one_event(random_id(), project)});
  // Even though the expected version would now conflict, a retry is recognised by its event id.
  auto again = store->append({cmd});
  EXPECT_TRUE(again.replayed);
  ASSERT_EQ(again.events.size(), 1u);
  EXPECT_EQ(again.events[0].position, first.events[0].position);
  EXPECT_EQ(again.events[0].hash, first.events[0].hash);
  EXPECT_EQ(count_events(), 2);
}

TEST_F(EventLogTest, RetryWithReformattedButEqualJsonIsStillTheSameEvent) {
  auto cmd = one_event(random_id(), project, ExpectedVersion::any(), R"({"b":2,"a":1})");
  store->append({cmd});
  cmd.events[0].payload = R"({ "a": 1, "b": 2 })";
  EXPECT_TRUE(store->append({cmd}).replayed);
}

TEST_F(EventLogTest, ReusedEventIdWithAnotherPayloadIsRefused) {
  auto cmd = one_event(random_id(), project, ExpectedVersion::any(), R"({"n":1})");
  store->append({cmd});
  cmd.events[0].payload = R"({"n":2})";
  try {
    store->append({cmd});
    FAIL();
  } catch (const DomainError& e) {
    EXPECT_EQ(e.code(), ErrorCode::idempotency_conflict);
  }
  EXPECT_EQ(count_events(), 1);
}

TEST_F(EventLogTest, InvalidJsonIsAValidationErrorAndStoresNothing) {
  auto bad = one_event(random_id(), project, ExpectedVersion::any(), "[1,2]");
  EXPECT_THROW(store->append({bad}), DomainError);
  bad.events[0].payload = "{not json";
  EXPECT_THROW(store->append({bad}), DomainError);
  auto twice = one_event(random_id(), project);
  twice.events.push_back(twice.events[0]);
  EXPECT_THROW(store->append({twice}), DomainError);
  EXPECT_EQ(count_events(), 0);
}

TEST_F(EventLogTest, ARefusedCommandInABatchDoesNotFailTheOthers) {
  const Uuid contested = random_id();
  store->append({one_event(contested, project)});
  constexpr int kCommands = 200;
  std::vector<std::future<AppendOutcome>> outcomes;
  for (int i = 0; i < kCommands; ++i) {
    auto p = std::make_shared<std::promise<AppendOutcome>>();
    outcomes.push_back(p->get_future());
    // Every 10th command expects a version the stream does not have.
    auto cmd = i % 10 == 0 ? one_event(contested, project, ExpectedVersion::exact(99)) : one_event(random_id(), project);
    store->async_append({cmd}, [p](AppendOutcome o) { p->set_value(std::move(o)); });
  }
  int ok = 0, refused = 0;
  for (auto& f : outcomes) {
    auto o = f.get();
    if (o.result) ++ok;
    else {
      ++refused;
      EXPECT_THROW(std::rethrow_exception(o.error), VersionConflict);
    }
  }
  EXPECT_EQ(ok, kCommands - kCommands / 10);
  EXPECT_EQ(refused, kCommands / 10);
  EXPECT_EQ(count_events(), 1 + ok);
  EXPECT_GT(store->stats().largest_batch, 1u) << "async appends should have been grouped";
}

TEST_F(EventLogTest, DeciderSeesEarlierCommandsOfTheSameBatch) {
  const Uuid s = random_id();
  constexpr int kCommands = 50;
  std::vector<std::future<AppendOutcome>> futures;
  for (int i = 0; i < kCommands; ++i) {
    auto p = std::make_shared<std::promise<AppendOutcome>>();
    futures.push_back(p->get_future());
    // Each decider appends exactly at the version it reads: only possible if it sees the others.
    store->async_execute(
        [this, s](AppendContext& ctx) {
          const auto v = ctx.stream_version(s);
          auto n = ctx.tx().exec_params("SELECT count(*) FROM events WHERE stream_id = $1", to_string(s))[0][0].as<long long>();
          EXPECT_EQ(n, v);
          return std::vector<StreamAppend>{one_event(s, project, ExpectedVersion::exact(v))};
        },
        [p](AppendOutcome o) { p->set_value(std::move(o)); });
  }
  for (auto& f : futures) {
    auto o = f.get();
    ASSERT_TRUE(o.result.has_value());
  }
  EXPECT_EQ(count_events(), kCommands);
}

// A decider's stream expected new is not read up front (create_task, create_project): the
// unique (stream_id, version) index is the check. A stream that exists after all — written by
// another process this store has never heard of — must still end in a VersionConflict naming the
// real version, with nothing appended.
TEST_F(EventLogTest, DeciderExpectingANewStreamThatAnotherStoreWroteGetsAConflict) {
  const Uuid s = random_id();
  EventStore other(EventStoreOptions{.conninfo = db.conninfo()});
  other.append({one_event(s, project)});
  other.append({one_event(s, project)});
  const auto before = count_events();
  for (const auto expected : {ExpectedVersion::no_stream(), ExpectedVersion::exact(0)}) {
    try {
      store->execute([&](AppendContext&) { return std::vector<StreamAppend>{one_event(s, project, expected)}; });
      FAIL() << "expected a conflict";
    } catch (const VersionConflict& e) {
      EXPECT_EQ(e.current_version(), 2);
      EXPECT_EQ(e.stream_id(), s);
    }
  }
  EXPECT_EQ(count_events(), before);
  // The store goes on appending normally afterwards, at the real version.
  auto r = store->execute([&](AppendContext& ctx) {
    return std::vector<StreamAppend>{one_event(s, project, ExpectedVersion::exact(ctx.stream_version(s)))};
  });
  EXPECT_EQ(r.events[0].version, 3);
}

// The writer remembers stream versions from its own commits and trusts them while the log's head
// under the lock is the one it left. Another store appending moves the head: what was remembered
// before must go then, not only what the next batch happens to read — else a batch that touches
// other streams commits, the head is "ours" again, and a stream the other store advanced is
// believed to be where it was, refusing a command that expects its real version.
TEST_F(EventLogTest, VersionsRememberedBeforeAnotherStoreAppendedAreNotTrustedAfterwards) {
  const Uuid s = random_id();
  store->append({one_event(s, project)});  // remembered: s at 1
  EventStore other(EventStoreOptions{.conninfo = db.conninfo()});
  other.append({one_event(s, project, ExpectedVersion::exact(1))});  // s at 2; the head moved
  // A batch on another stream: it reads the head, finds it moved, and commits.
  store->execute([&](AppendContext&) { return std::vector<StreamAppend>{one_event(random_id(), project)}; });
  // The head is this store's own commit again; s is at 2, and a decider that read that is right.
  const auto r = store->execute(
      [&](AppendContext&) { return std::vector<StreamAppend>{one_event(s, project, ExpectedVersion::exact(2))}; });
  EXPECT_EQ(r.events.at(0).version, 3);
  // And a decider that asks for the version gets the truth.
  const auto asked = store->execute([&](AppendContext& ctx) {
    return std::vector<StreamAppend>{one_event(s, project, ExpectedVersion::exact(ctx.stream_version(s)))};
  });
  EXPECT_EQ(asked.events.at(0).version, 4);
}

// Two processes create the same new stream at once, many times over: each time exactly one
// creation commits and the other is refused with a conflict — never two version-1 events, never
// an internal error.
TEST_F(EventLogTest, TwoStoresRacingToCreateTheSameStreamLetExactlyOneWin) {
  EventStore other(EventStoreOptions{.conninfo = db.conninfo()});
  constexpr int kRounds = 40;
  int wins = 0, conflicts = 0;
  for (int round = 0; round < kRounds; ++round) {
    const Uuid s = random_id();
    auto create = [&](EventStore& on) {
      return std::async(std::launch::async, [&on, s, this]() -> int {
        try {
          on.execute([&](AppendContext&) { return std::vector<StreamAppend>{one_event(s, project, ExpectedVersion::no_stream())}; });
          return 1;
        } catch (const VersionConflict&) {
          return 0;
        }
      });
    };
    auto a = create(*store), b = create(other);
    const int won = a.get() + b.get();
    EXPECT_EQ(won, 1) << "round " << round;
    wins += won;
    conflicts += 2 - won;
    pqxx::connection c(db.conninfo());
    pqxx::read_transaction tx(c);
    EXPECT_EQ(tx.exec_params1("SELECT count(*) FROM events WHERE stream_id = $1", to_string(s))[0].as<int>(), 1);
  }
  EXPECT_EQ(wins, kRounds);
  EXPECT_EQ(conflicts, kRounds);
  pqxx::connection c(db.conninfo());
  pqxx::read_transaction tx(c);
  EXPECT_TRUE(verify_chain(tx).ok);
}

TEST_F(EventLogTest, DeciderRefusalAnswersOnlyItsCaller) {
  EXPECT_THROW(store->execute([](AppendContext&) -> std::vector<StreamAppend> {
    throw DomainError(ErrorCode::illegal_transition, "no");
  }),
               DomainError);
  auto r = store->execute([this](AppendContext&) { return std::vector<StreamAppend>{one_event(random_id(), project)}; });
  EXPECT_EQ(r.events.size(), 1u);
}

// A decider's read through tx_for writes the batch's staged events first only when one of them is
// on a stream (or of a stream type) it names: reads of other streams find them not yet inserted,
// reads of their stream (or type) find them, and every command of the batch commits. The batch
// also tells its deciders which streams it touched and keeps their scratch space between them.
TEST_F(EventLogTest, TxForWritesStagedEventsOnlyWhenTheirStreamIsRead) {
  const Uuid s1 = random_id(), s2 = random_id(), s3 = random_id(), s4 = random_id();
  auto count_on = [](pqxx::transaction_base& tx, const Uuid& s) {
    return tx.exec_params1("SELECT count(*) FROM events WHERE stream_id = $1", to_string(s))[0].as<int>();
  };
  // The writer holds its first batch until everything else is queued, so the rest is one batch.
  std::promise<void> entered, release;
  auto released = release.get_future();
  std::vector<std::future<AppendOutcome>> outcomes;
  auto submit = [&](Decider decider) {
    auto p = std::make_shared<std::promise<AppendOutcome>>();
    outcomes.push_back(p->get_future());
    store->async_execute(std::move(decider), [p](AppendOutcome o) { p->set_value(std::move(o)); });
  };
  const auto batches_before = store->stats().batches;
  submit([&](AppendContext&) {
    entered.set_value();
    released.wait();
    return std::vector<StreamAppend>{one_event(random_id(), project)};
  });
  entered.get_future().wait();
  int seen_by_other_stream = -1, seen_by_its_stream = -1, seen_by_its_type = -1, seen_by_other_type = -1;
  submit([&](AppendContext&) { return std::vector<StreamAppend>{one_event(s1, project)}; });
  submit([&](AppendContext& ctx) {
    seen_by_other_stream = count_on(ctx.tx_for({s2}, {"project"}), s1);
    return std::vector<StreamAppend>{one_event(s2, project)};
  });
  submit([&](AppendContext& ctx) {
    seen_by_its_stream = count_on(ctx.tx_for({s3, s1}, {}), s1);
    return std::vector<StreamAppend>{StreamAppend{s3, "project", ExpectedVersion::any(), {make_event(project, "Noted", R"({"n":3})")}}};
  });
  submit([&](AppendContext& ctx) {
    seen_by_other_type = count_on(ctx.tx_for({s4}, {"task"}), s3);  // s3's event is of a project stream
    seen_by_its_type = count_on(ctx.tx_for({}, {"project"}), s3);
    // What the batch touched so far, and the deciders' scratch space, kept between them.
    EXPECT_TRUE(ctx.touched(s1) && ctx.touched(s2) && ctx.touched(s3));
    EXPECT_FALSE(ctx.touched(s4));
    EXPECT_FALSE(ctx.scratch().has_value());
    ctx.scratch() = std::string("left by the fourth");
    return std::vector<StreamAppend>{one_event(s4, project)};
  });
  std::string scratch_seen;
  bool fourth_touched = false;
  submit([&](AppendContext& ctx) {
    scratch_seen = std::any_cast<std::string>(ctx.scratch());
    fourth_touched = ctx.touched(s4);
    return std::vector<StreamAppend>{};
  });
  release.set_value();
  for (auto& f : outcomes) {
    const AppendOutcome o = f.get();
    ASSERT_TRUE(o.result) << "a command failed";
  }
  EXPECT_EQ(seen_by_other_stream, 0);  // s1's event waited: nothing read it
  EXPECT_EQ(seen_by_its_stream, 1);
  EXPECT_EQ(seen_by_other_type, 0);
  EXPECT_EQ(seen_by_its_type, 1);
  EXPECT_EQ(scratch_seen, "left by the fourth");
  EXPECT_TRUE(fourth_touched);
  EXPECT_EQ(store->stats().batches, batches_before + 2);  // the held one, and the five in one transaction
  EXPECT_EQ(count_events(), 5);
  pqxx::connection c(db.conninfo());
  pqxx::read_transaction tx(c);
  EXPECT_TRUE(verify_chain(tx).ok);
  for (const Uuid& s : {s1, s2, s3, s4}) EXPECT_EQ(count_on(tx, s), 1);
}

TEST_F(EventLogTest, AFaultingCommandFailsAloneAfterTheBatchIsSplit) {
  // A decider whose SQL fails aborts the shared transaction; the others must still commit.
  std::vector<std::future<AppendOutcome>> futures;
  for (int i = 0; i < 20; ++i) {
    auto p = std::make_shared<std::promise<AppendOutcome>>();
    futures.push_back(p->get_future());
    const bool faulty = i == 7;
    store->async_execute(
        [this, faulty](AppendContext& ctx) {
          if (faulty) ctx.tx().exec("SELECT 1/0");
          return std::vector<StreamAppend>{one_event(random_id(), project)};
        },
        [p](AppendOutcome o) { p->set_value(std::move(o)); });
  }
  int ok = 0;
  for (int i = 0; i < 20; ++i) {
    auto o = futures[i].get();
    if (i == 7) {
      ASSERT_TRUE(o.error);
      try {
        std::rethrow_exception(o.error);
      } catch (const DomainError& e) {
        EXPECT_EQ(e.code(), ErrorCode::internal);
      }
    } else {
      ok += o.result.has_value();
    }
  }
  EXPECT_EQ(ok, 19);
  EXPECT_EQ(count_events(), 19);
  pqxx::connection c(db.conninfo());
  pqxx::read_transaction tx(c);
  EXPECT_TRUE(verify_chain(tx).ok);
}

TEST_F(EventLogTest, UpdateDeleteAndTruncateFailEvenForTheOwner) {
  store->append({one_event(random_id(), project)});
  pqxx::connection owner(db.conninfo());  // the database owner, a superuser
  for (const char* sql : {"UPDATE events SET type = 'Forged'", "DELETE FROM events", "TRUNCATE events"}) {
    pqxx::work tx(owner);
    try {
      tx.exec(sql);
      FAIL() << sql << " succeeded";
    } catch (const pqxx::sql_error& e) {
      EXPECT_THAT(e.what(), HasSubstr("append-only")) << sql;
    }
  }
  EXPECT_EQ(count_events(), 1);
}

TEST_F(EventLogTest, TheApplicationRoleMayOnlySelectAndInsert) {
  store->append({one_event(random_id(), project)});
  pqxx::connection app(db.conninfo());
  for (const char* sql : {"UPDATE events SET type = 'Forged'", "DELETE FROM events", "TRUNCATE events"}) {
    pqxx::work tx(app);
    tx.exec("SET ROLE tasklog_app");
    try {
      tx.exec(sql);
      FAIL() << sql << " succeeded";
    } catch (const pqxx::sql_error& e) {
      EXPECT_THAT(e.what(), HasSubstr("permission denied")) << sql;
    }
  }
  pqxx::work tx(app);
  tx.exec("SET ROLE tasklog_app");
  EXPECT_EQ(tx.exec("SELECT count(*) FROM events")[0][0].as<int>(), 1);
  EXPECT_TRUE(tx.exec("SELECT has_table_privilege('events', 'INSERT')")[0][0].as<bool>());
}

TEST_F(EventLogTest, NoForeignKeyCascadesIntoTheEventsTable) {
  pqxx::connection c(db.conninfo());
  pqxx::read_transaction tx(c);
  EXPECT_EQ(tx.exec("SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND conrelid = 'events'::regclass")[0][0].as<int>(), 0);
  EXPECT_EQ(tx.exec("SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND confrelid = 'events'::regclass")[0][0].as<int>(), 0);
}

TEST_F(EventLogTest, ReadsByStreamProjectTaskAndPosition) {
  const Uuid s = random_id(), other_project = random_id(), task = random_id();
  for (int i = 0; i < 5; ++i) store->append({one_event(s, project)});
  auto with_task = one_event(task, other_project);
  with_task.events[0].task_id = task;
  store->append({with_task});
  pqxx::connection c(db.conninfo());
  pqxx::read_transaction tx(c);
  EventReader reader(tx);
  EXPECT_EQ(reader.head(), 6);
  auto stream = reader.stream(s, 3, 100);
  ASSERT_EQ(stream.size(), 3u);
  EXPECT_EQ(stream.front().version, 3);
  EXPECT_EQ(reader.after(4, 100).size(), 2u);
  EXPECT_EQ(reader.after(0, 2).size(), 2u);
  EXPECT_EQ(reader.project_after(project, 2, 100).size(), 3u);
  // The cursors to read the last N after: of the whole log, and of one project among others.
  EXPECT_EQ(reader.before_last(2), 4);
  EXPECT_EQ(reader.before_last(2, project), 3);
  EXPECT_EQ(reader.before_last(1, other_project), 5);
  EXPECT_EQ(reader.before_last(100, project), 0);
  EXPECT_EQ(reader.before_last(1, random_id()), 0);
  auto t = reader.task_after(task, 0, 100);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].project_id, other_project);
  EXPECT_EQ(*t[0].task_id, task);
  EXPECT_EQ(t[0].position, 6);
  EXPECT_EQ(canonicalized(t[0]).payload, R"({"n":1})");
}

TEST_F(EventLogTest, RecordedAtNeverGoesBackwards) {
  auto clock_value = std::make_shared<std::atomic<long long>>(2'000'000'000'000'000);
  store = std::make_unique<EventStore>(EventStoreOptions{
      .conninfo = db.conninfo(),
      .clock = [clock_value] { return Timestamp(std::chrono::microseconds(clock_value->load())); }});
  auto first = store->append({one_event(random_id(), project)});
  clock_value->store(1'000'000'000'000'000);  // the clock steps back
  auto second = store->append({one_event(random_id(), project)});
  // Not back, and not the same instant either: one microsecond after (events/event_store.cpp
  // next_stamp), so batches are ordered by time as by position.
  EXPECT_EQ(second.events[0].recorded_at, first.events[0].recorded_at + std::chrono::microseconds(1));
  pqxx::connection c(db.conninfo());
  pqxx::read_transaction tx(c);
  EXPECT_EQ(EventReader(tx).after(0, 10)[0].recorded_at, first.events[0].recorded_at);
  EXPECT_TRUE(verify_chain(tx).ok);
}

TEST_F(EventLogTest, CommitSendsANotifyWithTheLastPosition) {
  pqxx::connection listener(db.conninfo());
  struct Receiver : pqxx::notification_receiver {
    using pqxx::notification_receiver::notification_receiver;
    void operator()(const std::string& payload, int) override { last = payload; }
    std::string last;
  } receiver(listener, "tasklog_events");
  listener.get_notifs();
  store->append({StreamAppend{random_id(), "task", ExpectedVersion::any(), {make_event(project), make_event(project)}}});
  for (int i = 0; i < 50 && receiver.last.empty(); ++i) listener.await_notification(0, 100000);
  EXPECT_EQ(receiver.last, "2");
}

TEST_F(EventLogTest, SubscriptionDeliversEventsAfterItsCursor) {
  for (int i = 0; i < 3; ++i) store->append({one_event(random_id(), project)});
  Subscription sub({.conninfo = db.conninfo(), .after = 1});
  auto first = sub.next(std::chrono::seconds(5));
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].position, 2);
  std::thread writer([&] { store->append({one_event(random_id(), project)}); });
  auto live = sub.next(std::chrono::seconds(10));
  writer.join();
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].position, 4);
  EXPECT_EQ(sub.cursor(), 4);
  EXPECT_TRUE(sub.next(std::chrono::milliseconds(50)).empty());
}

// The stream's LISTEN thread asks for the next events every 200 ms: on an idle log that must not
// cost a read per call (it cost two: one on entry, one after the wait), only one per poll
// interval — and a notification must still wake it at once.
TEST_F(EventLogTest, AnIdleSubscriptionReadsOncePerPollIntervalNotPerCall) {
  store->append({one_event(random_id(), project)});
  Subscription sub({.conninfo = db.conninfo(), .poll_interval = std::chrono::seconds(60)});
  ASSERT_EQ(sub.next(std::chrono::seconds(5)).size(), 1u);
  EXPECT_EQ(sub.reads(), 1u);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(sub.next(std::chrono::milliseconds(20)).empty());
  EXPECT_EQ(sub.reads(), 1u) << "ten calls on an idle log read it again";
  // Appended while nobody waits: the notification is on the socket when next() is called.
  store->append({one_event(random_id(), project)});
  std::vector<RecordedEvent> live;
  // The poll interval is a minute: only the notification can bring it within these calls.
  for (int i = 0; i < 20 && live.empty(); ++i) live = sub.next(std::chrono::seconds(1));
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].position, 2);
  EXPECT_LE(sub.reads(), 3u);
}

// A read that fills a whole batch leaves the rest for the next call, which reads it at once —
// no notification is coming for events already committed.
TEST_F(EventLogTest, ASubscriptionReadsOnAtOnceAfterAFullBatch) {
  for (int i = 0; i < 5; ++i) store->append({one_event(random_id(), project)});
  Subscription sub({.conninfo = db.conninfo(), .batch_size = 2, .poll_interval = std::chrono::seconds(60)});
  std::vector<Position> seen;
  for (int i = 0; i < 3; ++i)
    for (auto& e : sub.next(std::chrono::milliseconds(100))) seen.push_back(e.position);
  EXPECT_EQ(seen, (std::vector<Position>{1, 2, 3, 4, 5}));
}

TEST_F(EventLogTest, SubscriptionResumesFromItsCursorAfterItsConnectionIsKilled) {
  Subscription sub({.conninfo = db.conninfo(), .poll_interval = std::chrono::milliseconds(100)});
  store->append({one_event(random_id(), project)});
  ASSERT_EQ(sub.next(std::chrono::seconds(5)).size(), 1u);
  {
    pqxx::connection admin(db.conninfo());
    pqxx::nontransaction tx(admin);
    // Every other session of this database: the subscription's and the writer's. Both must
    // reconnect by themselves.
    tx.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()");
  }
  store->append({one_event(random_id(), project)});
  store->append({one_event(random_id(), project)});
  std::vector<Position> seen;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (seen.size() < 2 && std::chrono::steady_clock::now() < deadline)
    for (auto& e : sub.next(std::chrono::milliseconds(500))) seen.push_back(e.position);
  EXPECT_EQ(seen, (std::vector<Position>{2, 3}));
}

}  // namespace
}  // namespace tasklog::events::testing
