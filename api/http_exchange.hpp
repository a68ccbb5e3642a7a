// The socket-free part of one HTTP exchange of `tasklog serve`: the request parser's limits, what a
// failed read answers, the server's route table, the handling of a parsed request, and the last
// touches on a response before it is written. ApiServer's sessions use these around their async
// reads and writes; the fuzz targets (tests/fuzz) drive the same functions over bytes in memory, so
// both exercise one code path.
#pragma once

#include "api/http_types.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/beast/core/error.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace tasklog::api {

class Router;
struct ApiServices;

using RequestParser = http::request_parser<http::string_body>;

// The body and header limits of `limits` on a fresh parser (one per request).
void apply_limits(RequestParser& parser, const HttpLimits& limits);

// What a failed read of a request answers before the connection closes: 413 or 431 over a limit,
// 400 for a request that is not HTTP; nullopt to close without a word (the client left, timed out
// or stopped mid-message).
std::optional<DomainError> read_error_reply(boost::beast::error_code ec, const HttpLimits& limits);

// Every route `tasklog serve` answers: /healthz, /readyz, /metrics, /v1 (with /mcp), and a plain
// GET /v1/stream (the WebSocket upgrade never reaches the router).
void add_server_routes(Router& router);

// Router::dispatch with the request counted in the metrics. Never throws.
Response handle_request(const Router& router, ApiServices& services, const Request& request);

// The same without waiting for an asynchronous route: `done` gets the response on `where` (the
// connection's strand), where its maker runs too — whichever thread completed the work only posts.
// Never throws.
void handle_request_async(const Router& router, ApiServices& services, std::shared_ptr<const Request> request,
                          boost::asio::any_io_executor where, std::function<void(Response)> done);

// Version, keep-alive and Content-Length as the response is written. The answer to HEAD says the
// Content-Length a GET would get but carries no content (RFC 9110 9.3.2): a client reads none, and
// on a keep-alive connection the bytes would be taken for the next response.
void finish_response(Response& response, unsigned version, bool keep_alive, http::verb method = http::verb::get);

}  // namespace tasklog::api
