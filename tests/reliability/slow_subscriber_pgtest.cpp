// A slow subscriber: one WebSocket client subscribes to a project and then reads nothing (with a
// small socket receive buffer, so the server's bound is reached at once) while 50,000 events are
// appended, beside one that reads a message every 50 ms. The server's memory (VmRSS of the
// `tasklog serve` child) stays bounded, the other subscribers receive every event in order without
// being disconnected, the trickling one gets the timeline's beginning without a gap, and the silent
// one is closed with 1008 and the documented reason. The readers' commit-to-receipt latency is
// reported, not asserted (timings depend on the machine).
//
// The events are appended from this process through EventStore with the inline projector (real
// TaskMessageAppended events with their read-model rows, committed in commands of 250): the HTTP
// path under the sanitizer build is far too slow for 50,000 writes in a test. serve learns of them
// as it learns of any other process's appends, by NOTIFY.
#include "core/codec.hpp"
#include "core/ids.hpp"
#include "events/event_store.hpp"
#include "projections/task_engine.hpp"
#include "tests/reliability/served_fixture.hpp"
#include "tests/reliability/subscriber.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/ws_client.hpp"

#include <boost/uuid/random_generator.hpp>
#include <gtest/gtest.h>
#include <rapidjson/pointer.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <iostream>
#include <thread>

namespace tasklog::testing {
namespace {

using namespace std::chrono_literals;

constexpr int kEvents = 50000;
constexpr int kEventsPerCommand = 250;
constexpr int kAppenders = 4;  // concurrent commands: the store commits them in groups
constexpr int kReaders = 2;
constexpr std::size_t kContentBytes = 100;  // a message of ~1 KB as sent
// Before the baseline is taken: enough to fill the server's ring of recent events (10,000), the
// stalled session's queue (1,024 messages) and both socket buffers, so that what the server holds
// for the stalled client by design is already counted in the baseline.
constexpr int kWarmUpEvents = 15000;
constexpr std::size_t kQueueMessages = 1024;  // api/stream_options.hpp: the per-session bound
constexpr std::size_t MiB = 1024 * 1024;

// Appends `count` messages to the task, kEventsPerCommand per command, kAppenders commands at once.
void append_messages(events::EventStore& store, const Uuid& project, const Uuid& task, const Uuid& actor, int count) {
  const std::string content(kContentBytes, 'm');
  std::atomic<int> next{0};
  std::vector<std::thread> appenders;
  for (int a = 0; a < kAppenders; ++a) {
    appenders.emplace_back([&] {
      boost::uuids::random_generator ids;
      while (next.fetch_add(kEventsPerCommand) < count) {
        events::StreamAppend append{task, "task", events::ExpectedVersion::any(), {}};
        for (int i = 0; i < kEventsPerCommand; ++i) {
          const DomainEvent event = TaskMessageAppended{
              .project_id = project, .task_id = task, .message_id = ids(), .role = MessageRole::user, .content = content};
          append.events.push_back(events::NewEvent{.event_id = ids(),
                                                   .type = std::string(event_type_name(event)),
                                                   .schema_version = static_cast<std::int16_t>(event_schema_version(event)),
                                                   .payload = encode_event(event),
                                                   .metadata = R"({"source":"slow_subscriber_test"})",
                                                   .project_id = project,
                                                   .task_id = task,
                                                   .actor_id = actor});
        }
        store.append({std::move(append)});
      }
    });
  }
  for (auto& t : appenders) t.join();
}

// A figure from serve's /metrics (-1 when absent).
double metric(const ServeProcess& serve, const std::string& name) {
  const auto body = HttpClient(serve.endpoint()).get("/metrics").body;
  const auto at = body.find("\n" + name + " ");
  return at == std::string::npos ? -1 : std::stod(body.substr(at + name.size() + 2));
}

// The largest VmRSS seen while it runs, sampled every 20 ms.
class RssSampler {
 public:
  explicit RssSampler(const ServeProcess& serve) : thread_([this, &serve] {
    while (!stop_) {
      if (const auto rss = serve.rss_bytes()) peak_ = std::max<std::size_t>(peak_, *rss);
      std::this_thread::sleep_for(20ms);
    }
  }) {}
  ~RssSampler() {
    stop_ = true;
    thread_.join();
  }
  std::size_t peak() const { return peak_; }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> peak_{0};
  std::thread thread_;
};

class SlowSubscriberTest : public ServedTest {};

TEST_F(SlowSubscriberTest, ASilentSubscriberCostsBoundedMemoryAndTheOthersGetEveryEvent) {
  // AddressSanitizer keeps freed memory in a quarantine of up to 256 MiB, which would show as RSS
  // growth whatever the server holds on to; a small one keeps RSS a measure of live memory.
  const char* asan = std::getenv("ASAN_OPTIONS");
  serve_test_database({std::string("ASAN_OPTIONS=") + (asan ? std::string(asan) + ":" : "") +
                       "quarantine_size_mb=4:thread_local_quarantine_size_kb=64"});
  auto http = client();
  const auto project = create_project(*http, "firehose");
  const auto task = create_task(*http, project, "chatty");
  const auto server = [this] { return serve_->endpoint(); };

  // The silent client: subscribed and live, then it never reads again.
  WsClient silent(serve_->endpoint(), 4096);
  ASSERT_EQ(silent.connect("/v1/stream?project=" + project + "&after=0", token_), 101u);
  std::vector<std::int64_t> silent_positions;
  for (bool live = false; !live;) {
    const auto m = silent.next();
    const std::string type = m["type"].GetString();
    if (type == "event") silent_positions.push_back(m["event"]["position"].GetInt64());
    live = type == "caught_up";
  }
  // The silent client is closed once a write to it has waited 30 s, which may come early in the
  // run. A trickling client (a message every 50 ms) falls behind just as far and stays subscribed
  // for the whole run, so the server must hold it bounded throughout. When the server closes it
  // too, it resumes with after=<last> like any client; see the note at the end.
  Subscriber trickle(server, token_, project, {.receive_buffer = 0, .per_message = 50ms});
  std::vector<std::unique_ptr<Subscriber>> readers;
  for (int i = 0; i < kReaders; ++i) readers.push_back(std::make_unique<Subscriber>(server, token_, project));
  ASSERT_TRUE(eventually([&] {
    return trickle.live() && std::all_of(readers.begin(), readers.end(), [](const auto& r) { return r->live(); });
  }));
  const auto rss_connected = *serve_->rss_bytes();

  // The firehose appends one batch at a time, as this test was sized for: pipelined flights
  // (events/append_pipeline.hpp) append ~1.5x faster than this sanitizer build's server fans out,
  // and the readers' growing backlog then costs more than the bound below allows for allocator slack
  // (peak +18 MiB where 15 are allowed) although every queue stays within its bound.
  auto store_options = projections::engine_store_options(conninfo_);
  store_options.pipeline_depth = 0;
  events::EventStore store(std::move(store_options));
  const auto start = std::chrono::steady_clock::now();
  append_messages(store, *parse_uuid(project), *parse_uuid(task), user_id_, kWarmUpEvents);
  const auto warm_head = head();
  ASSERT_TRUE(eventually([&] {
    return std::all_of(readers.begin(), readers.end(), [&](const auto& r) { return r->last_position() >= warm_head; });
  }, 120s)) << "the readers did not receive the warm-up events";
  const auto rss_baseline = *serve_->rss_bytes();

  std::size_t rss_peak = 0;
  {
    RssSampler sampler(*serve_);
    append_messages(store, *parse_uuid(project), *parse_uuid(task), user_id_, kEvents - kWarmUpEvents);
    const auto append_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const auto final_head = head();
    for (auto& r : readers) r->finish_at(final_head);
    EXPECT_TRUE(eventually([&] {
      return std::all_of(readers.begin(), readers.end(), [](const auto& r) { return r->finished(); });
    }, 120s)) << "the readers did not receive every event";
    rss_peak = sampler.peak();
    std::cout << kEvents << " events appended in " << append_seconds << " s ("
              << static_cast<int>(kEvents / append_seconds) << " events/s)\n";
  }
  for (auto& r : readers) r->join();

  ASSERT_TRUE(eventually([&] { return metric(*serve_, "tasklog_stream_slow_closes_total") >= 1; }, 120s, 250ms))
      << "the silent subscriber was never closed";
  trickle.stop();
  trickle.join();

  // The readers: every event of the project, in order, once, on the connection they opened.
  std::vector<std::int64_t> timeline;
  {
    pqxx::connection c{conninfo_};
    pqxx::work tx{c};
    for (const auto& row : tx.exec_params("SELECT position FROM events WHERE project_id = $1 ORDER BY position", project)) {
      timeline.push_back(row[0].as<std::int64_t>());
    }
  }
  ASSERT_EQ(timeline.size(), static_cast<std::size_t>(kEvents + 2));  // + ProjectCreated, TaskCreated
  const auto beginning = [&](std::size_t n) { return std::vector<std::int64_t>(timeline.begin(), timeline.begin() + n); };
  std::vector<double> latencies;
  for (int i = 0; i < kReaders; ++i) {
    EXPECT_EQ(readers[i]->positions(), timeline) << "reader " << i << " has a gap, a duplicate or a wrong order";
    EXPECT_EQ(readers[i]->connections(), 1) << "reader " << i << " was disconnected";
    for (const auto& n : readers[i]->notes()) ADD_FAILURE() << "reader " << i << ": " << n;
    const auto l = readers[i]->latencies_ms();
    latencies.insert(latencies.end(), l.begin(), l.end());
  }
  std::cout << "readers' recorded_at-to-receipt latency over " << latencies.size() << " deliveries: p50 "
            << percentile(latencies, 50) << " ms, p99 " << percentile(latencies, 99) << " ms, max "
            << percentile(latencies, 100) << " ms\n";
  // The trickling client: what it got, across its resumptions, is the timeline's beginning.
  // Note: it reads ~19 KB/s; the server could close it as "not reading" when the send buffer of a
  // loopback connection grew to MiBs (Linux wakes a writer only when a third or so of a full send
  // buffer has drained). The bounded SO_SNDBUF (StreamOptions::send_buffer_bytes) keeps such a
  // write to seconds; a close on a loaded machine is still allowed, and then it resumes.
  const auto trickled = trickle.positions();
  ASSERT_LE(trickled.size(), timeline.size());
  EXPECT_EQ(trickled, beginning(trickled.size())) << "the trickling client has a gap or a duplicate";
  std::cout << "trickling client: " << trickled.size() << " events received over " << trickle.connections()
            << " connections, " << timeline.size() - trickled.size() << " behind at the end";
  for (const auto& n : trickle.notes()) std::cout << "; " << n;
  std::cout << "\n";

  // The silent client: what was in flight arrives, then the close frame (or, when the frame could
  // not be queued within the close timeout, the connection ends).
  EXPECT_LE(metric(*serve_, "tasklog_stream_queue_high_water"), static_cast<double>(kQueueMessages));
  std::cout << "stream metrics: queue high water " << metric(*serve_, "tasklog_stream_queue_high_water")
            << ", queue full " << metric(*serve_, "tasklog_stream_queue_full_total") << ", ring misses "
            << metric(*serve_, "tasklog_stream_ring_misses_total") << ", slow closes "
            << metric(*serve_, "tasklog_stream_slow_closes_total") << "\n";
  for (;;) {
    std::optional<std::string> text;
    try {
      text = silent.next_text();
    } catch (const std::exception& e) {
      std::cout << "silent client: the connection ended with " << e.what() << "\n";
      break;
    }
    if (!text) break;
    rapidjson::Document m;
    m.Parse(text->c_str());
    if (std::string(m["type"].GetString()) == "event") silent_positions.push_back(m["event"]["position"].GetInt64());
  }
  if (silent.close_code() != 0) {
    EXPECT_EQ(silent.close_code(), 1008u);
    EXPECT_EQ(silent.close_reason(), "the client is not reading its messages");
  }
  ASSERT_LE(silent_positions.size(), timeline.size());
  EXPECT_EQ(silent_positions, beginning(silent_positions.size()));
  std::cout << "silent client: received " << silent_positions.size() << " events, then close code "
            << silent.close_code() << " \"" << silent.close_reason() << "\"\n";

  // Memory. The baseline already holds what the design bounds: the ring of 10,000 recent events and
  // each session's queue of at most 1,024 messages. Were the trickling client's messages queued
  // without a bound (even as frames shared by every session), the last 35,000 events would add at
  // least their size as sent; half of that is the bound, the other half left to allocator and
  // sanitizer slack.
  std::uint64_t bytes = 0, messages = 0;
  for (const auto& r : readers) {
    bytes += r->event_bytes();
    messages += r->positions().size();
  }
  const auto message_bytes = static_cast<std::size_t>(bytes / std::max<std::uint64_t>(messages, 1));
  const std::size_t unbounded_growth = static_cast<std::size_t>(kEvents - kWarmUpEvents) * message_bytes;
  const std::size_t bound = unbounded_growth / 2;
  std::cout << "serve RSS: " << rss_connected / MiB << " MiB with the subscribers connected, " << rss_baseline / MiB
            << " MiB after " << kWarmUpEvents << " events, peak " << rss_peak / MiB << " MiB over the remaining "
            << kEvents - kWarmUpEvents << " (messages of " << message_bytes << " bytes: an unbounded queue would grow by "
            << unbounded_growth / MiB << " MiB; growth allowed " << bound / MiB << " MiB)\n";
  EXPECT_LE(rss_peak, rss_baseline + bound);
}

}  // namespace
}  // namespace tasklog::testing
