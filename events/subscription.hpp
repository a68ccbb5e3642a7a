// Subscription: follows the log from a cursor, in position order, without gaps or duplicates.
//
// NOTIFY is only a wake-up: the subscription LISTENs before it first reads, always re-reads from
// its cursor (so a lost or coalesced notification costs nothing but latency), polls when no
// notification comes, and after a lost connection reconnects and re-reads from the cursor.
//
// Thread-safety: one thread uses a Subscription at a time.
#pragma once

#include "events/event.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tasklog::events {

struct SubscriptionOptions {
  std::string conninfo{};
  std::optional<std::string> role = "tasklog_app";
  Position after = 0;                                      // start after this position
  std::size_t batch_size = 1000;                           // events per read
  std::chrono::milliseconds poll_interval{500};            // re-read even without a notification
  std::chrono::milliseconds reconnect_delay{200};
};

class Subscription {
 public:
  explicit Subscription(SubscriptionOptions options);
  ~Subscription();
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;

  // The next events after the cursor, waiting up to `timeout` when there are none. An empty
  // result means nothing arrived in time (or the database is unreachable right now). Never
  // throws for connection trouble; it reconnects on the next call.
  std::vector<RecordedEvent> next(std::chrono::milliseconds timeout);

  Position cursor() const { return cursor_; }
  bool connected() const;
  // Reads of the log so far (empty ones included): what following it costs the database.
  std::uint64_t reads() const { return reads_; }

 private:
  struct Connection;
  bool ensure_connected();
  std::vector<RecordedEvent> read();

  SubscriptionOptions options_;
  Position cursor_{};
  std::unique_ptr<Connection> conn_{};
  std::uint64_t reads_ = 0;
  // When the last read was, and whether it filled a whole batch (more may be waiting): next()
  // reads again only then, after a notification, or once the poll interval has passed — a caller
  // that asks every 200 ms of an idle log must not cost a read per call (it cost two).
  std::chrono::steady_clock::time_point last_read_{};
  bool read_due_ = true;
};

}  // namespace tasklog::events
