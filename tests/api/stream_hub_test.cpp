// StreamHub::shared_json: sessions catching up from the table over the same events share one copy
// of each event's JSON while any of them holds it, from any number of threads at once.
#include "api/stream_hub.hpp"

#include <gtest/gtest.h>

#include <set>
#include <thread>
#include <vector>

namespace tasklog::api {
namespace {

events::RecordedEvent recorded(events::Position position) {
  events::RecordedEvent e;
  e.position = position;
  e.event_id = *parse_uuid("00000000-0000-4000-8000-00000000000" + std::to_string(position % 10));
  e.stream_type = "task";
  e.version = position;
  e.type = "TaskMessageAppended";
  e.payload = R"({"content":"hello"})";
  return e;
}

TEST(StreamHubSharedJson, OneCopyPerEventWhileHeldAndTheSameTextAsEventJson) {
  StreamHub hub("", StreamOptions{});  // never started: shared_json does not touch the database
  auto first = hub.shared_json(recorded(7));
  EXPECT_EQ(*first, event_json(recorded(7)));
  EXPECT_EQ(hub.shared_json(recorded(7)).get(), first.get());  // held: shared
  EXPECT_NE(hub.shared_json(recorded(8)).get(), first.get());
  const std::string text = *first;
  first.reset();
  auto again = hub.shared_json(recorded(7));  // nobody held it: made anew, same text
  EXPECT_EQ(*again, text);
}

TEST(StreamHubSharedJson, ManyThreadsOverOneRangeGetOnePointerPerEventAndForgottenOnesArePruned) {
  StreamHub hub("", StreamOptions{});
  constexpr int kThreads = 8, kEvents = 500;
  std::vector<std::vector<std::shared_ptr<const std::string>>> held(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int p = 1; p <= kEvents; ++p) held[t].push_back(hub.shared_json(recorded(p)));
    });
  for (auto& t : threads) t.join();
  for (int p = 0; p < kEvents; ++p) {
    std::set<const std::string*> pointers;
    for (int t = 0; t < kThreads; ++t) pointers.insert(held[t][p].get());
    EXPECT_EQ(pointers.size(), 1u) << "position " << p + 1;
  }
  held.clear();
  // Well past the pruning threshold with nothing held: still correct, and each call independent.
  for (int p = 1; p <= 20000; ++p) EXPECT_EQ(*hub.shared_json(recorded(p)), event_json(recorded(p)));
}

}  // namespace
}  // namespace tasklog::api
