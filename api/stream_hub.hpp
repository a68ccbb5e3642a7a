// StreamHub: the process's one follower of the log for live timelines. A thread LISTENs through
// events::Subscription (one read per notification burst, at most one per wake_interval, whatever
// the number of subscribers), keeps the most recent events in a ring, and wakes every WebSocket
// session. Sessions pull from the ring on their own strands (shape of Beast's chat-multi example:
// weak_ptr snapshot under the registry lock, the wake-up posted to each session's strand), each at
// its own pace, so a slow session never holds the others back and never makes the hub buffer for
// it. A session takes a frame's worth of events at a time (take_frame); sessions at the same
// cursor get the same frame body, joined once.
//
// Thread-safety: every public member may be called from any thread.
#pragma once

#include "api/stream_options.hpp"
#include "core/ids.hpp"
#include "events/event.hpp"

#include <atomic>
#include <compare>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <thread>

namespace tasklog::api {

// An event as the stream sends it: the JSON object of GET /v1/events (shared by every session
// that sends it) and what filtering needs.
struct StreamEvent {
  events::Position position = 0;
  Uuid project_id{};
  std::optional<Uuid> task_id{};
  std::string type{};
  std::shared_ptr<const std::string> json{};
};

// The event object of GET /v1/events for one recorded event (same members, same order, same values).
std::string event_json(const events::RecordedEvent& e);
// A member was added to or removed from the event's project: who may see it changes.
bool changes_membership(const StreamEvent& e);

// A WebSocket session as the hub sees it. Both calls must return quickly (post to the strand).
class StreamListener {
 public:
  virtual ~StreamListener() = default;
  // The ring has new events. True when this posted a wake-up, whose handler calls
  // StreamHub::wake_done() once the session has taken what it can; false when one is still pending.
  virtual bool on_log_advanced() = 0;
  virtual void go_away() = 0;  // the server stops: close with 1001
};

// Figures for /metrics; updated by the sessions.
struct StreamCounters {
  std::atomic<std::int64_t> subscriptions{0};
  std::atomic<std::int64_t> queued_messages{0};     // over all sessions, now
  std::atomic<std::int64_t> queue_high_water{0};    // the most any one session ever held
  std::atomic<std::int64_t> queue_bytes_high_water{0};  // ... and the most bytes of events
  std::atomic<std::uint64_t> messages_sent{0};
  std::atomic<std::uint64_t> ring_misses{0};        // a subscription fell out of the ring: back to table catch-up
  std::atomic<std::uint64_t> queue_full{0};         // a subscription paused on a full queue
  std::atomic<std::uint64_t> catchup_reads{0};      // table reads by sessions (subscribe, catch-up, membership)
  std::atomic<std::uint64_t> slow_closes{0};        // sessions closed because the client did not read
  std::atomic<std::uint64_t> token_closes{0};       // sessions closed because their token was revoked or expired
  std::atomic<std::uint64_t> feed_reads{0};         // reads by the LISTEN thread (one per burst)
  std::atomic<std::uint64_t> live_frames{0};        // frames of events taken from the ring (take_frame)
  std::atomic<std::uint64_t> frame_bodies{0};       // bodies of several events joined for them (the rest shared)

  void note_queue_depth(std::int64_t depth, std::int64_t bytes);
};

class StreamHub {
 public:
  StreamHub(std::string conninfo, StreamOptions options);
  ~StreamHub();  // stop()
  StreamHub(const StreamHub&) = delete;
  StreamHub& operator=(const StreamHub&) = delete;

  // Reads the log's head (the ring starts there) and starts the LISTEN thread. Throws when the
  // database cannot be read.
  void start();
  void stop();  // joins the thread; idempotent

  const StreamOptions& options() const { return options_; }
  StreamCounters& counters() { return counters_; }

  // The ring holds the events in (floor, head]. A table read that started after head() was
  // observed sees every event up to it.
  events::Position head() const;
  events::Position floor() const;

  // What a subscription asks of the ring for its next frame.
  struct FrameQuery {
    Uuid project{};
    std::optional<Uuid> task{};           // only this task's events
    events::Position cursor = 0;          // the last position the subscription has looked at
    events::Position checked_through = 0;  // membership changes up to here need no new access check
    std::size_t max_events = 1;           // 1: a frame per event
    std::size_t max_bytes = 0;            // the body stops before this size (it has at least one event)
  };
  struct Frame {
    bool missed = false;        // the ring no longer holds cursor + 1: read the table
    events::Position head = 0;  // the ring's head during the take
    events::Position cursor = 0;  // the subscription's cursor after this frame (the last position looked at)
    // The frame stops before this event of the project: a member was added or removed, the access
    // check must run again (a table read as the user) before it or anything after it is sent.
    std::optional<events::Position> membership_change{};
    std::size_t events = 0;     // events in the body (0: nothing to send)
    // The event objects, comma-separated. Immutable and shared: every subscription of the project
    // that takes the same events gets the same body.
    std::shared_ptr<const std::string> body{};
  };
  // The next events after query.cursor that the subscription sends, as one frame body. The log is
  // immutable and gapless, so (project, task, first, last position) names a body exactly, and a
  // body joined once serves every session at the same cursor — a thousand sessions on one project
  // cost one join and no copy per wake-up. Recent bodies are kept (a few MiB at most, whatever the
  // number of sessions or events) so the sessions that wake later in the same round find them.
  Frame take_frame(const FrameQuery& query);

  // The JSON of an event a session read from the table, shared with every other session that
  // holds the same event at the same time: a thousand sessions catching up over one range keep
  // one copy of each event, not a thousand (table catch-up pages are the stream's only
  // per-session event copies; the ring's are shared already).
  std::shared_ptr<const std::string> shared_json(const events::RecordedEvent& e);

  // A wake-up posted by on_log_advanced() has run.
  void wake_done();

  // Sessions.
  // Registers a session; `going_away` is set when go_away_all() already ran (the session must
  // close at once: it was not in that snapshot).
  std::uint64_t add_listener(const std::shared_ptr<StreamListener>& listener, bool& going_away);
  void remove_listener(std::uint64_t id);
  std::size_t listener_count() const;
  void go_away_all();
  // Waits until every session has ended; false when the deadline passed first.
  bool wait_for_no_listeners(std::chrono::steady_clock::time_point deadline);

  // The Prometheus text of the gauges and counters (a Metrics collector).
  std::string metrics_text();

  // Appends events that follow head() to the ring and wakes every session. The LISTEN thread's;
  // public so that tests can feed a hub that was not started.
  void publish(std::vector<events::RecordedEvent> batch);

 private:
  struct FrameKey {
    events::Position last = 0;  // first member: the cache forgets the oldest bodies first
    events::Position first = 0;
    Uuid project{};
    std::optional<Uuid> task{};
    std::weak_ordering operator<=>(const FrameKey&) const = default;  // Boost's uuid has only == and <
  };

  void run(events::Position start);
  void notify_all();
  std::vector<std::shared_ptr<StreamListener>> snapshot();

  std::string conninfo_;
  StreamOptions options_;
  StreamCounters counters_;

  mutable std::shared_mutex ring_mutex_;
  std::deque<std::shared_ptr<const StreamEvent>> ring_;  // guarded by ring_mutex_
  events::Position floor_ = 0;                            // guarded by ring_mutex_
  std::size_t ring_bytes_ = 0;                            // the ring's events' JSON; guarded by ring_mutex_
  events::Position head_ = 0;                             // guarded by ring_mutex_

  std::mutex frames_mutex_;  // taken while ring_mutex_ is held (never the other way round)
  std::map<FrameKey, std::shared_ptr<const std::string>> frames_;  // guarded by frames_mutex_
  std::size_t frames_bytes_ = 0;                                   // guarded by frames_mutex_

  std::mutex shared_json_mutex_;
  std::unordered_map<events::Position, std::weak_ptr<const std::string>> shared_json_;  // guarded by it
  std::size_t shared_json_prune_at_ = 4096;                                           // guarded by it

  mutable std::mutex listeners_mutex_;
  std::condition_variable listeners_gone_;
  std::map<std::uint64_t, std::weak_ptr<StreamListener>> listeners_;  // guarded by listeners_mutex_
  std::uint64_t next_listener_id_ = 0;                                // guarded by listeners_mutex_
  bool going_away_ = false;                                           // guarded by listeners_mutex_

  std::atomic<bool> stopping_{false};
  std::atomic<std::int64_t> wakes_pending_{0};  // wake-ups posted to sessions and not run yet
  std::mutex feed_mutex_;                        // with feed_wakeup_: the LISTEN thread's waits (interval, round, stop)
  std::condition_variable feed_wakeup_;
  std::thread thread_;
};

}  // namespace tasklog::api
