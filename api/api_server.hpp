// ApiServer: the HTTP server of `tasklog serve`. Boost.Beast on an io_context run by one thread
// per core, one strand per connection (keep-alive; pipelined requests are answered in order),
// and a pool of worker threads that run the handlers, which block on the database; responses go
// back to the connection's strand.
//
// Owns the database pool, the EventStore (with the inline projector), the TaskEngine, the lease
// reaper, the metrics and the live-timeline hub (one LISTEN connection; WebSocket sessions on
// GET /v1/stream). stop() is graceful: stop accepting, close WebSocket sessions with 1001 going
// away, let in-flight requests finish (bounded by a timeout), then the store flushes its batch as
// it is destroyed.
#pragma once

#include "api/http_types.hpp"
#include "api/stream_options.hpp"
#include "api/task_reads.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace tasklog::api {

class Router;

struct ApiServerOptions {
  std::string conninfo{};
  boost::asio::ip::tcp::endpoint listen{boost::asio::ip::make_address("127.0.0.1"), 8080};  // port 0: any free port
  unsigned io_threads = 0;       // 0: one per core
  unsigned worker_threads = 16;  // handler threads (the pool has a connection for each, and one per lane below)
  HttpLimits limits{};
  TaskReadsOptions task_reads{};  // GET /v1/tasks/{id}: calls in flight at once, reads per call
  // The router's token sign-ins, shared like task reads but on lanes of their own: a task read held
  // up (by a rebuild's swap, say) must not hold up every authenticated request, nor the reverse.
  TaskReadsOptions sign_ins{};
  // The streams' token re-checks (one per session per heartbeat), on a lane of their own: sessions
  // of many tokens that heartbeat together (they reconnected together) queue one call per token,
  // which on the router's lanes would hold up every REST request's sign-in behind them.
  TaskReadsOptions stream_checks{.lanes = 1};
  std::chrono::seconds idle_timeout{60};      // a keep-alive connection with no request is closed
  std::chrono::seconds request_timeout{30};   // headers and body must arrive within this
  std::chrono::seconds shutdown_timeout{10};  // in-flight requests get this long on stop()
  bool run_reaper = true;
  StreamOptions stream{};  // GET /v1/stream (WebSocket): ring, queue bound, heartbeats, timeouts
  // Called after the standard routes are added: lets tests register probe routes (a handler that
  // blocks, one that needs auth but no tables) and later subsystems add theirs without editing
  // the server.
  std::function<void(Router&)> extra_routes{};
};

class ApiServer {
 public:
  explicit ApiServer(ApiServerOptions options);
  ~ApiServer();  // stop()
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  void start();  // binds and listens; returns at once (the server runs on its own threads)
  void stop();   // graceful; idempotent
  boost::asio::ip::tcp::endpoint endpoint() const;  // the bound address (the real port when 0 was asked)

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tasklog::api
