// The race the whole log design exists for: many concurrent writers (threads, and separate OS
// processes) while a reader follows `position > cursor` live. The reader must see every position
// exactly once, in order, and the chain must verify afterwards.
#include "events/chain.hpp"
#include "events/subscription.hpp"
#include "tests/events/event_log_fixture.hpp"

#include <spawn.h>
#include <sys/wait.h>

#include <future>
#include <thread>

extern char** environ;

namespace tasklog::events::testing {
namespace {

// Follows the log until `total` events were seen or the deadline passes.
std::vector<Position> follow(const std::string& conninfo, std::size_t total, std::chrono::seconds limit) {
  Subscription sub({.conninfo = conninfo, .batch_size = 500});
  std::vector<Position> seen;
  seen.reserve(total);
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (seen.size() < total && std::chrono::steady_clock::now() < deadline)
    for (const auto& e : sub.next(std::chrono::milliseconds(500))) seen.push_back(e.position);
  return seen;
}

void expect_exactly_once_in_order(const std::vector<Position>& seen, std::size_t total) {
  ASSERT_EQ(seen.size(), total);
  for (std::size_t i = 0; i < seen.size(); ++i)
    ASSERT_EQ(seen[i], static_cast<Position>(i + 1)) << "at index " << i;
}

TEST_F(EventLogTest, SixteenThreadsAppendWhileAReaderFollowsLive) {
  constexpr int kThreads = 16, kPerThread = 2000;
  constexpr std::size_t kTotal = kThreads * kPerThread;
  auto reader = std::async(std::launch::async, [&] { return follow(db.conninfo(), kTotal, std::chrono::seconds(300)); });
  std::vector<std::thread> writers;
  std::atomic<int> acknowledged{0};
  for (int t = 0; t < kThreads; ++t)
    writers.emplace_back([&] {
      const Uuid stream = random_id();
      for (int i = 0; i < kPerThread; ++i) {
        store->append({one_event(stream, project, ExpectedVersion::exact(i))});
        ++acknowledged;
      }
    });
  for (auto& w : writers) w.join();
  EXPECT_EQ(acknowledged.load(), static_cast<int>(kTotal));
  expect_exactly_once_in_order(reader.get(), kTotal);
  expect_chain_verifies(db.conninfo(), kTotal);
  EXPECT_GT(store->stats().largest_batch, 1u);
  EXPECT_GT(store->stats().flights, 0u);  // batches went out as pipelined flights
}

pid_t spawn_worker(const std::string& conninfo, int threads, int per_thread) {
  std::vector<std::string> args = {TASKLOG_APPEND_WORKER, conninfo, std::to_string(threads), std::to_string(per_thread)};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  EXPECT_EQ(posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ), 0);
  return pid;
}

TEST_F(EventLogTest, TwoProcessesAppendWhileAReaderFollowsLive) {
  constexpr int kThreads = 8, kPerThread = 1000;
  constexpr std::size_t kTotal = 2 * kThreads * kPerThread;
  auto reader = std::async(std::launch::async, [&] { return follow(db.conninfo(), kTotal, std::chrono::seconds(300)); });
  const pid_t a = spawn_worker(db.conninfo(), kThreads, kPerThread);
  const pid_t b = spawn_worker(db.conninfo(), kThreads, kPerThread);
  for (pid_t pid : {a, b}) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "worker failed, status " << status;
  }
  expect_exactly_once_in_order(reader.get(), kTotal);
  expect_chain_verifies(db.conninfo(), kTotal);
}

}  // namespace
}  // namespace tasklog::events::testing
