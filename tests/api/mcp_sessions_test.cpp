// The classic-era session store on its own: ownership, ending, and expiry — an expired session is
// an unknown one for every request, DELETE included.
#include "api/mcp_sessions.hpp"

#include <boost/uuid/random_generator.hpp>
#include <gtest/gtest.h>

#include <thread>

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

}  // namespace
}  // namespace tasklog::api::mcp
