#include "events/subscription.hpp"

#include "events/database.hpp"
#include "events/event_reader.hpp"

#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include <thread>

namespace tasklog::events {

struct Subscription::Connection {
  // A receiver that only records that something arrived; the payload (a position) is a hint we
  // do not need, because every wake-up re-reads from the cursor.
  class Receiver : public pqxx::notification_receiver {
   public:
    Receiver(pqxx::connection_base& c, bool& flag) : pqxx::notification_receiver(c, kNotifyChannel), flag_(flag) {}
    void operator()(const std::string&, int) override { flag_ = true; }

   private:
    bool& flag_;
  };

  std::unique_ptr<pqxx::connection> db;
  std::unique_ptr<Receiver> receiver;
  bool notified = false;
};

Subscription::Subscription(SubscriptionOptions options) : options_(std::move(options)), cursor_(options_.after) {}

Subscription::~Subscription() = default;

bool Subscription::connected() const { return conn_ && conn_->db && conn_->db->is_open(); }

bool Subscription::ensure_connected() {
  if (connected()) return true;
  try {
    auto c = std::make_unique<Connection>();
    c->db = open_connection(options_.conninfo, options_.role);
    c->receiver = std::make_unique<Connection::Receiver>(*c->db, c->notified);
    c->db->get_notifs();  // issues the LISTEN now, before the first read, so no commit is missed
    conn_ = std::move(c);
    return true;
  } catch (const std::exception& e) {
    spdlog::debug("subscription: cannot connect: {}", e.what());
    conn_.reset();
    return false;
  }
}

std::vector<RecordedEvent> Subscription::read() {
  pqxx::read_transaction tx(*conn_->db);
  auto events = EventReader(tx).after(cursor_, options_.batch_size);
  ++reads_;
  if (!events.empty()) cursor_ = events.back().position;
  // A full batch: the rest is read at once, notified or not.
  read_due_ = events.size() >= options_.batch_size;
  return events;
}

std::vector<RecordedEvent> Subscription::next(std::chrono::milliseconds timeout) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    try {
      if (!connected()) read_due_ = true;  // a new connection may have missed notifications: read
      if (ensure_connected()) {
        // Notifications that came while nobody waited are on the socket: take them first.
        conn_->db->get_notifs();
        auto now = Clock::now();
        if (read_due_ || conn_->notified || now - last_read_ >= options_.poll_interval) {
          conn_->notified = false;
          last_read_ = now;
          read_due_ = true;  // until a read succeeds: a failed one must not use up the notification
          auto events = read();
          if (!events.empty()) return events;
          now = Clock::now();
        }
        const auto left = deadline - now;
        if (left <= Clock::duration::zero()) return {};
        // Until a notification, the deadline or the next poll, whichever comes first — rounded up to
        // the millisecond libpq's wait counts in, so that it does not wake early and spin on zero.
        const auto poll_left = std::max<Clock::duration>(last_read_ + options_.poll_interval - now, Clock::duration::zero());
        const auto wait = std::chrono::duration_cast<std::chrono::microseconds>(
            std::chrono::ceil<std::chrono::milliseconds>(std::min(left, poll_left)));
        conn_->db->await_notification(static_cast<long>(wait.count() / 1000000), static_cast<long>(wait.count() % 1000000));
        continue;
      }
    } catch (const pqxx::broken_connection& e) {
      spdlog::debug("subscription: connection lost: {}", e.what());
      conn_.reset();
    } catch (const pqxx::sql_error& e) {
      if (!is_retryable(e)) throw;
      conn_.reset();
    }
    const auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::milliseconds::zero()) return {};
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(left, options_.reconnect_delay));
  }
}

}  // namespace tasklog::events
