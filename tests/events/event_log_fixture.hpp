// Shared set-up for event-log tests: a fresh database, an EventStore on it, and event builders.
#pragma once

#include "events/chain.hpp"
#include "events/event_store.hpp"
#include "tests/support/test_cluster.hpp"

#include <boost/uuid/random_generator.hpp>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <memory>
#include <string>

namespace tasklog::events::testing {

inline Uuid random_id() {
  thread_local boost::uuids::random_generator gen;
  return gen();
}

inline NewEvent make_event(const Uuid& project, std::string type = "Noted", std::string payload = R"({"n":1})") {
  NewEvent e;
  e.event_id = random_id();
  e.type = std::move(type);
  e.payload = std::move(payload);
  e.metadata = R"({"source":"test"})";
  e.project_id = project;
  e.actor_id = project;
  return e;
}

inline StreamAppend one_event(const Uuid& stream, const Uuid& project, ExpectedVersion expected = ExpectedVersion::any(),
                              std::string payload = R"({"n":1})") {
  return StreamAppend{stream, "task", expected, {make_event(project, "Noted", std::move(payload))}};
}

// The hash chain of the whole log verifies, up to `head`.
inline void expect_chain_verifies(const std::string& conninfo, Position head) {
  pqxx::connection c(conninfo);
  pqxx::read_transaction tx(c);
  const auto report = verify_chain(tx);
  EXPECT_TRUE(report.ok) << report.reason;
  EXPECT_EQ(report.checked_up_to, head);
}

class EventLogTest : public ::testing::Test {
 protected:
  void SetUp() override { store = std::make_unique<EventStore>(EventStoreOptions{.conninfo = db.conninfo()}); }
  void TearDown() override { store.reset(); }

  long long count_events() {
    pqxx::connection c(db.conninfo());
    pqxx::read_transaction tx(c);
    return tx.exec("SELECT count(*) FROM events")[0][0].as<long long>();
  }

  tasklog::testing::TestDatabase db;
  std::unique_ptr<EventStore> store;
  Uuid project = random_id();
};

}  // namespace tasklog::events::testing
