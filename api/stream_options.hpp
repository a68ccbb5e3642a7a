// Settings of the live timelines (GET /v1/stream, WebSocket). Part of ApiServerOptions; the
// defaults are the documented ones (docs/http-api.md, "WebSocket stream").
#pragma once

#include <chrono>
#include <cstddef>

namespace tasklog::api {

struct StreamOptions {
  // Recent events kept in memory: a subscriber whose cursor is inside the ring catches up without
  // touching the database; an older cursor reads the table (under row-level security).
  std::size_t ring_size = 10000;
  // ... and at most about this many bytes of their JSON: an event may carry up to 256 KiB (an
  // artifact's content), and 10,000 such would hold ~2.5 GiB. The oldest leave first either way.
  std::size_t ring_bytes = 64 * 1024 * 1024;
  // Per-session bound of queued outgoing messages. A subscription that would overflow it stops
  // taking events and later resumes from its cursor (ring or table): memory per session is bounded
  // by this many messages, and nothing is dropped.
  std::size_t queue_messages = 1024;
  // ... and by about this many bytes of their events: 1,024 artifacts of 256 KiB would be 256 MiB
  // for one slow client. A table read asks PostgreSQL for a page of at most half of this, and no
  // more than is free (at least one event, whatever its size; the cut counts payload and metadata,
  // the queue the whole event's JSON), so a session holds about this much plus an event or two per
  // read in flight. At least 2 (StreamHub checks).
  std::size_t queue_bytes = 2 * 1024 * 1024;
  std::size_t catchup_batch = 500;       // events per table read (never more than the free queue)
  std::size_t max_subscriptions = 64;    // per connection
  // With ?batch=true, a frame carries the waiting events of one subscription up to about this many
  // bytes (at least one event, whatever its size).
  std::size_t batch_bytes = 64 * 1024;
  std::size_t max_message_bytes = 64 * 1024;  // a client message larger than this closes the connection (1009)
  std::chrono::milliseconds heartbeat_interval{15000};  // {"type":"heartbeat"} (also checks for a stalled write)
  // A write that has not completed after this long means the client is not reading: the session
  // is closed with 1008 (policy violation) and a reason.
  std::chrono::milliseconds stall_timeout{30000};
  // How long a queued close frame (going away, not reading) may wait before the socket is dropped.
  std::chrono::milliseconds close_timeout{5000};
  // Beast's keep-alive: a ping after half of this with nothing received, closed after all of it.
  std::chrono::seconds idle_timeout{300};
  std::chrono::milliseconds poll_interval{500};  // the LISTEN connection re-reads without a notification
  // The LISTEN thread reads the log (and wakes the sessions) at most once per this interval. Events
  // that commit closer together reach each session as one wake-up and, with batch frames, one frame,
  // so the frames per second a session costs are bounded whatever the event rate: writing and
  // reading a frame costs about as much as an event in it (~10 µs here), and 1,000 sessions at
  // 1,000 events/s were 1,000,000 frames/s, more than the machine had. The price is up to this much
  // added latency while events arrive faster than the interval; after a quiet interval the next
  // notification is read at once. Under load a read also waits until the sessions have taken the
  // last one (StreamHub::run), so the interval grows with the fan-out's cost. 0: no interval.
  std::chrono::milliseconds wake_interval{5};
  // SO_SNDBUF of WebSocket connections (0 keeps the system's; tests shrink it). Bounded by default:
  // Linux wakes a blocked writer only after much of a full send buffer has drained, and with an
  // auto-tuned buffer of several MiB a client that reads slowly but steadily (~20 KB/s) saw one
  // write wait longer than stall_timeout and was closed as "not reading" (found by
  // tests/reliability/slow_subscriber_pgtest.cpp). With 256 KiB it waits seconds, not minutes.
  int send_buffer_bytes = 256 * 1024;
};

}  // namespace tasklog::api
