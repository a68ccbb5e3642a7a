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

 private:
  struct Connection;
  bool ensure_connected();
  std::vector<RecordedEvent> read();

  SubscriptionOptions options_;
  Position cursor_{};
  std::unique_ptr<Connection> conn_{};
};

}  // namespace tasklog::events
