// A live-timeline subscriber with a thread of its own, as a dashboard would run one: it subscribes
// to a project on GET /v1/stream, records every event's position and how long after the event's
// recorded_at it arrived, and when the connection ends (the server closed it, or it failed) it
// reconnects with after=<the last position it received> — the documented resume.
//
// Thread-safety: the accessors may be called from any thread.
#pragma once

#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace tasklog::testing {

struct SubscriberPace {
  int receive_buffer = 0;                     // SO_RCVBUF of its socket; 0 keeps the system's
  std::chrono::milliseconds per_message{0};  // a pause after each message: a reader slower than the log
};

class Subscriber {
 public:
  // `server` is asked again on every (re)connection: a restarted server has a new port.
  Subscriber(std::function<boost::asio::ip::tcp::endpoint()> server, std::string token, std::string project,
             SubscriberPace pace = {});
  ~Subscriber();  // stop() and join
  Subscriber(const Subscriber&) = delete;
  Subscriber& operator=(const Subscriber&) = delete;

  // True once the initial subscription has reported caught_up (it is live).
  bool live() const { return live_; }
  std::int64_t last_position() const { return last_; }
  // The thread ends after receiving an event at `position` or later.
  void finish_at(std::int64_t position) { finish_at_ = position; }
  bool finished() const { return finished_; }
  // Ends the thread at its next message or connection attempt, whatever it has received.
  void stop() { stopping_ = true; }
  void join();

  std::vector<std::int64_t> positions() const;
  std::vector<double> latencies_ms() const;  // receipt time - recorded_at, per event
  int connections() const { return connections_; }  // successful upgrades
  std::uint64_t event_bytes() const { return event_bytes_; }  // the event messages' size, as received
  std::vector<std::string> notes() const;            // close codes, refused upgrades, errors, in order

 private:
  void run();
  void note(std::string text);

  std::function<boost::asio::ip::tcp::endpoint()> server_;
  std::string token_, project_;
  SubscriberPace pace_;
  std::atomic<bool> live_{false}, finished_{false}, stopping_{false};
  std::atomic<std::int64_t> last_{0};
  std::atomic<std::int64_t> finish_at_{INT64_MAX};
  std::atomic<int> connections_{0};
  std::atomic<std::uint64_t> event_bytes_{0};
  mutable std::mutex mutex_;
  std::vector<std::int64_t> positions_;
  std::vector<double> latencies_ms_;
  std::vector<std::string> notes_;
  std::thread thread_;
};

// The p-th percentile (0..100) of `values` (nearest rank); 0 when empty.
double percentile(std::vector<double> values, double p);

}  // namespace tasklog::testing
