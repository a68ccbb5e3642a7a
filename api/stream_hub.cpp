// StreamHub: the LISTEN thread, the ring of recent events, the session registry and the stream's
// metrics.
#include "api/stream_hub.hpp"

#include "core/time.hpp"
#include "events/database.hpp"
#include "events/event_reader.hpp"
#include "events/subscription.hpp"

#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <spdlog/spdlog.h>

namespace tasklog::api {
namespace {

using namespace std::chrono_literals;

// How long the LISTEN thread waits per call: bounds how long stop() takes.
constexpr auto kFeedWait = 200ms;

// After the wake interval, how long the next read may wait for the sessions to take the last one.
constexpr auto kRoundWait = 1s;

// Frame bodies kept for the sessions that wake later in the same round. Sessions in step need the
// last few; the bound keeps memory flat when they are not.
constexpr std::size_t kFrameCacheBytes = 4 * 1024 * 1024;

void put_string(rapidjson::Writer<rapidjson::StringBuffer>& w, const std::string& text) {
  w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

}  // namespace

std::string event_json(const events::RecordedEvent& e) {
  // Members and order of event_json_sql() in api/routes_events.cpp; payload and metadata are the
  // jsonb text the log returns, embedded as they are (tests compare with GET /v1/events).
  rapidjson::StringBuffer out;
  rapidjson::Writer<rapidjson::StringBuffer> w(out);
  w.StartObject();
  w.Key("position");
  w.Int64(e.position);
  w.Key("event_id");
  put_string(w, to_string(e.event_id));
  w.Key("stream_id");
  put_string(w, to_string(e.stream_id));
  w.Key("stream_type");
  put_string(w, e.stream_type);
  w.Key("version");
  w.Int64(e.version);
  w.Key("project_id");
  put_string(w, to_string(e.project_id));
  w.Key("task_id");
  if (e.task_id) put_string(w, to_string(*e.task_id));
  else w.Null();
  w.Key("actor_id");
  put_string(w, to_string(e.actor_id));
  w.Key("type");
  put_string(w, e.type);
  w.Key("schema_version");
  w.Int(e.schema_version);
  w.Key("payload");
  w.RawValue(e.payload.data(), e.payload.size(), rapidjson::kObjectType);
  w.Key("metadata");
  w.RawValue(e.metadata.data(), e.metadata.size(), rapidjson::kObjectType);
  w.Key("recorded_at");
  put_string(w, format_timestamp(e.recorded_at));
  w.Key("prev_hash");
  put_string(w, to_hex(e.prev_hash));
  w.Key("hash");
  put_string(w, to_hex(e.hash));
  w.EndObject();
  return std::string(out.GetString(), out.GetSize());
}

bool changes_membership(const StreamEvent& e) {
  return e.type == "ProjectMemberAdded" || e.type == "ProjectMemberRemoved";
}

void StreamCounters::note_queue_depth(std::int64_t depth, std::int64_t bytes) {
  auto seen = queue_high_water.load();
  while (depth > seen && !queue_high_water.compare_exchange_weak(seen, depth)) {
  }
  auto seen_bytes = queue_bytes_high_water.load();
  while (bytes > seen_bytes && !queue_bytes_high_water.compare_exchange_weak(seen_bytes, bytes)) {
  }
}

StreamHub::Frame StreamHub::take_frame(const FrameQuery& query) {
  Frame frame;
  frame.cursor = query.cursor;
  std::shared_lock lock(ring_mutex_);
  frame.head = head_;
  if (query.cursor < floor_) {
    frame.missed = true;
    return frame;
  }
  if (query.cursor >= head_) return frame;
  // Positions are gapless, so the index is arithmetic; the check keeps us right if they were not.
  auto begin = static_cast<std::size_t>(query.cursor - floor_);
  if (begin >= ring_.size() || ring_[begin]->position != query.cursor + 1) {
    begin = 0;
    while (begin < ring_.size() && ring_[begin]->position <= query.cursor) ++begin;
  }
  const auto wanted = [&](const StreamEvent& e) {
    return e.project_id == query.project && (!query.task || e.task_id == query.task);
  };
  std::size_t first = 0, last = 0, bytes = 0;
  for (auto i = begin; i < ring_.size(); ++i) {
    const auto& e = *ring_[i];
    if (e.project_id == query.project && e.position > query.checked_through && changes_membership(e)) {
      frame.membership_change = e.position;
      break;
    }
    if (wanted(e)) {
      const auto size = e.json->size() + (frame.events > 0 ? 1 : 0);  // and a comma
      if (frame.events > 0 && (frame.events >= query.max_events || bytes + size > query.max_bytes)) break;
      if (frame.events == 0) first = i;
      last = i;
      bytes += size;
      ++frame.events;
    }
    frame.cursor = e.position;
  }
  if (frame.events == 0) return frame;
  ++counters_.live_frames;
  if (frame.events == 1) {
    frame.body = ring_[first]->json;
    return frame;
  }
  const FrameKey key{ring_[last]->position, ring_[first]->position, query.project, query.task};
  std::lock_guard frames_lock(frames_mutex_);
  if (const auto it = frames_.find(key); it != frames_.end()) {
    frame.body = it->second;
    return frame;
  }
  // Joined under the lock: the sessions after this one wait a memcpy's time and find it.
  auto body = std::make_shared<std::string>();
  body->reserve(bytes);
  for (auto i = first; i <= last; ++i) {
    const auto& e = *ring_[i];
    if (!wanted(e)) continue;
    if (!body->empty()) body->push_back(',');
    body->append(*e.json);
  }
  ++counters_.frame_bodies;
  frames_bytes_ += body->size();
  frame.body = frames_.emplace(key, std::move(body)).first->second;
  // The oldest first: bodies that end before the ring's floor no session can ask for any more.
  while (!frames_.empty() && (frames_bytes_ > kFrameCacheBytes || frames_.begin()->first.last <= floor_)) {
    frames_bytes_ -= frames_.begin()->second->size();
    frames_.erase(frames_.begin());
  }
  return frame;
}

std::shared_ptr<const std::string> StreamHub::shared_json(const events::RecordedEvent& e) {
  {
    std::lock_guard lock(shared_json_mutex_);
    if (const auto it = shared_json_.find(e.position); it != shared_json_.end())
      if (auto json = it->second.lock()) return json;
  }
  auto json = std::make_shared<const std::string>(event_json(e));  // outside the lock: the slow part
  std::lock_guard lock(shared_json_mutex_);
  auto& slot = shared_json_[e.position];
  if (auto other = slot.lock()) return other;  // another session made it meanwhile
  slot = json;
  if (shared_json_.size() >= shared_json_prune_at_) {
    // Amortized: forget the events nobody holds any more, then wait until the map doubles again.
    std::erase_if(shared_json_, [](const auto& entry) { return entry.second.expired(); });
    shared_json_prune_at_ = std::max<std::size_t>(4096, 2 * shared_json_.size());
  }
  return json;
}

StreamHub::StreamHub(std::string conninfo, StreamOptions options)
    : conninfo_(std::move(conninfo)), options_(std::move(options)) {
  if (options_.ring_size == 0) options_.ring_size = 1;
  if (options_.queue_messages < 2) options_.queue_messages = 2;  // an event and a caught_up must fit
  if (options_.catchup_batch == 0) options_.catchup_batch = 1;
  if (options_.queue_bytes < 2) options_.queue_bytes = 2;  // a table read's budget is half of it, at least 1
}

StreamHub::~StreamHub() { stop(); }

void StreamHub::start() {
  if (thread_.joinable()) return;
  events::Position start = 0;
  {
    auto connection = events::open_connection(conninfo_, "tasklog_app");
    pqxx::read_transaction tx(*connection);
    start = events::EventReader(tx).head();
  }
  {
    std::unique_lock lock(ring_mutex_);
    floor_ = head_ = start;
  }
  stopping_ = false;
  thread_ = std::thread([this, start] { run(start); });
}

void StreamHub::stop() {
  {
    std::lock_guard lock(feed_mutex_);
    stopping_ = true;
  }
  feed_wakeup_.notify_all();
  if (thread_.joinable()) thread_.join();
}

events::Position StreamHub::head() const {
  std::shared_lock lock(ring_mutex_);
  return head_;
}

events::Position StreamHub::floor() const {
  std::shared_lock lock(ring_mutex_);
  return floor_;
}

void StreamHub::run(events::Position start) {
  events::SubscriptionOptions subscription_options;
  subscription_options.conninfo = conninfo_;
  subscription_options.after = start;
  subscription_options.poll_interval = options_.poll_interval;
  events::Subscription subscription(std::move(subscription_options));
  auto last_read = std::chrono::steady_clock::now() - options_.wake_interval;  // the first read waits for nothing
  while (!stopping_) {
    try {
      // At most one read per wake_interval: what commits meanwhile waits for the next read, which
      // returns all of it (next() reads at once when a notification is waiting on its socket), so
      // a burst reaches the sessions as one wake-up and nothing waits for the poll. Under load,
      // also not before every session woken by the last read has taken it: a read on top of an
      // unfinished round only piles up work and makes the sessions fall out of step (each then
      // joins a frame body of its own), while one read later brings the same events in fewer,
      // shared frames. The interval thus grows with the fan-out's cost, and is wake_interval
      // when the sessions keep up.
      {
        std::unique_lock lock(feed_mutex_);
        const auto earliest = last_read + options_.wake_interval;
        if (feed_wakeup_.wait_until(lock, earliest, [&] { return stopping_.load(); })) break;
        feed_wakeup_.wait_until(lock, earliest + kRoundWait,
                                [&] { return stopping_.load() || wakes_pending_.load() <= 0; });
        if (stopping_) break;
      }
      auto batch = subscription.next(kFeedWait);
      if (batch.empty()) continue;
      last_read = std::chrono::steady_clock::now();
      ++counters_.feed_reads;
      publish(std::move(batch));
    } catch (const std::exception& e) {
      // A non-retryable database error: log it and keep following (the subscription reconnects).
      spdlog::error("stream: reading the log failed: {}", e.what());
      std::this_thread::sleep_for(kFeedWait);
    }
  }
}

void StreamHub::publish(std::vector<events::RecordedEvent> batch) {
  // Serialized once here, outside the lock; every session sends the same text.
  std::vector<std::shared_ptr<const StreamEvent>> converted;
  converted.reserve(batch.size());
  for (auto& e : batch) {
    auto json = std::make_shared<const std::string>(event_json(e));  // before e.type is moved from
    converted.push_back(std::make_shared<const StreamEvent>(StreamEvent{
        .position = e.position,
        .project_id = e.project_id,
        .task_id = e.task_id,
        .type = std::move(e.type),
        .json = std::move(json),
    }));
  }
  {
    std::unique_lock lock(ring_mutex_);
    for (auto& e : converted) {
      head_ = e->position;
      ring_bytes_ += e->json->size();
      ring_.push_back(std::move(e));
    }
    // The newest event always stays (a ring empty above its floor would look like a gap).
    while (ring_.size() > options_.ring_size || (ring_bytes_ > options_.ring_bytes && ring_.size() > 1)) {
      floor_ = ring_.front()->position;
      ring_bytes_ -= ring_.front()->json->size();
      ring_.pop_front();
    }
  }
  notify_all();
}

std::vector<std::shared_ptr<StreamListener>> StreamHub::snapshot() {
  std::vector<std::shared_ptr<StreamListener>> live;
  std::lock_guard lock(listeners_mutex_);
  live.reserve(listeners_.size());
  for (const auto& [id, weak] : listeners_)
    if (auto listener = weak.lock()) live.push_back(std::move(listener));
  return live;
}

void StreamHub::notify_all() {
  // Outside the registry lock: a session destroyed by our last reference unregisters itself.
  for (const auto& listener : snapshot()) {
    ++wakes_pending_;  // before the post: its handler may run at once
    if (!listener->on_log_advanced()) --wakes_pending_;
  }
}

void StreamHub::wake_done() {
  if (--wakes_pending_ > 0) return;
  std::lock_guard lock(feed_mutex_);  // so that the LISTEN thread cannot miss it between its check and its wait
  feed_wakeup_.notify_all();
}

std::uint64_t StreamHub::add_listener(const std::shared_ptr<StreamListener>& listener, bool& going_away) {
  std::lock_guard lock(listeners_mutex_);
  going_away = going_away_;
  const auto id = next_listener_id_++;
  listeners_.emplace(id, listener);
  return id;
}

void StreamHub::remove_listener(std::uint64_t id) {
  {
    std::lock_guard lock(listeners_mutex_);
    listeners_.erase(id);
  }
  listeners_gone_.notify_all();
}

std::size_t StreamHub::listener_count() const {
  std::lock_guard lock(listeners_mutex_);
  return listeners_.size();
}

void StreamHub::go_away_all() {
  {
    std::lock_guard lock(listeners_mutex_);
    going_away_ = true;
  }
  for (const auto& listener : snapshot()) listener->go_away();
}

bool StreamHub::wait_for_no_listeners(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(listeners_mutex_);
  return listeners_gone_.wait_until(lock, deadline, [&] { return listeners_.empty(); });
}

std::string StreamHub::metrics_text() {
  std::string out;
  auto put = [&](std::string_view name, std::string_view type, std::string_view help, auto value) {
    fmt::format_to(std::back_inserter(out), "# HELP {0} {1}\n# TYPE {0} {2}\n{0} {3}\n", name, help, type, value);
  };
  std::size_t ring_events = 0;
  events::Position head = 0;
  std::size_t frame_cache_bytes = 0;
  {
    std::shared_lock lock(ring_mutex_);
    ring_events = ring_.size();
    head = head_;
  }
  {
    std::lock_guard lock(frames_mutex_);
    frame_cache_bytes = frames_bytes_;
  }
  put("tasklog_stream_sessions", "gauge", "Open WebSocket sessions (GET /v1/stream).", listener_count());
  put("tasklog_stream_subscriptions", "gauge", "Subscriptions over all WebSocket sessions.", counters_.subscriptions.load());
  put("tasklog_stream_queued_messages", "gauge", "Messages queued for sending over all sessions.",
      counters_.queued_messages.load());
  put("tasklog_stream_queue_high_water", "gauge", "The most messages any one session has held queued.",
      counters_.queue_high_water.load());
  put("tasklog_stream_queue_bytes_high_water", "gauge", "The most bytes any one session has held queued.",
      counters_.queue_bytes_high_water.load());
  put("tasklog_stream_queue_bound", "gauge", "The per-session queue bound (messages).", options_.queue_messages);
  put("tasklog_stream_queue_bytes_bound", "gauge", "The per-session queue bound (bytes; one event may pass it).",
      options_.queue_bytes);
  put("tasklog_stream_ring_events", "gauge", "Recent events held in memory for catch-up.", ring_events);
  put("tasklog_stream_head_position", "gauge", "The last log position the stream has seen.", head);
  put("tasklog_stream_frame_cache_bytes", "gauge", "Bytes of recent live frame bodies kept for sessions to share.",
      frame_cache_bytes);
  put("tasklog_stream_messages_sent_total", "counter", "Messages written to WebSocket clients (an event in a batch frame counts once).", counters_.messages_sent.load());
  put("tasklog_stream_ring_misses_total", "counter",
      "Subscriptions that fell behind the ring and went back to catch-up from the table.", counters_.ring_misses.load());
  put("tasklog_stream_queue_full_total", "counter", "Subscriptions paused because their session's queue was full.",
      counters_.queue_full.load());
  put("tasklog_stream_catchup_reads_total", "counter", "Table reads made for subscriptions.",
      counters_.catchup_reads.load());
  put("tasklog_stream_slow_closes_total", "counter", "Sessions closed because the client did not read.",
      counters_.slow_closes.load());
  put("tasklog_stream_token_closes_total", "counter", "Sessions closed because their token was revoked or expired.",
      counters_.token_closes.load());
  put("tasklog_stream_feed_reads_total", "counter",
      "Log reads by the LISTEN thread (one per notification burst, at most one per wake interval).",
      counters_.feed_reads.load());
  put("tasklog_stream_live_frames_total", "counter", "Frames of live events taken from the ring by sessions.",
      counters_.live_frames.load());
  put("tasklog_stream_frame_bodies_total", "counter",
      "Bodies of several events joined for live frames (the other frames of several events shared one).",
      counters_.frame_bodies.load());
  return out;
}

}  // namespace tasklog::api
