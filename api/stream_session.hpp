// GET /v1/stream: the WebSocket live timeline (docs/http-api.md, "WebSocket stream").
//
// The HTTP session recognizes the upgrade request (is_stream_request), has a worker authenticate
// it (admit_stream: a Response means refused before the upgrade, e.g. 401), and then hands its
// socket to start_stream_session, which accepts the upgrade and runs the WebSocket session on the
// socket's strand until either side closes.
#pragma once

#include "api/http_types.hpp"
#include "api/stream_hub.hpp"
#include "api/task_reads.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>

#include <optional>
#include <string>
#include <variant>

namespace tasklog::api {

class DbPool;

// What sessions use; owned by the server and alive until every session has ended.
struct StreamContext {
  StreamHub& hub;
  DbPool& pool;                         // catch-up reads and access checks (as the user)
  boost::asio::thread_pool& workers;    // where those blocking reads run
  TaskReads& token_checks;              // the token checked again at every heartbeat (lanes of their own)
};

// One subscription as the client asked for it (a subscribe message or the upgrade's query).
struct StreamSubscribe {
  std::string id_json = "null";   // the client's id, as JSON text (a string or an integer)
  std::optional<Uuid> project{};
  std::optional<Uuid> task{};
  events::Position after = 0;
};

// An authenticated upgrade.
struct StreamGrant {
  Principal user{};
  std::string token{};                       // the bearer token it was admitted with (checked again)
  std::optional<StreamSubscribe> initial{};  // from ?project=&task=&after=&id=
  bool batch = false;                        // ?batch=true: several events per frame
  bool subprotocol = false;                  // the client offered kStreamSubprotocol: the answer names it
};

// Browsers cannot set headers on a WebSocket: they offer subprotocols instead, and a token in one
// stays out of the URL (which proxies log). A client offers `tasklog` and `tasklog.token.<token>`;
// the server answers `tasklog` and never echoes the token's entry.
inline constexpr std::string_view kStreamSubprotocol = "tasklog";
inline constexpr std::string_view kStreamTokenSubprotocol = "tasklog.token.";

// A WebSocket upgrade request for /v1/stream (any query string).
bool is_stream_request(const Request& request);

// Blocking (runs on a worker): authenticates the bearer token (Authorization header, else a
// `tasklog.token.<token>` subprotocol, else the access_token query parameter) and reads the initial subscription from the query.
// A Response is the refusal to send instead of upgrading (401 unauthorized, 400 validation_failed,
// 503 unavailable).
std::variant<Response, StreamGrant> admit_stream(const Request& request, DbPool& pool);

// Must run on the socket's strand. Accepts the upgrade and serves the session.
void start_stream_session(boost::asio::ip::tcp::socket socket, Request request, StreamGrant grant,
                          StreamContext context);

}  // namespace tasklog::api
