// A member removed while they are writing: the request's access check and the append are two
// moments, so the engine checks the role again under the append lock (route_support member_check).
// The invariant: no event of the removed member lands after the removal's position.
#include "tests/api/routes_fixture.hpp"

#include "api/route_support.hpp"
#include "events/event_store.hpp"
#include "projections/task_engine.hpp"

#include <atomic>
#include <thread>
#include <vector>

namespace tasklog::testing {
namespace {

class MembershipRaceTest : public RoutesTest {
 protected:
  void configure(api::ApiServerOptions& options) override { options.worker_threads = 8; }
};

TEST_F(MembershipRaceTest, NoCommandOfARemovedMemberLandsAfterTheRemoval) {
  const std::string project = create_project(*alice);
  const auto added = alice->post("/v1/projects/" + project + "/members",
                                 R"({"user_id":")" + to_string(bob_user.id) + R"(","role":"member"})");
  ASSERT_EQ(added.status, 200u) << added.body;

  constexpr int kWriters = 4;
  std::atomic<int> created{0}, refused{0}, unexpected{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&] {
      auto client = bob_user.client();
      while (!stop) {
        const auto r = client->post("/v1/projects/" + project + "/tasks", R"({"title":"bob's"})");
        if (r.status == 201u)
          created++;
        else if (r.status == 404u)
          refused++;
        else
          unexpected++;
      }
    });
  }
  // Let Bob's writes get going, then remove him while they are in flight.
  while (created < 20) std::this_thread::yield();
  const auto removed = alice->del("/v1/projects/" + project + "/members",
                                      R"({"user_id":")" + to_string(bob_user.id) + R"("})");
  ASSERT_EQ(removed.status, 200u) << removed.body;
  const std::int64_t removal = int_at(removed, "/position");
  // Keep writing until every writer has been refused a few times after the removal.
  while (refused < 4 * kWriters) std::this_thread::yield();
  stop = true;
  for (auto& t : writers) t.join();

  EXPECT_EQ(unexpected.load(), 0);
  EXPECT_GT(created.load(), 0);
  const std::string after = query_value(
      conninfo(), "SELECT count(*) FROM events WHERE actor_id = '" + to_string(bob_user.id) + "' AND position > " +
                      std::to_string(removal));
  EXPECT_EQ(after, "0") << "Bob appended after his removal at position " << removal;
}

// The same check without HTTP: the engine itself refuses, under the lock, a command whose actor is
// not (or no longer) a member, and a viewer's write, and appends nothing.
TEST_F(MembershipRaceTest, TheEngineChecksTheRoleAgainstTheProjectItLoaded) {
  const std::string project = create_project(*alice);
  events::EventStore store(projections::engine_store_options(conninfo()));
  projections::TaskEngine engine(store);
  const CreateTask command{.project_id = *parse_uuid(project), .title = "t"};
  const std::int64_t before = head();

  try {
    engine.execute(command, bob_user.id, {}, api::member_check(bob_user.id, api::Access::write));
    ADD_FAILURE() << "a non-member's command was accepted";
  } catch (const DomainError& e) {
    EXPECT_EQ(e.code(), ErrorCode::not_found);
  }
  const auto viewer = alice->post("/v1/projects/" + project + "/members",
                                  R"({"user_id":")" + to_string(bob_user.id) + R"(","role":"viewer"})");
  ASSERT_EQ(viewer.status, 200u) << viewer.body;
  const std::int64_t with_viewer = head();
  EXPECT_GT(with_viewer, before);
  try {
    engine.execute(command, bob_user.id, {}, api::member_check(bob_user.id, api::Access::write));
    ADD_FAILURE() << "a viewer's write was accepted";
  } catch (const DomainError& e) {
    EXPECT_EQ(e.code(), ErrorCode::forbidden);
  }
  EXPECT_EQ(head(), with_viewer);
  // The owner passes the same check.
  EXPECT_NO_THROW(engine.execute(command, alice_user.id, {}, api::member_check(alice_user.id, api::Access::write)));
}

}  // namespace
}  // namespace tasklog::testing
