// The classic-era session store on its own: ownership, ending, and expiry — an expired session is
// an unknown one for every request, DELETE included.
#include "api/mcp_sessions.hpp"

#include <boost/uuid/random_generator.hpp>
#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace tasklog::api::mcp {
namespace {

Uuid new_user() {
  static boost::uuids::random_generator gen;
  return gen();
}

TEST(McpSessionStore, ASessionIsItsOwnersUntilClosed) {
  SessionStore store;
  const Uuid alice = new_user(), bob = new_user();
  const std::string id = store.open(alice, "2025-06-18");
  EXPECT_EQ(store.version_of(id, alice), "2025-06-18");
  EXPECT_FALSE(store.version_of(id, bob));
  EXPECT_FALSE(store.close(id, bob));
  EXPECT_TRUE(store.close(id, alice));
  EXPECT_FALSE(store.version_of(id, alice));
  EXPECT_FALSE(store.close(id, alice));
}

TEST(McpSessionStore, AnExpiredSessionIsUnknownToDeleteToo) {
  SessionStore store(10, std::chrono::seconds(1));
  const Uuid alice = new_user();
  const std::string used = store.open(alice, "2025-11-25");
  const std::string ended = store.open(alice, "2025-11-25");
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // past the idle timeout
  EXPECT_FALSE(store.close(ended, alice)) << "DELETE of an expired session must answer like an unknown one (404)";
  EXPECT_FALSE(store.version_of(used, alice));
  EXPECT_FALSE(store.close(used, alice)) << "and it is gone afterwards";
}

TEST(McpSessionStore, AUserAtTheirCapEndsOnlyTheirOwnOldestSession) {
  SessionStore store(100, std::chrono::hours(1), 3);
  const Uuid alice = new_user(), mallory = new_user();
  const std::string alices = store.open(alice, "2025-06-18");
  std::vector<std::string> opened;
  for (int i = 0; i < 50; ++i) opened.push_back(store.open(mallory, "2025-06-18"));
  EXPECT_EQ(store.version_of(alices, alice), "2025-06-18") << "another user's sessions must not push out Alice's";
  // Mallory keeps the three newest.
  for (std::size_t i = 0; i + 3 < opened.size(); ++i) EXPECT_FALSE(store.version_of(opened[i], mallory)) << i;
  for (std::size_t i = opened.size() - 3; i < opened.size(); ++i) EXPECT_TRUE(store.version_of(opened[i], mallory)) << i;
}

TEST(McpSessionStore, AtTheStoresCapTheUserHoldingTheMostGivesWay) {
  SessionStore store(4, std::chrono::hours(1), 3);
  const Uuid alice = new_user(), bob = new_user(), carol = new_user();
  const std::string alices = store.open(alice, "2025-06-18");  // the least recently used of all
  const std::string bob1 = store.open(bob, "2025-06-18");
  const std::string bob2 = store.open(bob, "2025-06-18");
  const std::string bob3 = store.open(bob, "2025-06-18");
  const std::string carols = store.open(carol, "2025-06-18");  // the store is full: one of Bob's goes
  EXPECT_TRUE(store.version_of(alices, alice));
  EXPECT_TRUE(store.version_of(carols, carol));
  EXPECT_FALSE(store.version_of(bob1, bob)) << "Bob holds the most: his least recently used goes";
  EXPECT_TRUE(store.version_of(bob2, bob));
  EXPECT_TRUE(store.version_of(bob3, bob));
  // Closing and expiry keep the counts: Bob may open again up to his cap.
  EXPECT_TRUE(store.close(bob2, bob));
  const std::string bob4 = store.open(bob, "2025-06-18");
  EXPECT_TRUE(store.version_of(bob3, bob));
  EXPECT_TRUE(store.version_of(bob4, bob));
  EXPECT_TRUE(store.version_of(alices, alice));
}

}  // namespace
}  // namespace tasklog::api::mcp
