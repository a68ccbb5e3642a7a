// StreamHub without a database: shared_json (sessions catching up from the table over the same
// events share one copy of each event's JSON while any of them holds it, from any number of
// threads at once) and take_frame (live frames from the ring: the events a subscription sends,
// in order, once, with one body per range shared by every session at the same cursor), fed
// through publish().
#include "api/stream_hub.hpp"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <atomic>
#include <limits>
#include <random>
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

const Uuid kProjectA = *parse_uuid("aaaaaaaa-0000-4000-8000-000000000000");
const Uuid kProjectB = *parse_uuid("bbbbbbbb-0000-4000-8000-000000000000");
const Uuid kTask1 = *parse_uuid("11111111-0000-4000-8000-000000000000");
const Uuid kTask2 = *parse_uuid("22222222-0000-4000-8000-000000000000");

events::RecordedEvent in(events::Position position, const Uuid& project, std::optional<Uuid> task = std::nullopt,
                         std::string type = "TaskMessageAppended") {
  auto e = recorded(position);
  e.metadata = "{}";
  e.project_id = project;
  e.task_id = task;
  e.type = std::move(type);
  return e;
}

std::string joined(const std::vector<events::RecordedEvent>& events) {
  std::string out;
  for (const auto& e : events) out += (out.empty() ? "" : ",") + event_json(e);
  return out;
}

StreamHub::FrameQuery all_of(const Uuid& project, events::Position cursor) {
  return {.project = project, .cursor = cursor, .max_events = std::numeric_limits<std::size_t>::max(),
          .max_bytes = std::numeric_limits<std::size_t>::max()};
}

std::vector<std::int64_t> positions_in(const std::string& body) {
  rapidjson::Document doc;
  const auto array = "[" + body + "]";
  doc.Parse(array.c_str());
  std::vector<std::int64_t> out;
  if (doc.HasParseError() || !doc.IsArray()) return {-1};
  for (const auto& e : doc.GetArray()) out.push_back(e["position"].GetInt64());
  return out;
}

TEST(StreamHubTakeFrame, SessionsAtOneCursorShareOneBodyOfTheirProjectsEventsInOrder) {
  StreamHub hub("", StreamOptions{});
  std::vector<events::RecordedEvent> log;
  for (int p = 1; p <= 10; ++p) log.push_back(in(p, p % 2 ? kProjectA : kProjectB, kTask1));
  hub.publish(log);

  const auto first = hub.take_frame(all_of(kProjectA, 0));
  EXPECT_FALSE(first.missed);
  EXPECT_EQ(first.head, 10);
  EXPECT_EQ(first.cursor, 10);  // looked at everything, B's events too
  EXPECT_EQ(first.events, 5u);
  EXPECT_EQ(*first.body, joined({log[0], log[2], log[4], log[6], log[8]}));
  // Another session at the same cursor, and one whose cursor differs only by B's events: the same body.
  for (int i = 0; i < 100; ++i) EXPECT_EQ(hub.take_frame(all_of(kProjectA, 0)).body.get(), first.body.get());
  EXPECT_EQ(hub.take_frame(all_of(kProjectA, 0)).body.get(), first.body.get());
  EXPECT_EQ(hub.counters().frame_bodies.load(), 1u);
  EXPECT_EQ(hub.counters().live_frames.load(), 102u);

  const auto later = hub.take_frame(all_of(kProjectA, 1));
  EXPECT_EQ(*later.body, joined({log[2], log[4], log[6], log[8]}));
  const auto b = hub.take_frame(all_of(kProjectB, 0));
  EXPECT_EQ(*b.body, joined({log[1], log[3], log[5], log[7], log[9]}));

  const auto none = hub.take_frame(all_of(kProjectA, 10));  // at the head: nothing to send
  EXPECT_EQ(none.events, 0u);
  EXPECT_EQ(none.cursor, 10);
  EXPECT_FALSE(none.body);

  // Events of another project after the cursor: nothing to send, but the cursor moves past them.
  hub.publish({in(11, kProjectB), in(12, kProjectB)});
  const auto skipped = hub.take_frame(all_of(kProjectA, 10));
  EXPECT_EQ(skipped.events, 0u);
  EXPECT_EQ(skipped.cursor, 12);
}

TEST(StreamHubTakeFrame, OneEventPerFrameATaskFilterAndTheByteBound) {
  StreamHub hub("", StreamOptions{});
  std::vector<events::RecordedEvent> log;
  for (int p = 1; p <= 8; ++p) log.push_back(in(p, kProjectA, p % 2 ? kTask1 : kTask2));
  hub.publish(log);

  // A frame per event (clients without ?batch=true): the cursor stops at the event sent.
  auto query = all_of(kProjectA, 0);
  query.max_events = 1;
  std::vector<std::int64_t> one_by_one;
  for (;;) {
    const auto frame = hub.take_frame(query);
    if (frame.events == 0) break;
    ASSERT_EQ(frame.events, 1u);
    EXPECT_EQ(*frame.body, event_json(log[frame.cursor - 1]));
    one_by_one.push_back(frame.cursor);
    query.cursor = frame.cursor;
  }
  EXPECT_EQ(one_by_one, (std::vector<std::int64_t>{1, 2, 3, 4, 5, 6, 7, 8}));

  // One task only.
  auto task = all_of(kProjectA, 0);
  task.task = kTask2;
  EXPECT_EQ(*hub.take_frame(task).body, joined({log[1], log[3], log[5], log[7]}));

  // The byte bound: two events and a comma fit, a third does not; an event larger than the bound
  // still goes, alone.
  auto bounded = all_of(kProjectA, 0);
  bounded.max_bytes = event_json(log[0]).size() + 1 + event_json(log[1]).size();
  auto frame = hub.take_frame(bounded);
  EXPECT_EQ(frame.events, 2u);
  EXPECT_EQ(frame.cursor, 2);
  EXPECT_EQ(*frame.body, joined({log[0], log[1]}));
  bounded.max_bytes = 1;
  bounded.cursor = 2;
  frame = hub.take_frame(bounded);
  EXPECT_EQ(frame.events, 1u);
  EXPECT_EQ(frame.cursor, 3);
}

TEST(StreamHubTakeFrame, AFrameStopsBeforeAMembershipChangeOfItsProjectUntilItIsChecked) {
  StreamHub hub("", StreamOptions{});
  const std::vector<events::RecordedEvent> log{in(1, kProjectA, kTask1), in(2, kProjectB, {}, "ProjectMemberRemoved"),
                                               in(3, kProjectA, {}, "ProjectMemberAdded"), in(4, kProjectA, kTask1)};
  hub.publish(log);
  auto frame = hub.take_frame(all_of(kProjectA, 0));  // B's membership change does not concern A
  EXPECT_EQ(frame.events, 1u);
  EXPECT_EQ(frame.cursor, 2);
  EXPECT_EQ(frame.membership_change, 3);
  frame = hub.take_frame(all_of(kProjectA, 2));
  EXPECT_EQ(frame.events, 0u);
  EXPECT_EQ(frame.cursor, 2);
  EXPECT_EQ(frame.membership_change, 3);
  auto checked = all_of(kProjectA, 2);
  checked.checked_through = 3;  // the access check ran after it committed
  frame = hub.take_frame(checked);
  EXPECT_EQ(*frame.body, joined({log[2], log[3]}));
  EXPECT_FALSE(frame.membership_change);
}

TEST(StreamHubTakeFrame, ACursorThatLeftTheRingIsMissed) {
  StreamOptions options;
  options.ring_size = 4;
  StreamHub hub("", options);
  std::vector<events::RecordedEvent> log;
  for (int p = 1; p <= 10; ++p) log.push_back(in(p, kProjectA));
  hub.publish(log);  // the ring holds 7..10
  EXPECT_TRUE(hub.take_frame(all_of(kProjectA, 5)).missed);
  const auto frame = hub.take_frame(all_of(kProjectA, 6));
  EXPECT_FALSE(frame.missed);
  EXPECT_EQ(*frame.body, joined({log[6], log[7], log[8], log[9]}));
}

// Events of up to 256 KiB (artifact content) would make a ring bounded by count alone hold
// gigabytes; it is bounded by bytes too, the oldest leaving first, and a cursor below goes to the
// table like any other that left the ring.
TEST(StreamHubTakeFrame, TheRingIsBoundedByBytesAsWellAsByEvents) {
  StreamOptions options;
  options.ring_size = 1000;
  std::vector<events::RecordedEvent> log;
  for (int p = 1; p <= 10; ++p) {
    log.push_back(in(p, kProjectA));
    log.back().payload = R"({"content":")" + std::string(10000, 'x') + R"("})";
  }
  const std::size_t one = event_json(log[0]).size();
  options.ring_bytes = 3 * one + one / 2;  // room for three of them
  StreamHub hub("", options);
  hub.publish(log);
  EXPECT_EQ(hub.floor(), 7);
  EXPECT_TRUE(hub.take_frame(all_of(kProjectA, 6)).missed);
  const auto frame = hub.take_frame(all_of(kProjectA, 7));
  EXPECT_FALSE(frame.missed);
  EXPECT_EQ(*frame.body, joined({log[7], log[8], log[9]}));
  // One event larger than the whole budget still stays, alone: the newest is never dropped.
  auto huge = in(11, kProjectA);
  huge.payload = R"({"content":")" + std::string(50000, 'y') + R"("})";
  hub.publish({huge});
  EXPECT_EQ(hub.floor(), 10);
  EXPECT_EQ(*hub.take_frame(all_of(kProjectA, 10)).body, event_json(huge));
}

TEST(StreamHubTakeFrame, TheBodiesKeptForSharingStayBoundedHoweverManyCursors) {
  StreamOptions options;
  options.ring_size = 100000;
  StreamHub hub("", options);
  std::vector<events::RecordedEvent> log;
  for (int p = 1; p <= 400; ++p) {
    log.push_back(in(p, kProjectA));
    log.back().payload = R"({"content":")" + std::string(20000, 'x') + R"("})";
  }
  hub.publish(log);
  // A session at every cursor: 400 bodies of ~3 events (~60 KB each), 24 MB were they all kept.
  auto query = all_of(kProjectA, 0);
  query.max_bytes = 64 * 1024;
  for (; query.cursor < 400; ++query.cursor) {
    const auto left = static_cast<std::size_t>(400 - query.cursor);
    EXPECT_EQ(hub.take_frame(query).events, std::min<std::size_t>(3, left));
  }
  const auto metrics = hub.metrics_text();
  const auto at = metrics.find("\ntasklog_stream_frame_cache_bytes ");
  ASSERT_NE(at, std::string::npos);
  const auto kept = std::stod(metrics.substr(at + 34));
  EXPECT_GT(kept, 0);
  EXPECT_LE(kept, 4 * 1024 * 1024);
}

// Readers follow their cursors through the ring while the LISTEN side publishes bursts: each sees
// its project's events exactly once, in order, whatever the interleaving.
TEST(StreamHubTakeFrame, ReadersRacingThePublisherSeeEveryEventOnceInOrder) {
  StreamOptions options;
  options.ring_size = 100000;
  StreamHub hub("", options);
  constexpr int kEvents = 4000, kReaders = 6;
  const std::vector<Uuid> projects{kProjectA, kProjectB, *parse_uuid("cccccccc-0000-4000-8000-000000000000")};
  std::vector<std::vector<std::int64_t>> expected(projects.size());
  for (int p = 1; p <= kEvents; ++p) expected[p % projects.size()].push_back(p);

  std::atomic<bool> published{false};
  std::vector<std::vector<std::int64_t>> seen(kReaders);
  std::vector<std::thread> readers;
  for (int r = 0; r < kReaders; ++r) {
    readers.emplace_back([&, r] {
      auto query = all_of(projects[r % projects.size()], 0);
      query.max_events = r % 2 ? 1 : std::numeric_limits<std::size_t>::max();
      query.max_bytes = 3 * event_json(in(1, kProjectA)).size() + 10;  // a few events per frame
      for (;;) {
        const bool last_round = published.load();
        const auto frame = hub.take_frame(query);
        ASSERT_FALSE(frame.missed);
        query.cursor = frame.cursor;
        if (frame.events > 0) {
          const auto positions = positions_in(*frame.body);
          ASSERT_EQ(positions.size(), frame.events);
          seen[r].insert(seen[r].end(), positions.begin(), positions.end());
        } else if (last_round && frame.cursor == kEvents) {
          return;
        } else {
          std::this_thread::yield();
        }
      }
    });
  }
  std::mt19937 random(42);
  for (int p = 1; p <= kEvents;) {
    std::vector<events::RecordedEvent> burst;
    for (int n = std::uniform_int_distribution<int>(1, 30)(random); n > 0 && p <= kEvents; --n, ++p)
      burst.push_back(in(p, projects[p % projects.size()]));
    hub.publish(std::move(burst));
  }
  published = true;
  for (auto& t : readers) t.join();
  for (int r = 0; r < kReaders; ++r) EXPECT_EQ(seen[r], expected[r % projects.size()]) << "reader " << r;
}

}  // namespace
}  // namespace tasklog::api
