// Metrics for /metrics in the Prometheus text format (version 0.0.4): requests by route and
// status, request latency histograms by route, and gauges/counters read from the event store,
// the reaper, the database pool and (later) the live subscribers at scrape time.
//
// Thread-safety: observe_request() from any thread; render() from any thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace tasklog::api {

struct ApiServices;

class Metrics {
 public:
  Metrics();
  ~Metrics();
  void observe_request(std::string_view route, unsigned status, std::chrono::nanoseconds latency);
  // Extra text appended to every scrape (e.g. the WebSocket hub's gauges), already formatted.
  void add_collector(std::function<std::string()> collector);
  std::string render(const ApiServices& services) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tasklog::api
